"""Query filters: Python values -> the fields of ``kubetrail.v1.Filter``.

The same rules as the kubetrail CLI (``clients/cli/query.cc``), so that
``client.search(since="2h", user="alice")`` and ``kubetrail query --since 2h --user alice``
select the same events:

* ``since``: a positive duration back from now — ``"2h"``, ``"90m"``, ``"7d"``, ``"1d12h"``,
  ``"1.5h"`` (Go / Abseil duration units ``ns us ms s m h`` after an optional day count), or a
  :class:`datetime.timedelta`.
* ``from_`` / ``to``: the half-open range ``[from_, to)`` on the event's time. Each is a
  timezone-aware :class:`datetime.datetime` (a *naive* one is refused: Python's naive times
  are usually local time, and guessing UTC would silently shift the range), a
  :class:`datetime.date` (midnight UTC), or a string: RFC 3339
  (``"2026-11-27T10:00:00Z"``, fractional seconds and offsets allowed, digits beyond
  microseconds truncated), a plain date ``"2026-11-27"``, ``"now"`` or ``"now-2h"``.
* List filters take a ``str`` (one value) or an iterable of ``str`` (alternatives, OR). Strings
  are never split at commas. An empty iterable is refused: the server would read it as "no
  constraint", the opposite of what an empty set of alternatives suggests; pass ``None``.
* ``keep`` (a retention, ``kubetrail retention --keep``; ``clients/cli/retention.cc``): a
  positive duration as for ``since`` (``"400d"``, ``"2160h"``), or ``None`` / ``0`` / ``"0"``
  for keep forever.

Everything here is pure (``now_us`` is passed in) and raises :class:`ValueError` naming the
parameter, or :class:`TypeError` for a value of the wrong type.
"""

from __future__ import annotations

import datetime as _dt
import re
from fractions import Fraction
from typing import Any, Dict, Iterable, List, Mapping, Union

from kubetrail.microtime import (MICROS_PER_DAY, MICROS_PER_SECOND, days_from_civil,
                                 format_micro_time, parse_rfc3339)

#: A time bound: aware datetime, date, or text (RFC 3339, date, "now", "now-2h").
TimeValue = Union[_dt.datetime, _dt.date, str]
#: A duration back from now.
SinceValue = Union[str, _dt.timedelta]
#: One value or alternatives.
FilterValue = Union[str, Iterable[str]]
#: How long a retention keeps events; None, 0 or "0": forever.
KeepValue = Union[None, str, _dt.timedelta, int]

# Python keyword -> kubetrail.v1.Filter field, in the proto's order.
LIST_FILTERS: Dict[str, str] = {
    "cluster": "clusters",
    "user": "users",
    "impersonated_user": "impersonated_users",
    "group": "groups",
    "verb": "verbs",
    "namespace": "namespaces",
    "resource": "resources",
    "api_group": "api_groups",
    "name": "names",
    "code": "codes",
    "stage": "stages",
    "level": "levels",
    "audit_id": "audit_ids",
    "source_ip": "source_ips",
}

#: Every filter keyword the query methods accept.
FILTER_NAMES = ("since", "from_", "to", *LIST_FILTERS, "user_agent")

