"""The bureau's 揭榜挂帅 pages: every need that reached the bureau, its vetting and publication, the 榜单's
lifecycle, 答疑, 答辩 scores, and the winners' projects (milestone checks, 赛马制 stops, final acceptance).

Officers (and superusers) act; supervisors (局领导) read; everybody else gets 404. Every POST calls one service; a
refusal (DomainError) is shown as an error message on the page, with the form as it was typed, and changes
nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.exceptions import DomainError
from accounts.workflow import object_history

from .. import selectors, services
from ..forms_office import (
    AnswerForm,
    ConcludeForm,
    DefenceScoresForm,
    DismissForm,
    EmptyForm,
    ExtendForm,
    OfficeFilterForm,
    OpinionForm,
    PublishForm,
    ReasonForm,
    RepublishForm,
    StopForm,
)
from ..models import Bid, Challenge, ChallengeAcceptance, ChallengeQuestion, ProjectMilestone
from .public import annotate_countdown

PAGE_SIZE = 20
MANAGE = "projects.manage_challenges"
VIEW = "projects.view_challenges_bureau"

CH = Challenge.State

# ---- access --------------------------------------------------------------------------------------------


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise Http404


def _challenge(request, pk, perm: str = VIEW) -> Challenge:
    _require(request.user, perm)
    return selectors.challenge_for_bureau(request.user, pk)


def _project(request, pk, perm: str = VIEW):
    _require(request.user, perm)
    return selectors.challenge_project_for(request.user, pk)


def _flash(request, errors) -> None:
    for message in errors:
        messages.error(request, message)


def _form_messages(form) -> list[str]:
    out = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        out.extend(f"{label}：{m}" if label else str(m) for m in errors)
    return out


# ---- the list ------------------------------------------------------------------------------------------


@login_required
@require_GET
def challenge_list(request):
    user = request.user
    _require(user, VIEW)
    form = OfficeFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    qs = selectors.challenges_for_bureau(user, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    annotate_countdown(page.object_list, timezone.now())
    counts = dict(selectors.challenges_for_bureau(user).order_by().values_list("state").annotate(n=Count("id")))
    return render(request, "projects/challenges/office/challenge_list.html", {
        "form": form, "page": page, "challenges": page.object_list,
        "filtered": any(filters.values()) if filters else False,
        "state_counts": [(value, label, counts.get(value, 0)) for value, label in CH.choices
                         if value != CH.DRAFT or counts.get(value)],
        "total": sum(counts.values()),
        "current_state": filters.get("state", "") if filters else "",
    })


# ---- one challenge -------------------------------------------------------------------------------------


#: action name → (form class, label, the states it is offered in, button style)
ACTIONS = {
    "start_vetting": (OpinionForm, gettext_lazy("开始论证"), (CH.SUBMITTED,), "primary"),
    "publish": (PublishForm, gettext_lazy("发榜"), (CH.VETTING,), "success"),
    "return": (ReasonForm, gettext_lazy("退回修改"), (CH.SUBMITTED, CH.VETTING), "warning"),
    "reject": (ReasonForm, gettext_lazy("论证不通过"), (CH.SUBMITTED, CH.VETTING), "danger"),
    "extend": (ExtendForm, gettext_lazy("延期"), (CH.PUBLISHED,), "primary"),
    "close": (EmptyForm, gettext_lazy("截止揭榜"), (CH.PUBLISHED,), "secondary"),
    "start_review": (EmptyForm, gettext_lazy("开始评审"), (CH.CLOSED,), "primary"),
    "fail": (ReasonForm, gettext_lazy("流标"), (CH.CLOSED, CH.REVIEWING), "danger"),
    "republish": (RepublishForm, gettext_lazy("重新发榜"), (CH.FAILED,), "success"),
    "cancel": (ReasonForm, gettext_lazy("撤榜"), (CH.PUBLISHED, CH.CLOSED, CH.REVIEWING), "danger"),
}

#: which expert round the officer may organise in each state
ROUND_KIND = {CH.VETTING: "need", CH.REVIEWING: "bid", CH.AWARDED: "milestone"}


def _initial(action: str, challenge: Challenge) -> dict:
    if action == "publish":
        return {"max_winners": challenge.max_winners, "defence_weight": challenge.defence_weight,
                "opinion": challenge.vetting_opinion}
    if action == "republish":
        return {"max_winners": challenge.max_winners, "defence_weight": challenge.defence_weight}
    return {}


def _action_forms(challenge: Challenge, bound: dict) -> list[dict]:
    forms = []
    for name, (form_class, label, states, style) in ACTIONS.items():
        if challenge.state not in states:
            continue
        form = bound.get(name) or form_class(initial=_initial(name, challenge), prefix=name)
        forms.append({"name": name, "label": label, "form": form, "style": style,
                      "url": reverse("jiebang_office:action", args=[challenge.pk, name])})
    return forms


def _reviewing_bids(bids: list[Bid], challenge: Challenge) -> list[Bid]:
    return [b for b in bids if b.bid_round == challenge.bid_round and b.state == Bid.State.REVIEWING]


def _render_detail(request, challenge: Challenge, *, bound: dict | None = None, defence_form=None, status=200):
    user = request.user
    bound = bound or {}
    can_manage = user.has_perm(MANAGE)
    bids = list(selectors.bids_for_bureau(user, challenge))
    show_defence = can_manage and challenge.has_defence and challenge.state == CH.REVIEWING
    if show_defence and defence_form is None:
        defence_form = DefenceScoresForm(bids=_reviewing_bids(bids, challenge))
    questions = list(selectors.questions_for(user, challenge))
    projects = list(selectors.projects_of_challenge(challenge)) if challenge.state == CH.AWARDED else []
    kind = ROUND_KIND.get(challenge.state)
    round_url = (f"{reverse('experts:round_create')}?challenge={challenge.pk}&kind={kind}"
                 if kind and can_manage else "")
    return render(request, "projects/challenges/office/challenge_detail.html", {
        "challenge": challenge,
        "targets": list(challenge.targets.all()),
        "can_manage": can_manage,
        "actions": _action_forms(challenge, bound) if can_manage else [],
        "open_action": next(iter(bound), ""),
        "round_url": round_url,
        "round_kind": kind,
        "rounds": list(challenge.review_rounds.order_by("-created_at", "-id")),
        "bids": bids,
        "defence_form": defence_form if show_defence else None,
        "questions": questions,
        "open_questions": sum(1 for q in questions if q.state == ChallengeQuestion.State.OPEN),
        "projects": projects,
        "events": object_history(challenge, services.CHALLENGE_WORKFLOW),
        "problems": services.challenge_problems(challenge) if challenge.state in (CH.SUBMITTED, CH.VETTING) else [],
    }, status=status)


@login_required
@require_GET
def challenge_detail(request, pk):
    return _render_detail(request, _challenge(request, pk))


def _run_action(user, challenge: Challenge, action: str, data: dict) -> str:
    """Call the action's service; return the success message."""
    pk = challenge.pk
    if action == "start_vetting":
        services.start_vetting(actor=user, challenge_id=pk, opinion=data["opinion"])
        return _("已受理，进入论证。可组织专家论证后发榜。")
    if action == "return":
        services.return_challenge(actor=user, challenge_id=pk, reason=data["reason"])
        return _("已退回发榜单位修改。")
    if action == "reject":
        services.reject_challenge(actor=user, challenge_id=pk, reason=data["reason"])
        return _("已作出论证不通过的决定，并通知发榜单位。")
    if action == "publish":
        c = services.publish_challenge(actor=user, challenge_id=pk, program_id=data["program"].pk,
                                       bid_deadline=data["bid_deadline"], max_winners=data["max_winners"],
                                       defence_weight=data["defence_weight"], opinion=data["opinion"])
        return _("榜单已发布，揭榜截止时间 %(d)s。") % {"d": f"{timezone.localtime(c.bid_deadline):%Y-%m-%d %H:%M}"}
    if action == "extend":
        c = services.extend_bid_deadline(actor=user, challenge_id=pk, bid_deadline=data["bid_deadline"],
                                         reason=data["reason"])
        return _("揭榜截止时间已延至 %(d)s。") % {"d": f"{timezone.localtime(c.bid_deadline):%Y-%m-%d %H:%M}"}
    if action == "close":
        services.close_challenge(actor=user, challenge_id=pk)
        return _("已截止揭榜。")
    if action == "start_review":
        services.start_review(actor=user, challenge_id=pk)
        return _("已开始评审：本轮已提交的揭榜方案进入评审，可组织专家评审。")
    if action == "fail":
        services.fail_challenge(actor=user, challenge_id=pk, reason=data["reason"])
        return _("已办理流标，本轮揭榜方案作废。可重新发榜。")
    if action == "republish":
        c = services.republish_challenge(actor=user, challenge_id=pk, bid_deadline=data["bid_deadline"],
                                         max_winners=data["max_winners"], defence_weight=data["defence_weight"],
                                         opinion=data["opinion"])
        return _("已重新发榜（第%(r)d轮）。") % {"r": c.bid_round}
    if action == "cancel":
        services.cancel_challenge(actor=user, challenge_id=pk, reason=data["reason"])
        return _("已撤榜，未结束的揭榜方案作废。")
    raise Http404


