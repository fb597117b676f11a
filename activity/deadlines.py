"""Dated obligations (期限事项): what the deadline sweeper knows about, and the ladder it climbs.

Deadlines are data: a report's ``due_date``, a round's ``review_deadline``, a call's ``closes_at``. Every app
that owns such a field describes it once as an :class:`ObligationKind` and registers it here (activity may not
import the apps to its right, so they register themselves in ``AppConfig.ready``). The sweeper
(``activity.sweeper``) asks each kind for the rows whose deadline is near or past and climbs one ladder for all:

    d7 ─▶ d3 ─▶ d1 (reminders to the owner, the windows set per kind)
    ─▶ overdue (the owner) ─▶ yellow 黄牌 (the officer and the organisation's admin) ─▶ red 红牌 督办 (局领导)
    ─▶ and, where the kind says so, an automatic action (reassign a review, propose termination).

The catalogue of kinds is ``registry()``; README's "期限与督办" lists it for people.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Stage:
    """Stage codes, as stored in Reminder.stage. Windows are ``d<N>`` (N days before)."""

    OVERDUE = "overdue"
    YELLOW = "yellow"
    RED = "red"
    LEVELS = (OVERDUE, YELLOW, RED)

    @staticmethod
    def window(days: int) -> str:
        return f"d{days}"

    @staticmethod
    def label(stage: str) -> str:
        if stage.startswith("d") and stage[1:].isdigit():
            return str(_("到期前%(days)s天提醒") % {"days": stage[1:]})
        return str(STAGE_LABELS.get(stage, stage))


STAGE_LABELS = {
    Stage.OVERDUE: _("逾期提醒"),
    Stage.YELLOW: _("黄牌警示"),
    Stage.RED: _("红牌督办"),
}


@dataclass(frozen=True)
class PolicyDefaults:
    """A kind's defaults for its ReminderPolicy row (the bureau changes them in the admin)."""

    windows: tuple[int, ...] = (7, 3, 1)
    remind_overdue: bool = True
    yellow_after_days: int | None = 3
    red_after_days: int | None = 7
    service_days: int | None = None  # 办理时限 in working days, for kinds whose deadline counts from a date
    auto_action: bool = False
    action_after_days: int = 0


@dataclass
class Obligation:
    """One dated obligation as the sweeper sees it: an object, its deadline and the people on its ladder."""

    pk: int
    due_at: datetime.datetime
    title: str  # what is owed: "《…》中期检查报告"
    owners: list = field(default_factory=list)  # who owes it (users)
    responsible: list = field(default_factory=list)  # 黄牌: the officer(s) and the organisation's admins
    holder: str = ""  # who holds it, as the 督办 page shows it ("杭州某某有限公司" / "专家 张三" / "业务处室")
    link: str = ""  # where the owner acts
    office_link: str = ""  # where the bureau looks at it
    organization_id: int | None = None


class ObligationKind:
    """Describe one kind of dated obligation. Subclasses set the attributes and implement the two methods.

    - ``candidates(horizon, policy)``: the open objects whose deadline is at or before ``horizon`` (a superset
      is fine: the sweeper drops rows whose stage is not reached). Must be filterable by ``pk`` and use an index.
    - ``obligations(rows, policy)``: turn a batch of those rows into :class:`Obligation` s, in a fixed number of
      queries per batch (prefetch the recipients), never one per row.
    - ``act(pk, due_at, now)``: the automatic action, when ``defaults.auto_action`` is possible; idempotent.
    """

    code: str = ""
    label = ""
    model: type[Model]
    owner_label = ""  # who owes it, for the catalogue: "申报单位管理员"
    responsible_label = ""  # who is responsible above them (黄牌)
    action_label = ""  # what the system does by itself, if anything
    defaults = PolicyDefaults()

    def candidates(self, horizon: datetime.datetime, policy) -> QuerySet:
        raise NotImplementedError

    def obligations(self, rows: Sequence[Model], policy) -> list[Obligation]:
        raise NotImplementedError

    def deadlines(self, rows: Sequence[Model], policy) -> dict[int, datetime.datetime]:
        """The deadline of each row that is an obligation, by pk (the sweeper resolves 督办 items with it).
        By default from ``obligations``; a kind that can read it off the rows, without the recipients' queries,
        overrides it (it must agree with ``obligations``)."""
        return {ob.pk: ob.due_at for ob in self.obligations(rows, policy)}

    def act(self, pk: int, due_at: datetime.datetime, now: datetime.datetime) -> bool:
        return False

    @property
    def can_act(self) -> bool:
        return type(self).act is not ObligationKind.act

    def __repr__(self):
        return f"<ObligationKind {self.code}>"


_REGISTRY: dict[str, ObligationKind] = {}


def register(kind: ObligationKind) -> ObligationKind:
    if not kind.code or kind.code in _REGISTRY and type(_REGISTRY[kind.code]) is not type(kind):
        raise ValueError(f"obligation kind {kind.code!r} is empty or registered twice")
    _REGISTRY[kind.code] = kind
    return kind


def registry() -> dict[str, ObligationKind]:
    return dict(_REGISTRY)


def get_kind(code: str) -> ObligationKind | None:
    return _REGISTRY.get(code)


def kind_label(code: str) -> str:
    kind = _REGISTRY.get(code)
    return str(kind.label) if kind else code


# --- time -----------------------------------------------------------------------------------------------------


