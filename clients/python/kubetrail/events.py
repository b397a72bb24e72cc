"""Stored events -> the dicts a Python program works with.

:func:`event_to_dict` turns a ``kubetrail.v1.Event`` into exactly what :func:`json.loads`
returns for the line kube-apiserver wrote (and the aggregator's encoder, ``audit/encode.cc``,
writes back byte for byte): the same keys in the same order, ``None`` where the line had
``null``, ``[]`` / ``{}`` where it had empty lists or objects, unknown keys last, raw objects
(``requestObject``, ``responseObject``, ``responseStatus.details``, unknown values) parsed as
JSON, timestamps as MicroTime strings. Keeping the key order matters because dicts keep it:
``json.dumps(event_to_dict(e))`` lists keys as kube-apiserver did.

The rules mirrored from ``event.proto`` and the encoder:

* ``kind`` and ``apiVersion`` (always ``audit.k8s.io/v1``) come first; ``source_api_version``
  (what a v1beta1 input said) is not part of the JSON.
* A proto3 ``optional`` scalar or a message field is written when it is set; when it is not
  set but bit N (its field number) of ``null_fields`` is, the key is written as ``null``.
* A repeated or map field is written when it has entries or bit N of ``present_fields`` is
  set (so ``[]`` and ``{}`` survive), or as ``null`` per ``null_fields``.
* Map keys (annotations, user.extra) in Go's order: sorted byte-wise, which for UTF-8 is
  Python's code-point order.

Pure functions; no gRPC involved.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List

from kubetrail.microtime import format_micro_time

JsonDict = Dict[str, Any]


def _bit(mask: int, number: int) -> bool:
    return (mask >> number) & 1 == 1


def _optional(out: JsonDict, key: str, message: Any, field: str, nulls: int, number: int,
              convert: Any = None) -> None:
    """Writes ``key`` when ``message.field`` is set (through ``convert``), or ``None`` when
    bit ``number`` of ``nulls`` says the input had null there."""
    if message.HasField(field):
        value = getattr(message, field)
        out[key] = convert(value) if convert is not None else value
    elif _bit(nulls, number):
        out[key] = None


def _listed(out: JsonDict, key: str, values: Any, present: int, nulls: int, number: int,
            convert: Any) -> None:
    """Writes a repeated or map field: when it has entries or its ``present`` bit is set; else
    ``None`` when its ``nulls`` bit is set."""
    if len(values) > 0 or _bit(present, number):
        out[key] = convert(values)
    elif _bit(nulls, number):
        out[key] = None


def _unknown(out: JsonDict, fields: Iterable[Any]) -> None:
    """Appends the keys the schema did not know, in their stored order."""
    for field in fields:
        out[field.key] = json.loads(field.value)


def _string_list(values: Iterable[str]) -> List[str]:
    return list(values)


def _user_info(user: Any) -> JsonDict:
    """authentication.k8s.io/v1 UserInfo: username, uid, groups, extra, unknown keys."""
    nulls, present = user.null_fields, user.present_fields
    out: JsonDict = {}
    _optional(out, "username", user, "username", nulls, 1)
    _optional(out, "uid", user, "uid", nulls, 2)
    _listed(out, "groups", user.groups, present, nulls, 3, _string_list)

    def extra(entries: Any) -> JsonDict:
        return {key: None if entries[key].is_null else list(entries[key].values)
                for key in sorted(entries)}

    _listed(out, "extra", user.extra, present, nulls, 4, extra)
    _unknown(out, user.unknown_fields)
    return out


_OBJECT_REF_FIELDS = (
    (1, "resource", "resource"),
    (2, "namespace", "namespace"),
    (3, "name", "name"),
    (4, "uid", "uid"),
    (5, "apiGroup", "api_group"),
    (6, "apiVersion", "api_version"),
    (7, "resourceVersion", "resource_version"),
    (8, "subresource", "subresource"),
)


def _object_ref(ref: Any) -> JsonDict:
    """audit.k8s.io/v1 ObjectReference, in field-number order."""
    out: JsonDict = {}
    for number, key, field in _OBJECT_REF_FIELDS:
        _optional(out, key, ref, field, ref.null_fields, number)
    _unknown(out, ref.unknown_fields)
    return out


def _response_status(status: Any) -> JsonDict:
    """meta/v1 Status as the apiserver copies it: metadata, status, message, reason, details,
    code (metadata is field 6 but comes first, as in Go's struct)."""
    nulls = status.null_fields
    out: JsonDict = {}
    _optional(out, "metadata", status, "metadata", nulls, 6, json.loads)
    _optional(out, "status", status, "status", nulls, 1)
    _optional(out, "message", status, "message", nulls, 2)
    _optional(out, "reason", status, "reason", nulls, 3)
    _optional(out, "details", status, "details", nulls, 4, json.loads)
    _optional(out, "code", status, "code", nulls, 5)
    _unknown(out, status.unknown_fields)
    return out


def _authentication_metadata(metadata: Any) -> JsonDict:
    out: JsonDict = {}
    _optional(out, "impersonationConstraint", metadata, "impersonation_constraint",
              metadata.null_fields, 1)
    _unknown(out, metadata.unknown_fields)
    return out


def _annotations(entries: Any) -> Dict[str, str]:
    return {key: entries[key] for key in sorted(entries)}


def event_to_dict(event: Any) -> JsonDict:
    """The audit.k8s.io/v1 Event ``event`` (a ``kubetrail.v1.Event``) as ``json.loads`` of
    the line kube-apiserver writes for it; see the module comment."""
    nulls, present = event.null_fields, event.present_fields
    out: JsonDict = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": event.level,
        "auditID": event.audit_id,
        "stage": event.stage,
    }
    _optional(out, "requestURI", event, "request_uri", nulls, 4)
    _optional(out, "verb", event, "verb", nulls, 5)
    _optional(out, "user", event, "user", nulls, 6, _user_info)
    _optional(out, "impersonatedUser", event, "impersonated_user", nulls, 7, _user_info)
    _optional(out, "authenticationMetadata", event, "authentication_metadata", nulls, 17,
              _authentication_metadata)
    _listed(out, "sourceIPs", event.source_ips, present, nulls, 8, _string_list)
    _optional(out, "userAgent", event, "user_agent", nulls, 16)
    _optional(out, "objectRef", event, "object_ref", nulls, 9, _object_ref)
    _optional(out, "responseStatus", event, "response_status", nulls, 10, _response_status)
    _optional(out, "requestObject", event, "request_object", nulls, 11, json.loads)
    _optional(out, "responseObject", event, "response_object", nulls, 12, json.loads)
    _optional(out, "requestReceivedTimestamp", event, "request_received_timestamp_us", nulls,
              13, format_micro_time)
    _optional(out, "stageTimestamp", event, "stage_timestamp_us", nulls, 14, format_micro_time)
    _listed(out, "annotations", event.annotations, present, nulls, 15, _annotations)
    _unknown(out, event.unknown_fields)
    return out


def stored_event_to_dict(stored: Any, envelope: bool) -> JsonDict:
    """A ``kubetrail.v1.StoredEvent`` as the kube dict (see :func:`event_to_dict`), or with
    ``envelope`` as the CLI's ``-o json`` line:
    ``{"cluster", "source", "event", "receive_time", "sequence"}`` — the cluster and source the
    collector named, the event, when the collector received it (MicroTime) and the
    aggregator's ingest sequence number (an int; use it as ``after_sequence`` to resume a
    follow)."""
    enveloped = stored.event
    event = event_to_dict(enveloped.event)
    if not envelope:
        return event
    return {
        "cluster": enveloped.envelope.cluster,
        "source": enveloped.envelope.source,
        "event": event,
        "receive_time": format_micro_time(enveloped.envelope.receive_time_us),
        "sequence": stored.sequence,
    }
