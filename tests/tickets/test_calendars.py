"""Business-time arithmetic (tickets.calendars) as properties over random calendars, zones and
instants, plus worked examples on the default Chinese calendar: breaks, holidays, make-up
working days (调休), daylight-saving zones, and the pause → resume shift of a due time."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tickets.calendars import CalendarTime, WorkingTime, standard_working_time, to_minutes
from tickets.services.sla import cn_holiday_days

UTC = dt.UTC
SH = ZoneInfo("Asia/Shanghai")
US = dt.timedelta(microseconds=1)
# Zones with and without daylight saving, odd offsets, a 30-minute DST shift (Lord Howe).
ZONES = ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe",
         "America/St_Johns", "Pacific/Chatham", "America/Sao_Paulo"]
FIRST, LAST = dt.date(2025, 12, 1), dt.date(2027, 3, 1)


def china() -> WorkingTime:
    """The default calendar sla_defaults_ensure creates, with the 2026 schedule."""
    return WorkingTime(time_zone="Asia/Shanghai", workdays=[1, 2, 3, 4, 5], work_start=dt.time(9),
                       work_end=dt.time(18), break_start=dt.time(12), break_end=dt.time(13),
                       days={day: working for day, working, _name in cn_holiday_days(2026)})


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


@st.composite
def calendars(draw) -> WorkingTime:
    """Any working hours with at least an hour of work a day (less makes 15,000 working minutes
    take decades), an optional break inside them, any working weekdays and dated exceptions."""
    a = draw(st.integers(min_value=0, max_value=23 * 60 - 1))
    b = draw(st.integers(min_value=a + 60, max_value=24 * 60 - 1))
    brk = {}
    if b - a > 60 and draw(st.booleans()):
        x = draw(st.integers(min_value=a, max_value=b - 1))
        y = draw(st.integers(min_value=x + 1, max_value=min(b, x + (b - a) - 60)))
        brk = {"break_start": _time(x), "break_end": _time(y)}
    workdays = draw(st.sets(st.integers(min_value=1, max_value=7), min_size=1))
    days = draw(st.dictionaries(st.dates(min_value=FIRST, max_value=LAST), st.booleans(), max_size=40))
    return WorkingTime(time_zone=draw(st.sampled_from(ZONES)), workdays=workdays, work_start=_time(a),
                       work_end=_time(b), days=days, **brk)


def _time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31),
                        timezones=st.just(UTC))
amounts = st.integers(min_value=0, max_value=15_000)


def is_working_instant(clock: WorkingTime, moment: dt.datetime) -> bool:
    moment = moment.astimezone(UTC)
    day = moment.astimezone(clock.zone).date()
    return any(a <= moment < b for a, b in clock.periods(day))


# --- properties ----------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(calendars(), instants, amounts)
def test_elapsed_inverts_add(clock, start, minutes):
    due = clock.add(start, minutes)
    assert clock.elapsed(start, due) == minutes
    assert due >= start
    assert due.tzinfo is not None and due.utcoffset() == clock.zone.utcoffset(due.replace(tzinfo=None))


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, st.integers(min_value=1, max_value=15_000))
def test_add_is_the_earliest_such_instant_and_lands_in_working_time(clock, start, minutes):
    due = clock.add(start, minutes)
    # a microsecond earlier the time is not used up yet, and the last microsecond was working time
    assert clock.elapsed_delta(start, due - US) < dt.timedelta(minutes=minutes)
    assert is_working_instant(clock, due - US)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, amounts, amounts)
def test_add_is_monotone_in_the_amount(clock, start, m1, m2):
    lo, hi = sorted((m1, m2))
    assert clock.add(start, lo) <= clock.add(start, hi)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants, amounts)
def test_add_is_monotone_in_the_start(clock, s1, s2, minutes):
    lo, hi = sorted((s1, s2))
    assert clock.add(lo, minutes) <= clock.add(hi, minutes)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants, instants)
def test_elapsed_is_additive_antisymmetric_and_monotone(clock, a, b, c):
    assert clock.elapsed_delta(a, b) + clock.elapsed_delta(b, c) == clock.elapsed_delta(a, c)
    assert clock.elapsed_delta(b, a) == -clock.elapsed_delta(a, b)
    lo, hi = sorted((b, c))
    assert clock.elapsed_delta(a, lo) <= clock.elapsed_delta(a, hi)
    # never more working time than real time
    assert abs(clock.elapsed_delta(a, b)) <= abs(b - a)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, st.integers(min_value=1, max_value=15_000), st.integers(min_value=1, max_value=15_000))
def test_add_composes(clock, start, m1, m2):
    assert clock.add(clock.add(start, m1), m2) == clock.add(start, m1 + m2)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants)
def test_add_zero_is_the_next_working_instant(clock, start):
    moment = clock.add(start, 0)
    assert clock.elapsed(start, moment) == 0
    if is_working_instant(clock, start):
        assert moment == start
    else:
        assert moment > start and is_working_instant(clock, moment)
        # the instant is the start of a working period
        day = moment.astimezone(clock.zone).date()
        assert moment.astimezone(UTC) in [a for a, _b in clock.periods(day)]


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, st.integers(min_value=1, max_value=15_000),
       st.integers(min_value=0, max_value=20_000), st.integers(min_value=1, max_value=20_000))
def test_pause_and_resume_shift_the_due_by_the_working_time_of_the_pause(clock, start, minutes, into, length):
    """What tickets.services.sla.sla_resume does: a pause [p, r) that began before the due moves
    it by exactly the working time of the pause, and the clock's running time (without the
    pause) at the new due is the target again."""
    due = clock.add(start, minutes)
    paused = start + dt.timedelta(minutes=into)
    assume(paused < due)
    resumed = paused + dt.timedelta(minutes=length)
    credit = clock.elapsed_delta(paused, resumed)
    new_due = clock.add_delta(due, credit) if credit else due
    assert clock.elapsed_delta(due, new_due) == credit
    assert new_due > resumed or credit == dt.timedelta(0)
    running = clock.elapsed_delta(start, new_due) - clock.elapsed_delta(paused, min(resumed, new_due))
    assert running == dt.timedelta(minutes=minutes)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), instants, amounts, instants)
def test_the_calendar_clock_counts_every_second(zone, start, minutes, other):
    clock = CalendarTime(zone)
    due = clock.add(start, minutes)
    assert due - start == dt.timedelta(minutes=minutes)
    assert clock.elapsed(start, due) == minutes
    assert clock.elapsed_delta(start, other) == other - start


# --- worked examples -------------------------------------------------------------------------------

def test_lunch_break_and_the_end_of_a_period():
    clock = china()
    assert clock.add(sh(2026, 11, 24, 11, 30), 60) == sh(2026, 11, 24, 13, 30)
    assert clock.add(sh(2026, 11, 24, 9), 180) == sh(2026, 11, 24, 12)      # ends at the break, not after it
    assert clock.add(sh(2026, 11, 24, 12), 0) == sh(2026, 11, 24, 13)        # zero: next working instant
    assert clock.add(sh(2026, 11, 24, 12, 30), 1) == sh(2026, 11, 24, 13, 1)
    assert clock.elapsed(sh(2026, 11, 24, 0), sh(2026, 11, 25, 0)) == 8 * 60
    assert clock.add(sh(2026, 11, 27, 17), 120) == sh(2026, 11, 30, 10)       # Friday → Monday
    assert clock.add(sh(2026, 11, 28, 20), 0) == sh(2026, 11, 30, 9)          # Saturday night → Monday 9:00


def test_holidays_and_make_up_working_days_of_2026():
    clock = china()
    # Friday 18 Sept 17:00 + 2 working hours: Sunday 20 Sept is a make-up working day.
    assert clock.add(sh(2026, 9, 18, 17), 120) == sh(2026, 9, 20, 10)
    # The National Day week is off: 30 Sept 17:30 + 2 h → Thursday 8 Oct 10:30.
    assert clock.add(sh(2026, 9, 30, 17, 30), 120) == sh(2026, 10, 8, 10, 30)
    assert clock.elapsed(sh(2026, 10, 1), sh(2026, 10, 8)) == 0
    # Saturday 10 Oct works, and Spring Festival (15–23 Feb) is off with 14 and 28 Feb worked.
    assert clock.elapsed(sh(2026, 10, 10), sh(2026, 10, 11)) == 8 * 60
    assert clock.elapsed(sh(2026, 2, 14), sh(2026, 3, 1)) == 2 * 8 * 60 + 4 * 8 * 60  # 14th, 24–27th, 28th
    assert clock.add(sh(2026, 1, 1, 10), 0) == sh(2026, 1, 4, 9)              # New Year: Sunday 4 Jan works
    days = dict((d, w) for d, w, _n in cn_holiday_days(2026))
    assert sum(1 for w in days.values() if not w) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert sorted(d for d, w in days.items() if w) == [
        dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28),
        dt.date(2026, 5, 9), dt.date(2026, 9, 20), dt.date(2026, 10, 10)]
    assert cn_holiday_days(2031) == []


def test_daylight_saving_days_count_real_time():
    berlin = WorkingTime(time_zone="Europe/Berlin", workdays=range(1, 8), work_start=dt.time(1),
                         work_end=dt.time(5))
    day = dt.datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin"))                 # 02:00 → 03:00
    assert berlin.elapsed(day, day + dt.timedelta(days=1)) == 3 * 60
    autumn = dt.datetime(2026, 10, 25, tzinfo=ZoneInfo("Europe/Berlin"))             # 03:00 → 02:00
    assert berlin.elapsed(autumn, autumn + dt.timedelta(days=1)) == 5 * 60
    # 4 working hours from 01:00 on the autumn day end at 04:00 local (one hour repeated)
    assert berlin.add(autumn.replace(hour=1), 240) == dt.datetime(2026, 10, 25, 4, tzinfo=ZoneInfo("Europe/Berlin"))
    # (midnight to midnight local: the spring day has 23 real hours, the calendar clock counts them)
    assert CalendarTime("Europe/Berlin").elapsed(day, day + dt.timedelta(days=1)) == 23 * 60


def test_the_same_instant_in_different_zones_gives_the_same_answer():
    clock = china()
    start = sh(2026, 11, 24, 16)
    for zone in ("UTC", "America/New_York", "Asia/Kathmandu"):
        assert clock.add(start.astimezone(ZoneInfo(zone)), 150) == clock.add(start, 150)
    assert clock.add(start, 150).tzinfo == SH


def test_bad_input_is_refused():
    clock = standard_working_time()
    with pytest.raises(ValueError):
        clock.add(dt.datetime(2026, 1, 5, 9), 10)                      # naive
    with pytest.raises(ValueError):
        clock.add(sh(2026, 1, 5, 9), -1)
    with pytest.raises(ValueError):
        WorkingTime(time_zone="UTC", workdays=[8], work_start=dt.time(9), work_end=dt.time(17))
    with pytest.raises(ValueError):
        WorkingTime(time_zone="UTC", workdays=[1], work_start=dt.time(9), work_end=dt.time(9))
    with pytest.raises(ValueError):
        WorkingTime(time_zone="UTC", workdays=[1], work_start=dt.time(9), work_end=dt.time(17),
                    break_start=dt.time(8), break_end=dt.time(10))
    nothing = WorkingTime(time_zone="UTC", workdays=[], work_start=dt.time(9), work_end=dt.time(17))
    all_break = WorkingTime(time_zone="UTC", workdays=[1], work_start=dt.time(9), work_end=dt.time(17),
                            break_start=dt.time(9), break_end=dt.time(17))
    for clock in (nothing, all_break):
        assert clock.is_empty
        with pytest.raises(ValueError):
            clock.add(sh(2026, 1, 5, 9), 1)
    # one make-up day is enough working time for a short target
    once = WorkingTime(time_zone="Asia/Shanghai", workdays=[], work_start=dt.time(9), work_end=dt.time(17),
                       days={dt.date(2026, 1, 10): True})
    assert once.add(sh(2026, 1, 5, 9), 60) == sh(2026, 1, 10, 10)
    assert to_minutes(dt.timedelta(seconds=90)) == 1.5