@login_required
@require_POST
def challenge_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    challenge = _challenge(request, pk, MANAGE)
    form_class = ACTIONS[action][0]
    form = form_class(request.POST, prefix=action)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_detail(request, challenge, bound={action: form}, status=400)
    try:
        message = _run_action(request.user, challenge, action, form.cleaned_data)
    except DomainError as e:
        _flash(request, e.messages)
        challenge = _challenge(request, pk, MANAGE)
        return _render_detail(request, challenge, bound={action: form}, status=409 if e.http_status == 409 else 400)
    messages.success(request, message)
    return redirect("jiebang_office:detail", challenge.pk)


@login_required
@require_POST
def defence_scores(request, pk):
    challenge = _challenge(request, pk, MANAGE)
    bids = _reviewing_bids(list(selectors.bids_for_bureau(request.user, challenge)), challenge)
    form = DefenceScoresForm(request.POST, bids=bids)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_detail(request, challenge, defence_form=form, status=400)
    try:
        services.record_defence_scores(actor=request.user, challenge_id=challenge.pk, scores=form.scores())
    except DomainError as e:
        _flash(request, e.messages)
        return redirect(reverse("jiebang_office:detail", args=[challenge.pk]) + "#bids")
    messages.success(request, _("答辩成绩已保存，综合得分已重新计算。"))
    return redirect(reverse("jiebang_office:detail", args=[challenge.pk]) + "#bids")


