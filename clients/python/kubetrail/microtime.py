"""Kubernetes MicroTime: RFC 3339 timestamps with microsecond precision.

The Python twin of the aggregator's ``audit/microtime.h``, so that the client parses time
filters and formats event timestamps exactly as the server and kube-apiserver do::

    parse_rfc3339("2026-07-23T16:47:51.123456789+02:00")   # 1784818071123456
    format_micro_time(1784818071123456)                    # "2026-07-23T14:47:51.123456Z"

Hand-written rather than :mod:`datetime`, which knows neither year 0 nor nanosecond digits.
Pure functions.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of the proleptic Gregorian date year-month-day.

    Howard Hinnant's days_from_civil, as in audit/microtime.cc; Python's floor division stands
    in for the C++ version's adjustments for negative eras.
    """
    year -= 1 if month <= 2 else 0
    era = year // 400
    yoe = year - era * 400  # [0, 399]
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1  # [0, 365]
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy  # [0, 146096]
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> Tuple[int, int, int]:
    """The inverse of :func:`days_from_civil`: (year, month 1-12, day 1-31)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097  # [0, 146096]
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365  # [0, 399]
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # [0, 365]
    mp = (5 * doy + 2) // 153  # [0, 11]
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(text: str) -> Optional[int]:
    """Returns the RFC 3339 date-time ``text`` as microseconds since the Unix epoch (UTC), or
    None when it is not one.

    Accepts exactly what ParseRfc3339Micros accepts: ``YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM)``,
    years 0000-9999, lower-case ``t`` / ``z``; fractional digits beyond the sixth are truncated
    (not rounded); out-of-range fields (month 13, Feb 30, hour 24, second 60, offset hour 24)
    are refused.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction, zone = m.group(7), m.group(8)
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    if fraction is not None and len(fraction) > 9:
        return None
    micros = int((fraction or "").ljust(6, "0")[:6])
    offset = 0
    if zone not in ("Z", "z"):
        offset_hours, offset_minutes = int(zone[1:3]), int(zone[4:6])
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = (offset_hours * 3600 + offset_minutes * 60) * (-1 if zone[0] == "-" else 1)
    seconds = (days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
               - offset)
    return seconds * MICROS_PER_SECOND + micros


def format_micro_time(micros: int) -> str:
    """``micros`` (since the Unix epoch) as MicroTime writes it: UTC, exactly six fractional
    digits, ``Z`` (layout 2006-01-02T15:04:05.000000Z).

    Outside years 0000-9999 the year is written as Go would ("-0001", "12345"), like
    AppendMicroTime.
    """
    days, micros_of_day = divmod(micros, MICROS_PER_DAY)  # floor: pre-1970 times of day >= 0
    year, month, day = civil_from_days(days)
    second_of_day, fraction = divmod(micros_of_day, MICROS_PER_SECOND)
    if 0 <= year <= 9999:
        year_text = f"{year:04d}"
    elif year < 0:
        year_text = f"-{-year:04d}"
    else:
        year_text = str(year)
    return (f"{year_text}-{month:02d}-{day:02d}T{second_of_day // 3600:02d}:"
            f"{second_of_day // 60 % 60:02d}:{second_of_day % 60:02d}.{fraction:06d}Z")
