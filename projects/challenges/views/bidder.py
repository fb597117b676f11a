"""The bidder's pages (揭榜方): its bids, the four-step plan (方案, 团队, 联合体, 里程碑), submitting with the
军令状, withdrawing, and the result.

Every bid comes from ``selectors.bid_for_bidder`` (the user's own organisation's bids only: another bidder's plan
is a 404, GET or POST); every write goes through ``projects.challenges.services``, whose DomainError becomes a form
error or a message and changes nothing.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError
from activity import selectors as activity_selectors

from ...models import Project
from ...views.applicant import portal_user_required
from .. import selectors, services
from ..forms import (
    BidMemberFormSet,
    BidMilestoneFormSet,
    BidPartnerFormSet,
    BidPlanForm,
    CommitmentForm,
    ReasonForm,
)
from ..models import Bid, Challenge
from .poster import error_messages

PAGE_SIZE = 20
B = Bid.State

STEPS = [
    ("plan", gettext_lazy("技术方案")),
    ("team", gettext_lazy("攻关团队")),
    ("partners", gettext_lazy("联合体成员")),
    ("milestones", gettext_lazy("里程碑计划")),
]
STEP_NAMES = [s for s, _label in STEPS]

#: 揭榜军令状: what the team commits to when it submits the bid
BIDDER_COMMITMENT = [
    gettext_lazy("按揭榜方案确定的技术路线和里程碑计划开展攻关，按期实现榜单规定的全部技术指标；"),
    gettext_lazy("接受发榜单位和科技局组织的里程碑考核与最终验收，考核未通过的接受终止项目、停止拨付资金的处理；"),
    gettext_lazy("赛马制下接受按里程碑考核择优淘汰的结果；"),
    gettext_lazy("所填方案、团队和联合体信息真实，无重复申报、无知识产权纠纷；如有弄虚作假，承担相应的科研诚信责任。"),
]


def _step_url(bid, step):
    return reverse("challenges:bid_edit", kwargs={"pk": bid.pk, "step": step})


def _detail(bid):
    return redirect("challenges:bid_detail", pk=bid.pk)


def _milestone_total(bid) -> Decimal:
    return sum((m.amount for m in bid.milestones.all()), Decimal("0.00"))


# ---- list --------------------------------------------------------------------------------------------------


@portal_user_required
def bid_list(request):
    page = Paginator(selectors.bids_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/challenges/bidder/bid_list.html", {"page": page, "bids": page.object_list})


# ---- create (the 榜单's 我要揭榜 button) -------------------------------------------------------------------


@portal_user_required
@require_POST
def bid_create(request, challenge_pk):
    challenge = selectors.public_challenge(challenge_pk)
    existing = selectors.own_bid_for(request.user, challenge)
    if existing is not None:
        messages.info(request, _("贵单位已对该榜单起草或提交了揭榜方案（%(s)s），请在原方案上继续。")
                      % {"s": existing.get_state_display()})
        if existing.state in Bid.EDITABLE_STATES:
            return redirect(_step_url(existing, "plan"))
        return _detail(existing)
    try:
        bid = services.create_bid(actor=request.user, challenge_id=challenge.pk)
    except DomainError as e:
        error_messages(request, e)
        return redirect("jiebang:detail", pk=challenge.pk)
    messages.success(request, _("已创建揭榜方案草稿，请逐步填写并保存，最后签署军令状提交。"))
    return redirect(_step_url(bid, "plan"))


# ---- the four-step form ------------------------------------------------------------------------------------


def _after_save(request, bid, step):
    messages.success(request, _("已保存。"))
    if request.POST.get("action") == "next":
        index = STEP_NAMES.index(step)
        if index + 1 < len(STEP_NAMES):
            return redirect(_step_url(bid, STEP_NAMES[index + 1]))
        return _detail(bid)
    return redirect(_step_url(bid, step))


def _rows_step(request, bid, step, formset_class, initial, save):
    formset = formset_class(request.POST or None, initial=initial, prefix=step)
    errors = []
    if request.method == "POST" and formset.is_valid():
        try:
            save(formset.rows())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, bid, step)
    return {"formset": formset, "domain_errors": errors}


def _step_plan(request, bid):
    form = BidPlanForm(request.POST or None, instance=bid, bounty=bid.challenge.bounty)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.update_bid(actor=request.user, bid_id=bid.pk, data=form.service_data())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, bid, "plan")
    return {"form": form, "domain_errors": errors}


def _step_team(request, bid):
    initial = [{"name": m.name, "id_number": m.id_number, "organization_name": m.organization_name,
                "title": m.title, "role": m.role} for m in bid.members.all()]
    return _rows_step(request, bid, "team", BidMemberFormSet, initial,
                      lambda rows: services.set_bid_members(actor=request.user, bid_id=bid.pk, members=rows))


def _step_partners(request, bid):
    initial = [{"name": p.name, "credit_code": p.credit_code, "kind": p.kind, "role": p.role}
               for p in bid.partners.all()]
    return _rows_step(request, bid, "partners", BidPartnerFormSet, initial,
                      lambda rows: services.set_bid_partners(actor=request.user, bid_id=bid.pk, partners=rows))


def _step_milestones(request, bid):
    initial = [{"title": m.title, "targets": m.targets, "due_date": m.due_date, "amount": m.amount}
               for m in bid.milestones.all()]
    result = _rows_step(request, bid, "milestones", BidMilestoneFormSet, initial,
                        lambda rows: services.set_bid_milestones(actor=request.user, bid_id=bid.pk, milestones=rows))
    if isinstance(result, dict):
        total = _milestone_total(bid)
        result.update({"milestone_total": total, "milestone_gap": bid.amount - total})
    return result


STEP_HANDLERS = {"plan": _step_plan, "team": _step_team, "partners": _step_partners, "milestones": _step_milestones}


@portal_user_required
@require_http_methods(["GET", "POST"])
def bid_edit(request, pk, step):
    bid = selectors.bid_for_bidder(request.user, pk)
    if step not in STEP_HANDLERS:
        raise Http404
    if bid.state not in Bid.EDITABLE_STATES:
        messages.warning(request, _("方案当前状态为“%(s)s”，不能修改；如需修改请先撤回后重新揭榜。")
                         % {"s": bid.get_state_display()})
        return _detail(bid)
    if not request.user.has_perm("projects.edit_bid_obj", bid):
        messages.error(request, _("只有揭榜单位的申报用户可以修改该方案。"))
        return _detail(bid)
    result = STEP_HANDLERS[step](request, bid)
    if not isinstance(result, dict):
        return result
    index = STEP_NAMES.index(step)
    context = {
        "bid": bid,
        "challenge": bid.challenge,
        **result,
        "step": step,
        "step_label": dict(STEPS)[step],
        "steps": [{"name": s, "label": label, "url": _step_url(bid, s), "active": s == step} for s, label in STEPS],
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None,
        "prev_url": _step_url(bid, STEP_NAMES[index - 1]) if index > 0 else None,
    }
    return render(request, f"projects/challenges/bidder/edit_{step}.html", context)


# ---- the bid's page ----------------------------------------------------------------------------------------


@portal_user_required
def bid_detail(request, pk):
    user = request.user
    bid = selectors.bid_for_bidder(user, pk)
    challenge = bid.challenge
    may_edit = user.has_perm("projects.edit_bid_obj", bid)
    workflow = services.BID_WORKFLOW
    project = None
    if bid.state == B.WON:
        try:
            project = bid.project
        except Project.DoesNotExist:
            project = None
    total = _milestone_total(bid)
    context = {
        "bid": bid,
        "challenge": challenge,
        "targets": list(challenge.targets.order_by("position", "id")),
        "milestone_total": total,
        "problems": services.bid_problems(bid) if bid.state == B.DRAFT else [],
        "commitment": BIDDER_COMMITMENT,
        "project": project,
        "events": activity_selectors.history(bid, workflow),
        "can_edit": bid.state in Bid.EDITABLE_STATES and may_edit,
        "can_submit": workflow.allowed("submit", bid.state) and may_edit,
        "can_withdraw": workflow.allowed("withdraw", bid.state) and may_edit
        and (bid.state == B.DRAFT or challenge.state == Challenge.State.PUBLISHED),
    }
    return render(request, "projects/challenges/bidder/bid_detail.html", context)


# ---- transitions -------------------------------------------------------------------------------------------


@portal_user_required
@require_POST
def bid_submit(request, pk):
    bid = selectors.bid_for_bidder(request.user, pk)
    form = CommitmentForm(request.POST)
    accepted = form.is_valid() and form.cleaned_data["accept_commitment"]
    try:
        bid = services.submit_bid(actor=request.user, bid_id=bid.pk, accept_commitment=accepted)
    except DomainError as e:
        error_messages(request, e)
    else:
        messages.success(request, _("揭榜方案已提交，方案编号：%(no)s。揭榜截止后由科技局组织评审。") % {"no": bid.number})
    return _detail(bid)


@portal_user_required
@require_POST
def bid_withdraw(request, pk):
    bid = selectors.bid_for_bidder(request.user, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_bid(actor=request.user, bid_id=bid.pk, reason=reason)
    except DomainError as e:
        error_messages(request, e)
    else:
        messages.success(request, _("揭榜方案已撤回。揭榜截止前可重新揭榜。"))
    return _detail(bid)