# ---- 答疑 -----------------------------------------------------------------------------------------------


def _question(request, pk) -> ChallengeQuestion:
    _require(request.user, MANAGE)
    return get_object_or_404(
        ChallengeQuestion.objects.filter(challenge__in=selectors.challenges_for_bureau(request.user).values("pk")),
        pk=pk)


def _question_back(q: ChallengeQuestion) -> str:
    return reverse("jiebang_office:detail", args=[q.challenge_id]) + "#qa"


@login_required
@require_POST
def question_answer(request, pk):
    q = _question(request, pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return redirect(_question_back(q))
    try:
        services.answer_question(actor=request.user, question_id=q.pk, answer=form.cleaned_data["answer"])
    except DomainError as e:
        _flash(request, e.messages)
    else:
        messages.success(request, _("答复已公开在榜单答疑栏，并通知提问人。"))
    return redirect(_question_back(q))


@login_required
@require_POST
def question_dismiss(request, pk):
    q = _question(request, pk)
    form = DismissForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return redirect(_question_back(q))
    try:
        services.dismiss_question(actor=request.user, question_id=q.pk, reason=form.cleaned_data["reason"])
    except DomainError as e:
        _flash(request, e.messages)
    else:
        messages.success(request, _("该问题不予公开。"))
    return redirect(_question_back(q))


# ---- the winners' projects -----------------------------------------------------------------------------


def _render_project(request, project, *, conclude_forms=None, stop_form=None, acceptance_form=None, status=200):
    user = request.user
    can_manage = user.has_perm(MANAGE)
    milestones = list(project.milestones.all())
    conclude_forms = conclude_forms or {}
    running = project.state == project.State.ESTABLISHED
    rows = []
    for m in milestones:
        form = None
        if can_manage and running and m.state == ProjectMilestone.State.REPORTED and m.poster_verdict:
            form = conclude_forms.get(m.pk) or ConcludeForm(prefix=f"m{m.pk}")
        rows.append({"m": m, "form": form})
    acceptance = selectors.acceptance_of(project)
    show_stop = can_manage and running and project.challenge.is_race
    if show_stop and stop_form is None:
        stop_form = StopForm(milestones=milestones)
    show_acceptance_form = (can_manage and acceptance is not None
                            and acceptance.state == ChallengeAcceptance.State.JUDGED)
    if show_acceptance_form and acceptance_form is None:
        acceptance_form = ConcludeForm(prefix="acc")
    return render(request, "projects/challenges/office/project_detail.html", {
        "project": project,
        "challenge": project.challenge,
        "milestones": rows,
        "acceptance": acceptance,
        "can_manage": can_manage,
        "stop_form": stop_form if show_stop else None,
        "acceptance_form": acceptance_form if show_acceptance_form else None,
        "events": object_history(project, services.PROJECT_WORKFLOW),
    }, status=status)


@login_required
@require_GET
def project_detail(request, pk):
    return _render_project(request, _project(request, pk))


def _project_back(project_id) -> str:
    return reverse("jiebang_office:project", args=[project_id])


@login_required
@require_POST
def milestone_conclude(request, pk):
    _require(request.user, MANAGE)
    milestone = get_object_or_404(
        ProjectMilestone.objects.filter(project__in=selectors.challenge_projects_visible_to(request.user).values("pk")),
        pk=pk)
    project = _project(request, milestone.project_id, MANAGE)
    form = ConcludeForm(request.POST, prefix=f"m{milestone.pk}")
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_project(request, project, conclude_forms={milestone.pk: form}, status=400)
    try:
        services.conclude_milestone(actor=request.user, milestone_id=milestone.pk, passed=form.is_passed,
                                    conclusion=form.cleaned_data["conclusion"])
    except DomainError as e:
        _flash(request, e.messages)
        return _render_project(request, _project(request, project.pk, MANAGE), conclude_forms={milestone.pk: form},
                               status=400)
    messages.success(request, _("里程碑考核结论已保存，并通知承担单位。"))
    return redirect(_project_back(project.pk))


@login_required
@require_POST
def project_stop(request, pk):
    project = _project(request, pk, MANAGE)
    form = StopForm(request.POST, milestones=list(project.milestones.all()))
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_project(request, project, stop_form=form, status=400)
    try:
        services.stop_project(actor=request.user, project_id=project.pk, milestone_id=form.cleaned_data["milestone"],
                              reason=form.cleaned_data["reason"])
    except DomainError as e:
        _flash(request, e.messages)
        return _render_project(request, _project(request, pk, MANAGE), stop_form=form, status=400)
    messages.success(request, _("该团队已终止，未完成的里程碑已取消。"))
    return redirect(_project_back(project.pk))


@login_required
@require_POST
def acceptance_conclude(request, pk):
    project = _project(request, pk, MANAGE)
    form = ConcludeForm(request.POST, prefix="acc")
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_project(request, project, acceptance_form=form, status=400)
    try:
        services.conclude_acceptance(actor=request.user, project_id=project.pk, passed=form.is_passed,
                                     conclusion=form.cleaned_data["conclusion"])
    except DomainError as e:
        _flash(request, e.messages)
        return _render_project(request, _project(request, pk, MANAGE), acceptance_form=form, status=400)
    messages.success(request, _("验收结论已确认，项目已结束。"))
    return redirect(_project_back(project.pk))
