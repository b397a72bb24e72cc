"""``kubetrail.Client``: the Query and Admin services of a kubetrail aggregator, in Python.

::

    import kubetrail

    with kubetrail.Client("127.0.0.1:7443", dev=True) as client:
        for event in client.search(since="2h", user="system:serviceaccount:kube-system:*",
                                   verb=["delete", "patch"], code="2xx"):
            print(event["auditID"], event["verb"], event["objectRef"]["resource"])
        print(client.count(cluster="prod", code="403"))
        print(client.top("user", limit=5, since="1d"))
        hold = client.place_hold("prod", "2026-03-01", "2026-03-08", reason="case 4711")
        client.set_retention("*", "400d")       # the next retention run applies it

Events come back as dicts equal to ``json.loads`` of the line kube-apiserver wrote (see
:mod:`kubetrail.events`). Every call carries a deadline (``timeout``), the bearer token (when
given) and reports failures as :class:`kubetrail.Error`.

Thread safety: a Client may be shared by threads (gRPC channels are thread-safe); each
generator returned by :meth:`Client.search` or :meth:`Client.follow` belongs to one consumer.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import grpc

from kubetrail import errors
from kubetrail.events import JsonDict, stored_event_to_dict
from kubetrail.filters import (FilterValue, KeepValue, SinceValue, TimeValue, build_filter,
                               check_range, parse_keep, parse_time)
from kubetrail.microtime import format_micro_time
from kubetrail.v1 import admin_pb2, admin_pb2_grpc, query_pb2, query_pb2_grpc

PathLike = Union[str, "os.PathLike[str]"]

#: The largest page the aggregator serves (SearchRequest.limit).
MAX_PAGE_SIZE = 100_000
#: The most entries Top returns.
MAX_TOP = 10_000
#: The largest message accepted from the aggregator: a Search chunk is about 1 MiB, a single
#: event may be larger (the CLI uses the same bound).
MAX_RECEIVE_MESSAGE_BYTES = 64 << 20

_DIMENSIONS = {
    "user": query_pb2.DIMENSION_USER,
    "verb": query_pb2.DIMENSION_VERB,
    "resource": query_pb2.DIMENSION_RESOURCE,
    "namespace": query_pb2.DIMENSION_NAMESPACE,
    "code": query_pb2.DIMENSION_CODE,
    "cluster": query_pb2.DIMENSION_CLUSTER,
}
_GRANULARITIES = {
    "minute": query_pb2.GRANULARITY_MINUTE,
    "hour": query_pb2.GRANULARITY_HOUR,
    "day": query_pb2.GRANULARITY_DAY,
}
_ORDERS = {"asc": query_pb2.ORDER_ASCENDING, "desc": query_pb2.ORDER_DESCENDING}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_MICROSECOND = _dt.timedelta(microseconds=1)
# What an aware datetime can hold: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
_MIN_DATETIME = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
_MAX_DATETIME = _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)
_MIN_DATETIME_US = (_MIN_DATETIME - _EPOCH) // _ONE_MICROSECOND
_MAX_DATETIME_US = (_MAX_DATETIME - _EPOCH) // _ONE_MICROSECOND


class Page(NamedTuple):
    """One page of :meth:`Client.search_page`."""

    #: The events (dicts as :meth:`Client.search` yields them).
    events: List[JsonDict]
    #: True when more events match after this page (may also be True when exactly ``limit``
    #: matched).
    more: bool
    #: Pass as ``cursor`` to get the next page (same filters and order), or to
    #: :meth:`Client.follow` to continue this search live without gap or repeat.
    cursor: str


class Bucket(NamedTuple):
    """One bucket of :meth:`Client.histogram`."""

    #: UTC-aligned start of the bucket (an aware datetime in UTC).
    start: _dt.datetime
    #: Matching events in the bucket.
    count: int
    #: With ``split``: ``(key, count)`` per value of the dimension, most frequent first;
    #: otherwise empty.
    split: List[Tuple[str, int]]


def _now_us() -> int:
    return time.time_ns() // 1000


def _datetime(micros: int) -> _dt.datetime:
    """Microseconds since the Unix epoch as an aware datetime in UTC; outside years 1-9999
    (which only other tools can store) clamped to ``datetime.min`` / ``max``."""
    if micros < _MIN_DATETIME_US:
        return _MIN_DATETIME
    if micros > _MAX_DATETIME_US:
        return _MAX_DATETIME
    return _EPOCH + _dt.timedelta(microseconds=micros)


def _retention(settings: Iterable[Any]) -> Dict[str, _dt.timedelta]:
    """RetentionSetting messages -> ``{cluster: keep}``, in the server's order (by cluster)."""
    return {s.cluster: _dt.timedelta(microseconds=s.keep_us) for s in settings}