_DURATION_UNITS_US = {
    "ns": Fraction(1, 1000),
    "us": Fraction(1),
    "ms": Fraction(1000),
    "s": Fraction(MICROS_PER_SECOND),
    "m": Fraction(60 * MICROS_PER_SECOND),
    "h": Fraction(3600 * MICROS_PER_SECOND),
}
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|ms|s|m|h)", re.ASCII)
_DAYS = re.compile(rf"({_NUMBER})d", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_MICROSECOND = _dt.timedelta(microseconds=1)
_MAX_INT64 = 2**63 - 1


def parse_since(value: SinceValue, param: str = "since") -> int:
    """Returns the duration ``value`` in microseconds (truncated).

    Raises ValueError (naming ``param``) unless it is positive and well formed, TypeError for
    other types.
    """
    if isinstance(value, _dt.timedelta):
        if value <= _dt.timedelta(0):
            raise ValueError(f"{param}: want a positive duration, got {value!r}")
        return value // _ONE_MICROSECOND
    if not isinstance(value, str):
        raise TypeError(f"{param}: want a str such as '2h' or a timedelta, "
                        f"got {type(value).__name__}")
    bad = ValueError(f"{param}: want a positive duration such as 2h, 90m, 7d or 1d12h, "
                     f"got {value!r}")
    total = Fraction(0)
    rest = value
    days = _DAYS.match(rest)
    if days:
        total += Fraction(days.group(1)) * MICROS_PER_DAY
        rest = rest[days.end():]
    elif not rest:
        raise bad
    pos = 0
    while pos < len(rest):
        part = _DURATION_PART.match(rest, pos)
        if part is None:
            raise bad
        total += Fraction(part.group(1)) * _DURATION_UNITS_US[part.group(2)]
        pos = part.end()
    if total <= 0:
        raise bad
    return int(total)  # truncates toward zero, as absl::ToUnixMicros does for positives


def parse_keep(value: KeepValue, param: str = "keep") -> int:
    """Returns the retention ``value`` in microseconds, 0 for "keep forever" (the CLI's
    ``--keep``): None, ``0`` or ``"0"`` (forever), a positive duration as :func:`parse_since`
    takes it (``"400d"``, ``"2160h"``, ``"1d12h"``), or a timedelta (``timedelta(0)``:
    forever).

    Raises ValueError (naming ``param``) for a negative or malformed duration, one shorter
    than a microsecond (it would read as 0, keep forever) or one beyond 292,000 years;
    TypeError for other types (an int other than 0: seconds or microseconds would be a guess).
    """
    if value is None or (type(value) is int and value == 0) or value == "0":
        return 0
    if isinstance(value, _dt.timedelta):
        if value < _dt.timedelta(0):
            raise ValueError(f"{param}: want a duration of at least 0, got {value!r}")
        micros = value // _ONE_MICROSECOND
    elif isinstance(value, str):
        try:
            micros = parse_since(value, param)
        except ValueError:
            raise ValueError(f"{param}: want 0 (keep forever) or a positive duration such as "
                             f"400d, 2160h or 1d12h, got {value!r}") from None
        if micros == 0:
            raise ValueError(f"{param}: {value!r} is shorter than a microsecond "
                             "(0 would keep forever)")
    else:
        raise TypeError(f"{param}: want a str such as '400d', a timedelta, or None / 0 (keep "
                        f"forever), got {type(value).__name__}")
    if micros > _MAX_INT64:
        raise ValueError(f"{param}: {value!r} is too long (at most {_MAX_INT64} microseconds)")
    return micros


def datetime_to_micros(value: _dt.datetime, param: str) -> int:
    """Microseconds since the Unix epoch of an aware datetime; ValueError for a naive one."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{param}: naive datetime {value.isoformat()!r}: give it a time zone "
                         "(e.g. tzinfo=datetime.timezone.utc); naive times are not guessed")
    return (value - _EPOCH) // _ONE_MICROSECOND


def parse_time(value: TimeValue, now_us: int, param: str) -> int:
    """Returns the time bound ``value`` (see the module comment) in microseconds since the
    Unix epoch; ``now_us`` is "now" for ``"now"`` and ``"now-D"``.

    Raises ValueError naming ``param`` for an unparsable or naive value, TypeError for other
    types.
    """
    if isinstance(value, _dt.datetime):
        return datetime_to_micros(value, param)
    if isinstance(value, _dt.date):
        return days_from_civil(value.year, value.month, value.day) * MICROS_PER_DAY
    if not isinstance(value, str):
        raise TypeError(f"{param}: want a datetime, a date or a str, got {type(value).__name__}")
    if value == "now":
        return now_us
    if value.startswith("now-"):
        return now_us - parse_since(value[4:], param)
    micros = parse_rfc3339(value + "T00:00:00Z" if _DATE.fullmatch(value) else value)
    if micros is None:
        raise ValueError(f"{param}: want an RFC 3339 time (2026-11-27T10:00:00Z), a date "
                         f"(2026-11-27), now or now-DURATION, got {value!r}")
    return micros


def check_range(from_us: int, to_us: int) -> None:
    """ValueError unless the half-open range ``[from_us, to_us)`` is not empty."""
    if to_us <= from_us:
        raise ValueError(f"to ({format_micro_time(to_us)}) must be after "
                         f"from_ ({format_micro_time(from_us)})")


def _string_list(param: str, value: Any) -> List[str]:
    """One value or an iterable of values -> a list of str (codes may be ints)."""
    def one(item: Any) -> str:
        if isinstance(item, str):
            return item
        if param == "code" and isinstance(item, int) and not isinstance(item, bool):
            return str(item)
        raise TypeError(f"{param}: want str values, got {type(item).__name__} {item!r}")

    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [one(value)]
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{param}: want a str or an iterable of str, got {type(value).__name__}")
    values = [one(item) for item in value]
    if not values:
        raise ValueError(f"{param}: empty list of alternatives (pass None for no constraint)")
    return values


def build_filter(filters: Mapping[str, Any], now_us: int) -> Dict[str, Any]:
    """Returns the keyword arguments of ``kubetrail.v1.Filter`` for the filter keywords in
    ``filters`` (names in :data:`FILTER_NAMES`; a value of None is the same as leaving it out).

    Raises TypeError for an unknown keyword or a value of the wrong type, ValueError (naming
    the parameter) for a bad time or duration, ``since`` together with ``from_`` or ``to``, and
    ``to`` not after ``from_``. Values the server checks (codes, resource patterns) are passed
    as they are.
    """
    unknown = sorted(set(filters) - set(FILTER_NAMES))
    if unknown:
        raise TypeError(f"unknown filter {', '.join(unknown)}; "
                        f"filters are {', '.join(FILTER_NAMES)}")
    given = {k: v for k, v in filters.items() if v is not None}
    out: Dict[str, Any] = {}
    if "since" in given:
        if "from_" in given or "to" in given:
            raise ValueError("since: cannot be combined with from_ or to")
        out["from_us"] = now_us - parse_since(given["since"])
    for param, field in (("from_", "from_us"), ("to", "to_us")):
        if param in given:
            out[field] = parse_time(given[param], now_us, param)
    if "from_us" in out and "to_us" in out:
        check_range(out["from_us"], out["to_us"])
    for param, field in LIST_FILTERS.items():
        if param in given:
            out[field] = _string_list(param, given[param])
    if "user_agent" in given:
        if not isinstance(given["user_agent"], str):
            raise TypeError("user_agent: want one str (a case-sensitive substring), got "
                            f"{type(given['user_agent']).__name__}")
        out["user_agent_substring"] = given["user_agent"]
    return out
