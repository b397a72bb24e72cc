"""kubetrail: a Python client for the kubetrail audit-event aggregator.

Search, count, rank and tail the Kubernetes audit events a kubetrail aggregator stores::

    import kubetrail

    with kubetrail.Client("127.0.0.1:7443", dev=True) as client:
        for event in client.search(since="2h", verb="delete", namespace="prod"):
            print(event["user"]["username"], event["requestURI"])

Events are plain dicts, equal to ``json.loads`` of the line kube-apiserver wrote. Failed calls
raise :class:`Error` (subclasses per gRPC code); bad arguments raise ValueError / TypeError.
The gRPC stubs generated from the repository's protos at build time are in ``kubetrail.v1``
(``kubetrail.v1.query_pb2``, ``query_pb2_grpc``, ``event_pb2``, ``admin_pb2``, ...).
"""

from kubetrail.client import MAX_PAGE_SIZE, MAX_TOP, Bucket, Client, Page
from kubetrail.errors import (DeadlineExceeded, Error, InvalidArgument, NotFound,
                              PermissionDenied, Unauthenticated, Unavailable)
from kubetrail.events import event_to_dict, stored_event_to_dict

__version__ = "0.1.0"

__all__ = [
    "Bucket",
    "Client",
    "DeadlineExceeded",
    "Error",
    "InvalidArgument",
    "MAX_PAGE_SIZE",
    "MAX_TOP",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "event_to_dict",
    "stored_event_to_dict",
]