def _hold(hold: Any) -> Dict[str, Any]:
    """A LegalHold message -> the dict :meth:`Client.holds` returns."""
    return {
        "id": hold.id,
        "cluster": hold.cluster,
        "from": _datetime(hold.from_us),
        "to": _datetime(hold.to_us),
        "user": hold.user or None,
        "namespace": hold.namespace_name or None,
        "reason": hold.reason,
        "created": _datetime(hold.created_us),
    }


def _str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{param}: want a str, got {type(value).__name__}")
    return value


def _read(path: PathLike, param: str) -> bytes:
    """The bytes of a PEM file; OSError (naming the file) when it cannot be read."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError(f"{param}: {os.fspath(path)} is empty")
    return data


def _seconds(value: Union[float, int, _dt.timedelta], param: str) -> float:
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{param}: want seconds or a timedelta, got {type(value).__name__}")
    if not seconds > 0:
        raise ValueError(f"{param}: must be positive, got {value!r}")
    return seconds


def _choice(value: str, choices: Dict[str, int], param: str) -> int:
    try:
        return choices[value]
    except (KeyError, TypeError):
        raise ValueError(f"{param}: want one of {', '.join(choices)}, got {value!r}") from None


def _int_in_range(value: int, low: int, high: int, param: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{param}: want an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{param}: must be {low}-{high}, got {value}")
    return value


class Client:
    """A connection to one kubetrail aggregator.

    Args:
        server: the aggregator's gRPC address (any gRPC target), ``HOST:PORT``.
        dev: plaintext, for an aggregator started with ``--dev``. Default False: TLS.
        ca: PEM CA bundle (a file) trusted for the server certificate. Default: gRPC's roots.
        cert, key: PEM client certificate chain and private key (files), for mutual TLS;
            both or neither.
        server_name: the name checked against the server certificate. Default: the host of
            ``server``.
        token: bearer token, sent on every call as ``authorization: Bearer TOKEN``. Default:
            ``$KUBETRAIL_TOKEN`` when set (as the CLI), else none.
        timeout: the deadline of every call in seconds (or a timedelta); for searches, of each
            page. Default 30.

    Raises ValueError for contradictory or malformed options (TLS files with ``dev``, ``cert``
    without ``key``, a token that is not printable ASCII without spaces, a non-positive
    timeout) and OSError when a PEM file cannot be read. Nothing connects until the first
    call. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, server: str = "127.0.0.1:7443", *, dev: bool = False,
                 ca: Optional[PathLike] = None, cert: Optional[PathLike] = None,
                 key: Optional[PathLike] = None, server_name: Optional[str] = None,
                 token: Optional[str] = None,
                 timeout: Union[float, _dt.timedelta] = 30.0) -> None:
        if not isinstance(server, str) or not server:
            raise ValueError("server: empty address")
        if dev and any(v is not None for v in (ca, cert, key, server_name)):
            raise ValueError("dev is plaintext: drop it to use ca, cert, key or server_name")
        if (cert is None) != (key is None):
            raise ValueError("cert and key go together")
        if token is None:
            token = os.environ.get("KUBETRAIL_TOKEN") or None
        if token is not None and (not token or any(c <= " " or c > "~" for c in token)):
            # An HTTP/2 header value; a space would split "Bearer <token>" in two.
            raise ValueError("token: must be printable ASCII without spaces")
        self._server = server
        self._timeout = _seconds(timeout, "timeout")
        self._metadata: Tuple[Tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ())
        options: List[Tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
            # As the aggregator expects of its clients (services/aggregator/server.cc): pings
            # after 30 s of silence, dead after 10 s without an answer. Lets a quiet follow
            # notice a vanished server.
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ]
        if dev:
            self._channel = grpc.insecure_channel(server, options=options)
        else:
            if server_name is not None:
                options.append(("grpc.ssl_target_name_override", server_name))
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(ca, "ca") if ca is not None else None,
                private_key=_read(key, "key") if key is not None else None,
                certificate_chain=_read(cert, "cert") if cert is not None else None)
            self._channel = grpc.secure_channel(server, credentials, options=options)
        self._query = query_pb2_grpc.QueryStub(self._channel)
        self._admin = admin_pb2_grpc.AdminStub(self._channel)

    @property
    def server(self) -> str:
        """The aggregator's address, as given."""
        return self._server

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled. Idempotent."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"kubetrail.Client({self._server!r})"

    # --- helpers -----------------------------------------------------------------------------

    def _error(self, error: grpc.RpcError) -> errors.Error:
        return errors.from_rpc_error(self._server, error)

    def _protocol_error(self, message: str) -> errors.Error:
        return errors.make_error(self._server, "INTERNAL", message)

    def _filter(self, filters: Dict[str, Any]) -> query_pb2.Filter:
        return query_pb2.Filter(**build_filter(filters, _now_us()))

    def _unary(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise self._error(e) from None

    # --- Query -------------------------------------------------------------------------------

    def search_page(self, *, limit: int = 100, cursor: str = "", order: str = "asc",
                    envelope: bool = False, **filters: Any) -> Page:
        """One page of :meth:`search`: at most ``limit`` (1-100000) events, ``cursor`` empty
        for the first page or the previous :class:`Page`'s ``cursor`` (same filters and
        order). The pages of one search read one snapshot of the store. Filters and
        ``order`` / ``envelope`` as for :meth:`search`; errors too."""
        request = query_pb2.SearchRequest(
            filter=self._filter(filters), order=_choice(order, _ORDERS, "order"),
            limit=_int_in_range(limit, 1, MAX_PAGE_SIZE, "limit"), cursor=cursor)
        return self._search_page(request, envelope)

    def _search_page(self, request: query_pb2.SearchRequest, envelope: bool) -> Page:
        # The whole page is read before any event is handed out, so the deadline covers the
        # transfer only, never the caller's processing of the events.
        stored: List[Any] = []
        last: Optional[query_pb2.SearchResponse] = None
        try:
            for response in self._query.Search(request, timeout=self._timeout,
                                               metadata=self._metadata):
                stored.extend(response.events)
                if response.last:
                    last = response
        except grpc.RpcError as e:
            raise self._error(e) from None
        if last is None:
            raise self._protocol_error("the page ended without its last chunk")
        return Page([stored_event_to_dict(e, envelope) for e in stored], last.more, last.cursor)

    def search(self, *, since: Optional[SinceValue] = None, from_: Optional[TimeValue] = None,
               to: Optional[TimeValue] = None, order: str = "asc", limit: Optional[int] = None,
               page_size: int = 1000, cluster: Optional[FilterValue] = None,
               user: Optional[FilterValue] = None,
               impersonated_user: Optional[FilterValue] = None,
               group: Optional[FilterValue] = None, verb: Optional[FilterValue] = None,
               namespace: Optional[FilterValue] = None, resource: Optional[FilterValue] = None,
               api_group: Optional[FilterValue] = None, name: Optional[FilterValue] = None,
               code: Optional[FilterValue] = None, stage: Optional[FilterValue] = None,
               level: Optional[FilterValue] = None, audit_id: Optional[FilterValue] = None,
               source_ip: Optional[FilterValue] = None, user_agent: Optional[str] = None,
               envelope: bool = False) -> Iterator[JsonDict]:
        """The stored events matching the filters, oldest first (``order="desc"``: newest
        first; equal times by ingest sequence), as a generator that pages with the cursor.

        Time: ``since`` (``"2h"``, ``"90m"``, ``"7d"``, a timedelta) or ``from_`` / ``to``
        (the half-open ``[from_, to)``; aware datetimes, dates, RFC 3339 strings, ``"now"``,
        ``"now-2h"``) on the event's time: requestReceivedTimestamp, else stageTimestamp.
        None of them: all time. See :mod:`kubetrail.filters`.

        Filters (each a str or an iterable of str alternatives; different filters AND):
        ``cluster``; ``user`` and ``impersonated_user`` (exact, or a prefix ending in ``*``);
        ``group``; ``verb``; ``namespace`` (``""``: cluster-scoped); ``resource``
        (``"pods"``, ``"pods/log"``, ``"pods/*"``, ``"*/status"``, ``"deployments.apps"``);
        ``api_group`` (``""``: core); ``name``; ``code`` (``"403"``, ``403`` or a class
        ``"4xx"``; events without a code never match); ``stage``; ``level``; ``audit_id``;
        ``source_ip``; and ``user_agent``, one case-sensitive substring.

        ``limit``: stop after this many events (None: every match). ``page_size`` (1-100000):
        events per call; each page is one call with its own deadline, read whole before its
        events are yielded. All pages read the store as of the first page, so nothing repeats
        or goes missing while events arrive.

        Yields each event as ``json.loads`` of the line kube-apiserver wrote; with
        ``envelope=True`` as ``{"cluster", "source", "event", "receive_time", "sequence"}``
        like ``kubetrail query -o json``.

        Raises ValueError / TypeError at once for bad arguments (the parameter named);
        :class:`kubetrail.Error` while iterating when a call fails
        (:class:`kubetrail.InvalidArgument` for a value the server refused, e.g.
        ``code="4x"``).
        """
        filters = dict(since=since, from_=from_, to=to, cluster=cluster, user=user,
                       impersonated_user=impersonated_user, group=group, verb=verb,
                       namespace=namespace, resource=resource, api_group=api_group, name=name,
                       code=code, stage=stage, level=level, audit_id=audit_id,
                       source_ip=source_ip, user_agent=user_agent)
        # Checked now rather than at the first next(): a generator body runs late.
        request = query_pb2.SearchRequest(
            filter=self._filter(filters), order=_choice(order, _ORDERS, "order"),
            limit=_int_in_range(page_size, 1, MAX_PAGE_SIZE, "page_size"))
        if limit is not None:
            _int_in_range(limit, 1, 2**63 - 1, "limit")
        return self._search(request, limit, envelope)

    def _search(self, request: query_pb2.SearchRequest, limit: Optional[int],
                envelope: bool) -> Iterator[JsonDict]:
        page_size = request.limit
        remaining = limit
        while True:
            if remaining is not None:
                request.limit = min(page_size, remaining)
            page = self._search_page(request, envelope)
            yield from page.events
            if remaining is not None:
                remaining -= len(page.events)
                if remaining <= 0:
                    return
            if not page.more:
                return
            if not page.events or not page.cursor:
                # Without this the loop would ask for the same page forever.
                raise self._protocol_error(
                    "the server said more events match but sent an empty page or no cursor")
            request.cursor = page.cursor

    def get(self, audit_id: str, *, envelope: bool = False) -> List[JsonDict]:
        """Every stored stage of the request ``audit_id``, in time order (dicts as
        :meth:`search` yields them). Raises :class:`kubetrail.NotFound` when none is
        stored, ValueError for an empty ``audit_id``."""
        if not isinstance(audit_id, str) or not audit_id:
            raise ValueError(f"audit_id: want a non-empty str, got {audit_id!r}")
        response = self._unary(self._query.Get, query_pb2.GetRequest(audit_id=audit_id))
        return [stored_event_to_dict(e, envelope) for e in response.events]

    def count(self, **filters: Any) -> int:
        """How many stored events match the filters (the filter keywords of :meth:`search`)."""
        request = query_pb2.CountRequest(filter=self._filter(filters))
        return int(self._unary(self._query.Count, request).count)

    def top(self, dimension: str, limit: int = 10, **filters: Any) -> List[Tuple[str, int]]:
        """The ``limit`` (1-10000) most frequent values of ``dimension`` among the matching
        events, as ``(key, count)`` tuples, most frequent first, ties by key —
        ``dict(client.top(...))`` keeps that order.

        ``dimension``: ``"user"`` (user.username), ``"verb"``, ``"resource"`` (``"pods"``,
        ``"pods/log"``, ``"deployments.apps"``), ``"namespace"``, ``"code"`` (as text; ``""``
        when absent) or ``"cluster"``. A field the event lacks counts as ``""``. Filters as
        for :meth:`search`.
        """
        request = query_pb2.TopRequest(
            filter=self._filter(filters), dimension=_choice(dimension, _DIMENSIONS, "dimension"),
            limit=_int_in_range(limit, 1, MAX_TOP, "limit"))
        return [(e.key, int(e.count)) for e in self._unary(self._query.Top, request).entries]

    def histogram(self, by: str = "hour", split: Optional[str] = None,
                  **filters: Any) -> List[Bucket]:
        """Matching events per UTC-aligned time bucket of one ``"minute"``, ``"hour"`` or
        ``"day"``, as :class:`Bucket` tuples in time order (buckets without events are left
        out); with ``split`` (a :meth:`top` dimension) each bucket also counts per value.

        Needs a time range: ``since`` or ``from_`` (ValueError otherwise); ``to`` defaults to
        now. At most 100000 buckets (:class:`kubetrail.InvalidArgument` beyond). Filters as
        for :meth:`search`.
        """
        granularity = _choice(by, _GRANULARITIES, "by")
        split_dimension = (_choice(split, _DIMENSIONS, "split") if split is not None
                           else query_pb2.DIMENSION_UNSPECIFIED)
        now = _now_us()
        fields = build_filter(filters, now)
        if "from_us" not in fields:
            raise ValueError("histogram: needs a time range (since= or from_=)")
        if "to_us" not in fields:
            fields["to_us"] = now
            if fields["to_us"] <= fields["from_us"]:
                raise ValueError("from_: must be before now when to is not given")
        request = query_pb2.HistogramRequest(filter=query_pb2.Filter(**fields),
                                             granularity=granularity, by=split_dimension)
        response = self._unary(self._query.Histogram, request)
        return [Bucket(_EPOCH + _dt.timedelta(microseconds=b.start_us), int(b.count),
                       [(kc.key, int(kc.count)) for kc in b.by_key])
                for b in response.buckets]

    def follow(self, *, after_sequence: Optional[int] = None, cursor: Optional[str] = None,
               envelope: bool = False, duration: Union[None, float, _dt.timedelta] = None,
               **filters: Any) -> "Follow":
        """A live tail: an iterator (:class:`Follow`) over the matching events as the
        aggregator stores them, in ingest order; heartbeats are consumed silently.

        Where it starts — at most one of:
          * ``cursor``: a :class:`Page`'s cursor: continue that search without gap or repeat
            (late events with old times included);
          * ``after_sequence``: a :attr:`Follow.last_sequence` (or the ``sequence`` of the
            last event seen, which ``envelope=True`` yields): resume an earlier follow;
          * neither: events stored after the call starts. The call starts when this method
            is called, not at the first ``next()``.

        ``duration`` (seconds or a timedelta): the iterator ends normally after that long.
        Default None: it runs until :meth:`Follow.close` (or the end of a ``with`` block over
        it), which cancels the call. A vanished server is noticed through keepalive pings
        (after about 40 s).

        Raises ValueError / TypeError at once for bad arguments; :class:`kubetrail.Error`
        while iterating (:class:`kubetrail.InvalidArgument` for a filter the server refuses,
        :class:`kubetrail.Unavailable` when the aggregator shuts down: resume with
        ``after_sequence=follow.last_sequence``).
        """
        if after_sequence is not None and cursor is not None:
            raise ValueError("after_sequence and cursor: give one, not both")
        request = query_pb2.FollowRequest(filter=self._filter(filters))
        if cursor is not None:
            if not isinstance(cursor, str) or not cursor:
                raise ValueError("cursor: want a non-empty str (a Page's cursor)")
            request.cursor = cursor
        if after_sequence is not None:
            request.after_sequence = _int_in_range(after_sequence, 0, 2**64 - 1,
                                                   "after_sequence")
        timeout = _seconds(duration, "duration") if duration is not None else None
        try:
            call = self._query.Follow(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise self._error(e) from None
        return Follow(self._server, call, envelope, bounded=timeout is not None,
                      start=request.after_sequence if after_sequence is not None else None)

    # --- Admin -------------------------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        """Store statistics (Admin.Stats; outside ``--dev`` only admins may call it):
        ``{"events": int, "last_sequence": int, "disk_bytes": int,
        "disk_bytes_by_part": {part: bytes}, "events_per_cluster": {cluster: events}}``."""
        response = self._unary(self._admin.Stats, admin_pb2.StatsRequest())
        return {
            "events": int(response.events),
            "last_sequence": int(response.last_sequence),
            "disk_bytes": int(response.disk_bytes),
            "disk_bytes_by_part": {kc.key: int(kc.count) for kc in response.disk_bytes_by_part},
            "events_per_cluster": {kc.key: int(kc.count)
                                   for kc in response.events_per_cluster},
        }

    def retention(self) -> Dict[str, _dt.timedelta]:
        """Every retention setting of the store (Admin.ListRetention; admins only outside
        ``--dev``), as ``{cluster: keep}`` sorted by cluster name: the events of ``cluster``
        are kept at least ``keep`` (a positive timedelta) and removed at most a day later.
        ``"*"`` is the default for clusters without their own setting. Empty: every event is
        kept forever."""
        response = self._unary(self._admin.ListRetention, admin_pb2.ListRetentionRequest())
        return _retention(response.settings)

    def set_retention(self, cluster: str, keep: KeepValue) -> Dict[str, _dt.timedelta]:
        """Sets the retention of ``cluster`` (exact; ``"*"``: the default for clusters without
        their own) to ``keep``, or clears it (Admin.SetRetention, like ``kubetrail retention
        --cluster C --keep K``). Returns every setting afterwards, as :meth:`retention`.

        ``keep``: a positive timedelta or duration (``"400d"``, ``"2160h"``, ``"1d12h"``), or
        None / ``0`` / ``"0"``: keep forever, which clears the setting (clearing one that is
        not set is fine; for ``"*"``: clusters without their own setting are kept forever).

        The aggregator applies it at its next retention run (every ``retention_interval``,
        one hour by default), removing whole UTC days; events under a legal hold stay (see
        :meth:`place_hold`). Raises ValueError / TypeError for a bad ``keep`` (naming it);
        :class:`kubetrail.InvalidArgument` for an empty ``cluster``.
        """
        request = admin_pb2.SetRetentionRequest(cluster=_str(cluster, "cluster"),
                                                keep_us=parse_keep(keep, "keep"))
        return _retention(self._unary(self._admin.SetRetention, request).settings)

    def place_hold(self, cluster: str, from_: TimeValue, to: TimeValue, *, reason: str = "",
                   user: Optional[str] = None,
                   namespace: Optional[str] = None) -> Dict[str, Any]:
        """Places a legal hold (Admin.PlaceHold, like ``kubetrail hold``): the events of
        ``cluster`` (exact; ``"*"`` is no wildcard here) in the half-open event-time range
        ``[from_, to)`` — only ``user``'s (user.username, exact) and / or only those in
        ``namespace`` (objectRef.namespace, exact) when given — are kept past their retention
        until :meth:`release_hold`. ``reason`` is kept with it (a case number, who asked).

        ``from_`` / ``to`` as for :meth:`search` (aware datetimes, dates, RFC 3339 strings,
        ``"now"``, ``"now-7d"``), in years 1-9999. A hold does not bring back days retention
        already removed: place it before they expire.

        Returns the hold as :meth:`holds` lists it, with the ``id`` (``"hold-3"``) and
        ``created`` time the aggregator gave it. Raises ValueError / TypeError for bad values
        (naming the parameter; ``to`` not after ``from_``; ``user=""`` or ``namespace=""``:
        pass None for any); :class:`kubetrail.InvalidArgument` for an empty ``cluster``.
        """
        now = _now_us()
        from_us, to_us = parse_time(from_, now, "from_"), parse_time(to, now, "to")
        for param, micros in (("from_", from_us), ("to", to_us)):
            if not _MIN_DATETIME_US <= micros <= _MAX_DATETIME_US:
                raise ValueError(f"{param}: {format_micro_time(micros)} is outside years "
                                 "0001-9999, which holds() could not return as a datetime")
        check_range(from_us, to_us)
        request = admin_pb2.PlaceHoldRequest(cluster=_str(cluster, "cluster"), from_us=from_us,
                                             to_us=to_us, reason=_str(reason, "reason"))
        for param, value, field in (("user", user, "user"),
                                    ("namespace", namespace, "namespace_name")):
            if value is None:
                continue
            if not _str(value, param):
                # The server reads "" as any, while namespace="" filters cluster-scoped
                # events in search: refused rather than silently meaning the opposite.
                raise ValueError(f"{param}: empty; pass None to hold any {param}'s events")
            setattr(request, field, value)
        return _hold(self._unary(self._admin.PlaceHold, request).hold)

    def holds(self) -> List[Dict[str, Any]]:
        """Every legal hold (Admin.ListHolds), in the order they were placed, each as
        ``{"id", "cluster", "from", "to", "user", "namespace", "reason", "created"}``: ``from``
        / ``to`` the held range ``[from, to)`` and ``created`` when it was placed (the
        aggregator's clock), as aware datetimes in UTC; ``user`` / ``namespace`` None when the
        hold covers any."""
        response = self._unary(self._admin.ListHolds, admin_pb2.ListHoldsRequest())
        return [_hold(h) for h in response.holds]

    def release_hold(self, hold_id: str) -> None:
        """Releases the legal hold ``hold_id`` (``"hold-3"``, as :meth:`place_hold` or
        :meth:`holds` gave it; Admin.ReleaseHold, like ``kubetrail holds --release``); the
        events only it kept expire at the next retention run. Raises
        :class:`kubetrail.NotFound` for an unknown id, :class:`kubetrail.InvalidArgument` for
        an empty one."""
        self._unary(self._admin.ReleaseHold,
                    admin_pb2.ReleaseHoldRequest(id=_str(hold_id, "hold_id")))


class Follow(Iterator[JsonDict]):
    """The events of :meth:`Client.follow`, as they are stored: iterate over it, and close
    it (or use it in a ``with`` block) to cancel the call.

    ``last_sequence`` is the resume point: every event up to that ingest sequence has been
    considered (and the matching ones yielded); heartbeats advance it too. Belongs to one
    consumer; :meth:`close` may be called from another thread to stop a blocked ``next()``
    (which then ends the iteration).
    """

    def __init__(self, server: str, call: Any, envelope: bool, bounded: bool,
                 start: Optional[int]) -> None:
        self._server = server
        self._call = call
        self._envelope = envelope
        self._bounded = bounded
        self._closed = False
        #: Every event up to this sequence was considered; None until the first response
        #: (or the ``after_sequence`` the follow started from).
        self.last_sequence: Optional[int] = start
        self._events = self._generate()

    def _generate(self) -> Iterator[JsonDict]:
        try:
            for response in self._call:
                for stored in response.events:
                    event = stored_event_to_dict(stored, self._envelope)
                    # Before the yield: a consumer that stops after this event resumes after
                    # it, not before.
                    self.last_sequence = stored.sequence
                    yield event
                self.last_sequence = response.last_sequence
        except grpc.RpcError as e:
            if self._closed:
                return  # close() cancelled the call
            if self._bounded and e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return  # the requested duration is over
            raise errors.from_rpc_error(self._server, e) from None
        finally:
            self._call.cancel()

    def __iter__(self) -> "Follow":
        return self

    def __next__(self) -> JsonDict:
        return next(self._events)

    def close(self) -> None:
        """Cancels the call; iteration ends. Idempotent."""
        self._closed = True
        self._call.cancel()
        try:
            self._events.close()
        except ValueError:
            pass  # another thread is inside next(): the cancelled call ends it

    def __enter__(self) -> "Follow":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


__all__ = ("Client", "Follow", "Page", "Bucket", "MAX_PAGE_SIZE", "MAX_TOP")
