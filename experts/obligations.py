"""The dated obligations experts owns, described for the deadline sweeper (activity.deadlines).

- 评审邀请答复 (``invitation_unanswered``): an invitation not answered as its ``respond_by`` approaches. Only the
  reminders: at the deadline the invitation lapses and is replaced by ``experts.expire_due_invitations``.
- 专家评审意见提交 (``review_due``): an accepted review not submitted by the round's ``review_deadline`` (a late
  replacement, invited after it, has its own: reviews.review_due_at). Past it the ladder climbs and, as the
  automatic action, the review is reassigned to another eligible expert (assign.reassign_overdue_review).
- 立项公示期满 (``publicity_end``): a 立项清单 in 公示 whose ``publicity_end`` approaches (the officers handle the
  objections), then is past without the list approved.

Registered in ExpertsConfig.ready; the catalogue is README's "期限与督办".
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import DomainError
from accounts.roles import Role
from activity.deadlines import (
    Obligation,
    ObligationKind,
    PolicyDefaults,
    active_user,
    end_of_day,
    horizon_date,
    register,
    role_users,
)

from .models import Assignment, FundingList, ReviewRound

AS = Assignment.State


class InvitationUnanswered(ObligationKind):
    """评审邀请 not yet accepted or declined, its response deadline near."""

    code = "invitation_unanswered"
    label = gettext_lazy("评审邀请答复")
    model = Assignment
    owner_label = gettext_lazy("受邀专家")
    responsible_label = gettext_lazy("无（逾期未答复的邀请自动失效并替补）")
    # respond_by is often a few days after the invitation; a lapsed invitation is expired and replaced by
    # experts.expire_due_invitations, so nothing here climbs past the deadline
    defaults = PolicyDefaults(windows=(2, 1), remind_overdue=False, yellow_after_days=None, red_after_days=None)

    def candidates(self, horizon, policy):
        # only invitations still answerable: past respond_by they are the expiry sweeper's (no 督办 item opens).
        # The sweep asks with horizon = now + the largest window, so that is the lower bound (index assignment_due)
        windows = policy.window_days
        since = horizon - datetime.timedelta(days=max(windows)) if windows else horizon
        return Assignment.objects.filter(
            state=AS.INVITED, respond_by__gt=since, respond_by__lte=horizon, round__state=ReviewRound.State.REVIEWING,
        )

    def obligations(self, rows, policy):
        rows = Assignment.objects.filter(pk__in=[r.pk for r in rows]).select_related("round", "item", "expert__user")
        return [
            Obligation(
                pk=a.pk,
                due_at=a.respond_by,
                title=_("“%(item)s”评审邀请（%(round)s）") % {"item": a.item.title, "round": a.round.name},
                owners=active_user(a.expert.user),
                responsible=[],
                holder=_("专家 %(name)s") % {"name": a.expert.name},
                link=reverse("experts:invitation", args=[a.pk]),
                office_link=reverse("experts:round_item", args=[a.round_id, a.item_id]),
            )
            for a in rows
        ]


class ReviewDue(ObligationKind):
    """An accepted review not submitted by its deadline; reassigned to another eligible expert when overdue."""

    code = "review_due"
    label = gettext_lazy("专家评审意见提交")
    model = Assignment
    owner_label = gettext_lazy("评审专家")
    responsible_label = gettext_lazy("业务处室")
    action_label = gettext_lazy("逾期改派其他符合条件的专家（无人可派时通知业务处室）")
    # 黄牌 a day late (the officers may still act by hand), reassigned the day after, 红牌 when it could not be
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=1, red_after_days=3, auto_action=True,
                              action_after_days=2)

    def candidates(self, horizon, policy):
        # a superset: a late replacement's own deadline is later than the round's (dropped until reached).
        # A review sent back for changes (submitted once) is the officer's business with the expert, not dated.
        return Assignment.objects.filter(
            state=AS.ACCEPTED, submitted_at__isnull=True, round__state=ReviewRound.State.REVIEWING,
            round__review_deadline__lte=horizon,
        )

    def obligations(self, rows, policy):
        rows = Assignment.objects.filter(pk__in=[r.pk for r in rows]).select_related("round", "item", "expert__user")
        officers = role_users(Role.OFFICER)
        return [
            Obligation(
                pk=a.pk,
                due_at=a.review_due,
                title=_("“%(item)s”评审意见（%(round)s）") % {"item": a.item.title, "round": a.round.name},
                owners=active_user(a.expert.user),
                responsible=officers,
                holder=_("专家 %(name)s") % {"name": a.expert.name},
                link=reverse("experts:review", args=[a.pk]),
                office_link=reverse("experts:round_item", args=[a.round_id, a.item_id]),
            )
            for a in rows
        ]

    def act(self, pk, due_at, now):
        from .services.assign import reassign_overdue_review

        try:
            return reassign_overdue_review(assignment_id=pk, due_at=due_at, now=now) is not None
        except DomainError:
            return False


class PublicityEnd(ObligationKind):
    """立项清单 in 公示: the officers are told it ends (objections to settle), then that it awaits approval."""

    code = "publicity_end"
    label = gettext_lazy("立项公示期满批准")
    model = FundingList
    owner_label = gettext_lazy("业务处室")
    responsible_label = gettext_lazy("业务处室")
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=3, red_after_days=7)

    def candidates(self, horizon, policy):
        return FundingList.objects.filter(
            state=FundingList.State.PUBLICIZING, publicity_end__lte=horizon_date(horizon),
        )

    def obligations(self, rows, policy):
        rows = FundingList.objects.filter(pk__in=[r.pk for r in rows])
        officers = role_users(Role.OFFICER)
        out = []
        for fl in rows:
            link = reverse("experts:funding_list", args=[fl.round_id])
            out.append(Obligation(
                pk=fl.pk,
                # the 公示 runs through publicity_end; the list can be approved the next day
                due_at=end_of_day(fl.publicity_end),
                title=_("立项清单《%(title)s》公示期满处理异议并批准立项") % {"title": fl.title},
                owners=officers,
                responsible=officers,
                holder=_("业务处室"),
                link=link,
                office_link=link,
            ))
        return out


register(InvitationUnanswered())
register(ReviewDue())
register(PublicityEnd())
