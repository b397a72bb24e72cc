"""The exceptions of the kubetrail client.

Every failed call to an aggregator raises :class:`Error` (or one of its subclasses, chosen by
the gRPC status code), so callers catch one type. Mistakes the client finds before calling —
an unparsable ``since``, a naive datetime, an unknown dimension — raise :class:`ValueError`
naming the parameter instead, because no server was involved.

grpc.RpcError is converted in one place, :func:`from_rpc_error`; nothing else in the package
raises or leaks gRPC's exception types.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

import grpc


class Error(Exception):
    """A call to the aggregator failed.

    ``str(error)`` reads like the kubetrail CLI's message, ``SERVER: CODE: message``
    (``127.0.0.1:7443: UNAVAILABLE: failed to connect to all addresses``), so a log line says
    which aggregator failed and how.

    Attributes:
        server: the aggregator's address, as given to :class:`kubetrail.Client`.
        code: the gRPC status code's name, e.g. ``"INVALID_ARGUMENT"``, ``"NOT_FOUND"``,
            ``"UNAVAILABLE"``, ``"DEADLINE_EXCEEDED"``, ``"UNAUTHENTICATED"``; ``"INTERNAL"``
            also when the server broke the protocol (a page without its last chunk).
        message: the server's (or gRPC's) message, on one line.
    """

    def __init__(self, server: str, code: str, message: str) -> None:
        super().__init__(f"{server}: {code}: {message}")
        self.server = server
        self.code = code
        self.message = message

    def __reduce__(self) -> Tuple[type, Tuple[str, str, str]]:
        # Exceptions pickle their args; ours are (server, code, message), not the text.
        return (type(self), (self.server, self.code, self.message))


class InvalidArgument(Error):
    """The server refused a value: a filter (``code="4x"``, a bad resource pattern), a limit
    out of range, or a cursor that is not one of its own."""


class NotFound(Error):
    """Nothing is stored under the name asked for (``Client.get`` of an unknown auditID)."""


class Unavailable(Error):
    """The aggregator cannot be reached, or is shutting down. Retrying later may succeed."""


class DeadlineExceeded(Error):
    """The call's deadline (the client's ``timeout``) passed before the server answered."""


class Unauthenticated(Error):
    """No client certificate or bearer token, or one the aggregator does not know."""


class PermissionDenied(Error):
    """The identity is known but not allowed this call (Admin calls need an admin)."""


_CLASS_BY_CODE: Dict[str, Type[Error]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
}


def make_error(server: str, code: str, message: str) -> Error:
    """Returns the most specific :class:`Error` subclass for ``code`` (a status code name)."""
    one_line = " ".join(message.splitlines())
    return _CLASS_BY_CODE.get(code, Error)(server, code, one_line)


def from_rpc_error(server: str, error: grpc.RpcError) -> Error:
    """Converts a failed gRPC call into an :class:`Error` naming ``server``."""
    code: Optional[grpc.StatusCode] = None
    details: Optional[str] = None
    # Errors raised by calls are also grpc.Call objects; anything else carries no status.
    if callable(getattr(error, "code", None)):
        code = error.code()  # type: ignore[attr-defined]
    if callable(getattr(error, "details", None)):
        details = error.details()  # type: ignore[attr-defined]
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    return make_error(server, name, details or str(error) or "no message")
