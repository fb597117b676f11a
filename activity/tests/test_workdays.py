"""Working days on the Chinese holiday calendar, with the bureau's own entries and years the package does not know."""

import datetime

import pytest
from django.urls import reverse

from activity.models import CalendarDay
from activity.workdays import add_workdays, is_workday, workday_span_end, workdays_between

pytestmark = pytest.mark.django_db
D = datetime.date


def test_publicity_across_the_2026_national_day_holiday():
    # 9-30 (Wed) counts; 10-01..10-07 are off; 10-08, 10-09, 10-10 (a Saturday worked in lieu), 10-12
    assert workday_span_end(D(2026, 9, 30), 5) == D(2026, 10, 12)
    assert add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert workdays_between(D(2026, 10, 1), D(2026, 10, 7)) == 0
    assert workdays_between(D(2026, 9, 28), D(2026, 10, 11)) == 6
    assert is_workday(D(2026, 10, 10)) and not is_workday(D(2026, 10, 11))


def test_a_period_starting_on_a_holiday_starts_counting_on_the_next_working_day():
    assert workday_span_end(D(2026, 10, 1), 1) == D(2026, 10, 8)


def test_years_the_package_does_not_know_fall_back_to_monday_to_friday():
    friday, saturday = D(2031, 1, 3), D(2031, 1, 4)
    assert friday.weekday() == 4 and is_workday(friday)
    assert not is_workday(saturday)
    assert workday_span_end(friday, 2) == D(2031, 1, 6)


def test_the_bureaus_entries_win_over_package_and_fallback():
    # 2027 New Year's Day (a Friday), unknown to the package: entered by hand
    assert workday_span_end(D(2026, 12, 31), 2) == D(2027, 1, 1)
    CalendarDay.objects.create(date=D(2027, 1, 1), is_workday=False, note="2027年元旦")
    assert workday_span_end(D(2026, 12, 31), 2) == D(2027, 1, 4)
    # a Sunday worked in lieu
    CalendarDay.objects.create(date=D(2027, 1, 3), is_workday=True, note="调休上班")
    assert workday_span_end(D(2026, 12, 31), 2) == D(2027, 1, 3)
    # and a correction of a year the package knows
    CalendarDay.objects.create(date=D(2026, 10, 9), is_workday=False, note="本地停工")
    assert workday_span_end(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_invalid_period():
    with pytest.raises(ValueError):
        workday_span_end(D(2026, 1, 5), 0)
    assert workdays_between(D(2026, 1, 5), D(2026, 1, 4)) == 0


def test_officers_maintain_the_calendar_in_the_admin(client, officer, applicant):
    client.force_login(officer)
    response = client.post(reverse("admin:activity_calendarday_add"),
                           {"date": "2027-01-01", "is_workday": "", "note": "2027年元旦"})
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=D(2027, 1, 1)).is_workday is False
    client.force_login(applicant)
    assert client.get(reverse("admin:activity_calendarday_changelist")).status_code == 302  # not staff: to login


@pytest.mark.django_db
@pytest.mark.parametrize("n, step, count", [(5, 1, 60), (20, 17, 30)])
def test_add_workdays_many_matches_add_workdays_and_reads_the_calendar_once(n, step, count):
    """The deadline sweeper's batches count 办理时限 for many dates at once: the same answers as add_workdays (National
    Day, a bureau's own day off), one CalendarDay query for them all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from activity.models import CalendarDay
    from activity.workdays import add_workdays, add_workdays_many

    CalendarDay.objects.create(date=datetime.date(2026, 11, 18), is_workday=False, note="临时停工")
    CalendarDay.objects.create(date=datetime.date(2027, 2, 1), is_workday=False, note="测试")
    base = [datetime.date(2026, 9, 28) + datetime.timedelta(days=i * step) for i in range(count)]
    with CaptureQueriesContext(connection) as queries:
        dues = add_workdays_many(base, n)
    assert len(queries) == 1
    assert dues == {day: add_workdays(day, n) for day in base}
    if n == 5:
        assert dues[datetime.date(2026, 9, 29)] == datetime.date(2026, 10, 12)  # across National Day
        assert dues[datetime.date(2026, 11, 16)] == datetime.date(2026, 11, 24)  # across the bureau's day off
