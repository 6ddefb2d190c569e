"""Business-time arithmetic for SLA clocks: pure, no database (the loader at the end reads one
calendar and its dated exceptions).

Two clocks with one interface (`Clock`):

- `WorkingTime` counts only working periods: on working days (the weekly pattern, minus
  holidays, plus make-up working days 调休) from `work_start` to `work_end` in the calendar's
  time zone, without the break (lunch). Periods are local wall-clock times turned into absolute
  instants day by day, so zones with daylight saving work too (a period that spans a clock
  change is as long as it really is).
- `CalendarTime` counts every second (absolute time: 7 calendar days are 168 hours, also across
  a daylight-saving change).

Conventions (tests/tickets/test_calendars.py checks them as properties):

- All instants are timezone-aware; results are returned in the clock's zone. Internally
  everything is UTC, because Python compares and adds two datetimes of the *same* tzinfo by
  their wall clock.
- Amounts are exact: `add_delta` / `elapsed_delta` work with `timedelta` (microseconds);
  `add(start, minutes)` takes minutes (int or float) and `elapsed(a, b)` returns **minutes as a
  float** — exact for whole minutes, because it divides a whole number of microseconds.
- `elapsed(a, b)` is signed: `elapsed(b, a) == -elapsed(a, b)`; it never decreases as `b` grows.
- `add(start, m)` for `m > 0` is the *earliest* instant `t` with `elapsed(start, t) == m`, so a
  deadline that uses up the morning ends at the break's start (12:00), not at 13:00. Hence
  `elapsed(s, add(s, m)) == m` and `add(s, m) <= t  ⇔  elapsed(s, t) >= m`.
- `add(start, 0)` is the next working instant at or after `start`: `start` itself inside a
  working period, else the start of the next one (at 12:00 sharp that is 13:00).
- Negative amounts are refused (ValueError); a calendar without any working time within
  `MAX_SEARCH_DAYS` raises ValueError instead of looping for ever.
"""
from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = dt.UTC
ZERO = dt.timedelta(0)
MINUTE = dt.timedelta(minutes=1)
# How far `add` looks for working time before it calls the calendar empty (about 20 years).
MAX_SEARCH_DAYS = 366 * 20

# The calendar a tenant without any business calendar counts in (sla_defaults_ensure creates
# the same hours as a real calendar, with the public holidays).
STANDARD_HOURS = {"time_zone": "Asia/Shanghai", "workdays": (1, 2, 3, 4, 5), "work_start": dt.time(9, 0),
                  "work_end": dt.time(18, 0), "break_start": dt.time(12, 0), "break_end": dt.time(13, 0)}


def _aware(moment: dt.datetime, name: str = "moment") -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _delta(minutes: float | int) -> dt.timedelta:
    if minutes < 0:
        raise ValueError("a clock only adds zero or more minutes")
    return dt.timedelta(minutes=minutes)


