"""Working days (工作日) on the Chinese holiday calendar.

Periods such as 公示 5 个工作日 count working days, not calendar days: weekends are off, statutory
holidays are off, and the adjusted Saturdays/Sundays (调休上班) are working days. The source, in order:
1. CalendarDay rows the bureau entered (they win: a schedule the library does not know yet, or a correction);
2. the chinese-calendar package, for the years it knows;
3. beyond those years, Monday to Friday, and a warning in the log so that someone enters the schedule.
"""

from __future__ import annotations

import datetime
import logging
from functools import lru_cache

import chinese_calendar

from .models import CalendarDay

logger = logging.getLogger(__name__)
MAX_SPAN_DAYS = 3660  # no period of ours is longer than ten years: a bound against runaway loops


@lru_cache(maxsize=4096)
def _library_workday(day: datetime.date) -> bool | None:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no schedule for
        return None


def _overrides(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    return dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_workday"))


def _is_workday(day: datetime.date, overrides: dict[datetime.date, bool]) -> bool:
    if day in overrides:
        return overrides[day]
    known = _library_workday(day)
    if known is None:
        logger.warning("No holiday schedule for %s: counting Monday–Friday. Enter it under 节假日安排.", day.year)
        return day.weekday() < 5
    return known


def is_workday(day: datetime.date) -> bool:
    return _is_workday(day, _overrides(day, day))


def workday_span_end(start: datetime.date, n: int) -> datetime.date:
    """The last day of a period of ``n`` working days that begins on ``start`` (counted if it is a working
    day): 公示 from 2026-09-30 for 5 working days ends on 2026-10-12 (National Day lies in between)."""
    if n < 1:
        raise ValueError("a period has at least one working day")
    overrides = _overrides(start, start + datetime.timedelta(days=MAX_SPAN_DAYS))
    day, counted = start, 0
    for _ in range(MAX_SPAN_DAYS):
        if _is_workday(day, overrides):
            counted += 1
            if counted == n:
                return day
        day += datetime.timedelta(days=1)
    raise ValueError(f"{n} working days from {start} exceed {MAX_SPAN_DAYS} days")


def add_workdays(start: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted): 'within 3 working days'."""
    return workday_span_end(start + datetime.timedelta(days=1), n)


def add_workdays_many(days, n: int) -> dict[datetime.date, datetime.date]:
    """``add_workdays(day, n)`` for every distinct day given, reading the bureau's CalendarDay overrides once for
    all of them (``add_workdays`` reads them once per call): the deadline sweeper's batches use it."""
    days = sorted(set(days))
    if not days:
        return {}
    span = 2 * n + 31  # n working days fit in this many calendar days unless the holidays run unusually long
    overrides = _overrides(days[0] + datetime.timedelta(days=1), days[-1] + datetime.timedelta(days=span))
    out: dict[datetime.date, datetime.date] = {}
    for day in days:
        counted = 0
        for i in range(1, span + 1):
            if _is_workday(day + datetime.timedelta(days=i), overrides):
                counted += 1
                if counted == n:
                    out[day] = day + datetime.timedelta(days=i)
                    break
        else:
            out[day] = add_workdays(day, n)  # a long run of days off: count it day by day
    return out


def workdays_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in [start, end], both included (0 when end is before start)."""
    if end < start:
        return 0
    overrides = _overrides(start, end)
    return sum(_is_workday(start + datetime.timedelta(days=i), overrides) for i in range((end - start).days + 1))
