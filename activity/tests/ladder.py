"""Drive one obligation up the whole ladder with time-machine, for the tests of every kind.

``climb(code, pk, due_at, owners=…, responsible=…, supervisors=…)`` moves the clock to each reminder window
before the deadline, to the deadline, and to the 黄牌 and 红牌 intervals after it, sweeps there, and checks that
exactly the expected people were reminded at exactly that stage, that the 督办 item climbed, and that sweeping
again at the same moment sends nothing more. The windows and intervals come from the kind's ReminderPolicy.
"""

from __future__ import annotations

import datetime

import time_machine

from activity.deadlines import Stage, shift
from activity.models import Escalation, Notification, Reminder
from activity.sweeper import ensure_policies, sweep

MINUTE = datetime.timedelta(minutes=1)


def sweep_at(moment: datetime.datetime, kinds=None, **kwargs):
    with time_machine.travel(moment, tick=False):
        return sweep(kinds=kinds, **kwargs)


def sent(code: str, pk: int, stage: str) -> set[int]:
    """Who was reminded of this obligation at this stage (recipient ids)."""
    return set(Reminder.objects.filter(kind=code, object_id=pk, stage=stage).values_list("recipient_id", flat=True))


def ids(users) -> set[int]:
    return {u.pk for u in users}


def escalation(code: str, pk: int) -> Escalation | None:
    return Escalation.objects.filter(kind=code, object_id=pk).order_by("-due_at").first()


def climb(code: str, pk: int, due_at: datetime.datetime, *, owners, responsible=(), supervisors=(),
          expect_escalation: bool = True) -> dict[str, set[int]]:
    """Sweep at every stage of the kind's policy; return {stage: recipient ids} and assert each is as expected."""
    policy = ensure_policies()[code]
    seen: dict[str, set[int]] = {}
    for days in policy.window_days:
        moment = due_at - datetime.timedelta(days=days) + MINUTE
        sweep_at(moment, kinds=[code])
        stage = Stage.window(days)
        seen[stage] = sent(code, pk, stage)
        assert seen[stage] == ids(owners), f"{code} {stage}: reminded {seen[stage]}, expected {ids(owners)}"
        before = Reminder.objects.count()
        sweep_at(moment, kinds=[code])
        assert Reminder.objects.count() == before, f"{code} {stage}: a second sweep sent again"
    ladder = []
    if policy.remind_overdue:
        ladder.append((Stage.OVERDUE, 0, owners))
    if policy.yellow_after_days is not None:
        ladder.append((Stage.YELLOW, policy.yellow_after_days, responsible))
    if policy.red_after_days is not None:
        ladder.append((Stage.RED, policy.red_after_days, supervisors))
    for stage, after, people in ladder:
        moment = shift(due_at, after) + MINUTE
        sweep_at(moment, kinds=[code])
        seen[stage] = sent(code, pk, stage)
        assert seen[stage] == ids(people), f"{code} {stage}: reminded {seen[stage]}, expected {ids(people)}"
        if expect_escalation:
            esc = escalation(code, pk)
            assert esc is not None and esc.resolved_at is None, f"{code} {stage}: no open 督办 item"
            assert esc.level == stage, f"{code} {stage}: the 督办 item is at {esc.level}"
        before = Reminder.objects.count()
        sweep_at(moment, kinds=[code])
        assert Reminder.objects.count() == before, f"{code} {stage}: a second sweep sent again"
    for stage, users in seen.items():
        for user_id in users:
            assert Notification.objects.filter(
                recipient_id=user_id, reminder__kind=code, reminder__object_id=pk, reminder__stage=stage
            ).exists(), f"{code} {stage}: no inbox message for user {user_id}"
    return seen


#: where the bureau's pages live: a reminder to an organisation's user must never link there
OFFICE_PREFIXES = ("/office/", "/admin/", "/api/")


def sweep_every_stage(code: str, due_at: datetime.datetime) -> None:
    """Sweep at each window and level of the kind's policy (who is reminded is ``climb``'s business)."""
    policy = ensure_policies()[code]
    for days in policy.window_days:
        sweep_at(due_at - datetime.timedelta(days=days) + MINUTE, kinds=[code])
    for after in (0, policy.yellow_after_days, policy.red_after_days):
        if after is not None:
            sweep_at(shift(due_at, after) + MINUTE, kinds=[code])