def to_minutes(delta: dt.timedelta) -> float:
    """A duration in minutes (exact for whole minutes)."""
    return (delta // dt.timedelta(microseconds=1)) / 60_000_000


class Clock(abc.ABC):
    """Interface of the two clocks. Subclasses implement `add_delta` and `elapsed_delta`."""

    zone: ZoneInfo

    @abc.abstractmethod
    def add_delta(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant `amount` of this clock's time after `start`."""

    @abc.abstractmethod
    def elapsed_delta(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """This clock's time from `a` to `b`."""

    def add(self, start: dt.datetime, minutes: float | int) -> dt.datetime:
        """The instant `minutes` of this clock's time after `start` (see the module's conventions)."""
        return self.add_delta(start, _delta(minutes))

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> float:
        """This clock's time from `a` to `b` in minutes (negative when `b` is before `a`)."""
        return to_minutes(self.elapsed_delta(a, b))


@dataclass(frozen=True)
class CalendarTime(Clock):
    """Every second counts (the "calendar" SLA clock)."""

    time_zone: str = "Asia/Shanghai"
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "zone", ZoneInfo(self.time_zone))

    def add_delta(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        if amount < ZERO:
            raise ValueError("a clock only adds zero or more time")
        return (_aware(start, "start") + amount).astimezone(self.zone)

    def elapsed_delta(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        return _aware(b, "b") - _aware(a, "a")


class WorkingTime(Clock):
    """Working periods of one business calendar (the "business" SLA clock).

    `days` maps a date to True (a make-up working day, even on a weekend) or False (a holiday,
    even on a weekday); other dates follow `workdays` (ISO weekdays, 1 = Monday)."""

    def __init__(self, *, time_zone: str, workdays: Iterable[int], work_start: dt.time, work_end: dt.time,
                 break_start: dt.time | None = None, break_end: dt.time | None = None,
                 days: Mapping[dt.date, bool] | None = None):
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.workdays = frozenset(int(d) for d in workdays)
        if not self.workdays <= set(range(1, 8)):
            raise ValueError("workdays are ISO weekdays 1..7")
        if not work_start < work_end:
            raise ValueError("work must end after it starts")
        if (break_start is None) != (break_end is None):
            raise ValueError("a break needs a start and an end")
        if break_start is not None and not (work_start <= break_start < break_end <= work_end):
            raise ValueError("the break must lie within the working hours")
        self.work_start, self.work_end = work_start, work_end
        self.break_start, self.break_end = break_start, break_end
        self.days = dict(days or {})
        local = [(work_start, break_start), (break_end, work_end)] if break_start is not None else [
            (work_start, work_end)]
        self._local_periods = [(s, e) for s, e in local if s < e]
        self._cache: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = {}
        # No working time at all (no working weekday nor make-up day, or a break as long as the
        # working hours): `add` refuses instead of searching for ever.
        self.is_empty = not self._local_periods or (not self.workdays and not any(self.days.values()))

    def __repr__(self) -> str:
        return (f"WorkingTime({self.time_zone}, days={sorted(self.workdays)}, {self.work_start}-{self.work_end}, "
                f"break={self.break_start}-{self.break_end}, exceptions={len(self.days)})")

    # --- the working periods of one local day --------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        found = self.days.get(day)
        return found if found is not None else day.isoweekday() in self.workdays

    def periods(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The working periods of a local date as (start, end) UTC instants, in order."""
        found = self._cache.get(day)
        if found is not None:
            return found
        result = []
        if self.is_working_day(day):
            for start, end in self._local_periods:
                a = dt.datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
                b = dt.datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC)
                if result and a < result[-1][1]:   # a clock change folded the periods together
                    a = result[-1][1]
                if a < b:
                    result.append((a, b))
        found = tuple(result)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[day] = found
        return found

    def _local_date(self, moment_utc: dt.datetime) -> dt.date:
        return moment_utc.astimezone(self.zone).date()

    # --- arithmetic --------------------------------------------------------------------------

    def add_delta(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        if amount < ZERO:
            raise ValueError("a clock only adds zero or more time")
        moment = _aware(start, "start")
        if self.is_empty:
            raise ValueError("this calendar has no working time")
        remaining = amount
        day = self._local_date(moment)
        for _i in range(MAX_SEARCH_DAYS):
            for begin, end in self.periods(day):
                if end <= moment:
                    continue
                begin = max(begin, moment)
                if remaining == ZERO:
                    return begin.astimezone(self.zone)
                available = end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(self.zone)
                remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError("this calendar has no working time in the next years")

    def elapsed_delta(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        a, b = _aware(a, "a"), _aware(b, "b")
        if b < a:
            return -self.elapsed_delta(b, a)
        total = ZERO
        day, last = self._local_date(a), self._local_date(b)
        while day <= last:
            for begin, end in self.periods(day):
                lo, hi = max(begin, a), min(end, b)
                if lo < hi:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def next_working(self, moment: dt.datetime) -> dt.datetime:
        """The next working instant at or after `moment` (= add(moment, 0))."""
        return self.add_delta(moment, ZERO)


def standard_working_time() -> WorkingTime:
    """Mon–Fri 9:00–18:00 with lunch 12:00–13:00 in Asia/Shanghai, no holidays."""
    return WorkingTime(**STANDARD_HOURS)


# --- loading from the database -------------------------------------------------------------------

def working_time_for(calendar) -> WorkingTime:
    """The working time of a `tickets.BusinessCalendar` with all its dated exceptions (one query
    for the days). Callers that need it many times keep the result (tickets.services.sla does,
    per call of `sla_dues_many`); a calendar edited later is simply read again next time."""
    from .models import CalendarDay

    days = dict(CalendarDay.objects.filter(calendar_id=calendar.pk).values_list("date", "is_working"))
    return WorkingTime(time_zone=calendar.time_zone, workdays=calendar.workdays or (), work_start=calendar.work_start,
                       work_end=calendar.work_end, break_start=calendar.break_start, break_end=calendar.break_end,
                       days=days)