def end_of_day(day: datetime.date) -> datetime.datetime:
    """A date deadline ("due 12-01") is met until the end of that day, local time: the aware instant the next
    day begins. The last representable day ends at its last microsecond instead of overflowing."""
    tz = timezone.get_current_timezone()
    if day >= datetime.date.max:
        return datetime.datetime.combine(day, datetime.time.max, tzinfo=tz)
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


def last_day(due_at: datetime.datetime) -> datetime.date:
    """The last day on which a deadline is met, local time: a date deadline is stored as the instant the next day
    begins (``end_of_day``), so 00:00 on the 12th is "the 11th", as the obligation's own page shows it."""
    return timezone.localtime(due_at - datetime.timedelta(microseconds=1)).date()


def due_text(due_at: datetime.datetime) -> str:
    """A deadline as people read it: "2026-11-11" for a date deadline, "2026-11-11 17:00" for a moment."""
    local = timezone.localtime(due_at)
    if local.time() == datetime.time.min or due_at.date() >= datetime.date.max:
        return last_day(due_at).isoformat()
    return local.strftime("%Y-%m-%d %H:%M")


def days_between(day: datetime.date, today: datetime.date) -> int:
    """Calendar days from ``day`` to ``today``, as people count them: due the 11th, on the 23rd it is 12 days
    overdue (never below 0)."""
    return max((today - day).days, 0)


def horizon_date(horizon: datetime.datetime) -> datetime.date:
    """The last date whose end-of-day deadline can fall at or before ``horizon`` (for DateField filters)."""
    return timezone.localtime(horizon).date()


def shift(moment: datetime.datetime, days: int) -> datetime.datetime:
    """``moment`` plus ``days`` days, clamped at the ends of the calendar instead of raising OverflowError."""
    try:
        return moment + datetime.timedelta(days=days)
    except OverflowError:
        edge = datetime.datetime.max if days > 0 else datetime.datetime.min
        return edge.replace(tzinfo=datetime.UTC)


def reached_stages(
    due_at: datetime.datetime, now: datetime.datetime, policy, *, can_act: bool = False
) -> list[tuple[str, str | None]]:
    """The stages an obligation due at ``due_at`` has reached at ``now``, as (stage, ladder level).

    Before the deadline only the nearest window counts (a sweeper that was stopped does not send a stale
    7-day reminder after the 3-day one). Past it, every level reached counts: each goes to other people.
    ``("action", None)`` is appended when the automatic action is due.
    """
    if now < due_at:
        left = due_at - now
        reached = [days for days in policy.window_days if left <= datetime.timedelta(days=days)]
        return [(Stage.window(min(reached)), None)] if reached else []
    stages: list[tuple[str, str | None]] = []
    if policy.remind_overdue:
        stages.append((Stage.OVERDUE, Stage.OVERDUE))
    if policy.yellow_after_days is not None and now >= shift(due_at, policy.yellow_after_days):
        stages.append((Stage.YELLOW, Stage.YELLOW))
    if policy.red_after_days is not None and now >= shift(due_at, policy.red_after_days):
        stages.append((Stage.RED, Stage.RED))
    if can_act and policy.auto_action and now >= shift(due_at, policy.action_after_days):
        stages.append(("action", None))
    return stages


def level_of(stages: Iterable[tuple[str, str | None]]) -> str | None:
    """The highest ladder level among ``stages`` (None before the deadline)."""
    levels = [level for _stage, level in stages if level]
    return max(levels, key=Stage.LEVELS.index) if levels else None


# --- 办理时限: deadlines counted in working days from a date -------------------------------------------------------


def service_days(kind: ObligationKind, policy) -> int:
    """The kind's 办理时限 in working days: the policy's, else the kind's default (at least 1)."""
    return max(1, getattr(policy, "service_days", None) or kind.defaults.service_days or 1)


def service_cutoff(horizon: datetime.datetime, days: int) -> datetime.datetime:
    """The superset cutoff of a 办理时限 of ``days`` working days: a matter is due by ``horizon`` only if it started
    (local date) no later than ``days`` calendar days before the horizon's date (n working days are at least n
    days); the instant that day ends, to filter a DateTimeField with ``__lt``."""
    return end_of_day(horizon_date(horizon) - datetime.timedelta(days=days))


# --- recipients, fetched per batch ------------------------------------------------------------------------------


def unique_users(*groups) -> list:
    """The users of all groups, each once, in order (None skipped)."""
    seen, out = set(), []
    for group in groups:
        for user in group:
            if user is not None and user.pk not in seen:
                seen.add(user.pk)
                out.append(user)
    return out


def active_user(user) -> list:
    """``[user]`` when there is one and it is active, else ``[]`` (to add an optional person to a group)."""
    return [user] if user is not None and user.is_active else []


def org_admins_by_org(organization_ids: Iterable[int]) -> dict[int, list]:
    """The active 单位管理员 of each organisation, in one query."""
    from accounts.roles import Role
    from accounts.selectors import users_with_role

    ids = {pk for pk in organization_ids if pk is not None}
    found: dict[int, list] = {pk: [] for pk in ids}
    if ids:
        for user in users_with_role(Role.ORG_ADMIN).filter(organization_id__in=ids).order_by("pk"):
            found[user.organization_id].append(user)
    return found


def users_by_pk(user_ids: Iterable[int]) -> dict[int, object]:
    """Active users by primary key, in one query."""
    from accounts.models import User

    ids = {pk for pk in user_ids if pk is not None}
    return {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)} if ids else {}


def role_users(role) -> list:
    """Everyone active in a role (the officers, finance), in one query; call once per batch."""
    from accounts.selectors import users_with_role

    return list(users_with_role(role).order_by("pk"))
