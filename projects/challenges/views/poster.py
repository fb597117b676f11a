"""The poster's pages (发榜单位): its needs, the two-step need form, submitting with the 发榜承诺, 答疑 answers,
and once the bids are under review, confirming the winners (or 流标).

Every need comes from ``selectors.need_for_poster`` (another organisation's need is a 404, GET or POST); every
write goes through ``projects.challenges.services``, whose DomainError becomes a form error or a message and
changes nothing.
"""

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

from ...views.applicant import portal_user_required
from .. import selectors, services
from ..forms import AnswerForm, AwardForm, CommitmentForm, NeedForm, NeedTargetFormSet, ReasonForm
from ..models import Bid, Challenge, ChallengeQuestion

PAGE_SIZE = 20
CH = Challenge.State

STEPS = [
    ("basic", gettext_lazy("需求信息")),
    ("targets", gettext_lazy("技术指标")),
]
STEP_NAMES = [s for s, _label in STEPS]

#: 发榜承诺: what the poster's organisation commits to when it submits the need
POSTER_COMMITMENT = [
    gettext_lazy("企业出资按期足额到位，与政府补助共同用于揭榜项目攻关；"),
    gettext_lazy("配合科技局组织里程碑考核和最终验收，按时对各阶段成果作出评价；"),
    gettext_lazy("接受经专家评审、答辩和科技局确认的揭榜结果，不得无故拒绝入选团队；"),
    gettext_lazy("所填需求真实，技术指标可考核，不以发榜名义变相获取政府资金。"),
]


def error_messages(request, error: DomainError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _step_url(need, step):
    return reverse("challenges:need_edit", kwargs={"pk": need.pk, "step": step})


def _detail(need):
    return redirect("challenges:need_detail", pk=need.pk)


# ---- list --------------------------------------------------------------------------------------------------


@portal_user_required
def need_list(request):
    page = Paginator(selectors.needs_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/challenges/poster/need_list.html",
                  {"page": page, "needs": page.object_list,
                   "can_post": request.user.has_perm("projects.post_challenge")})


# ---- the two-step form -------------------------------------------------------------------------------------


def _steps(need, current):
    return [{"name": s, "label": label, "url": _step_url(need, s) if need else None, "active": s == current}
            for s, label in STEPS]


def _render_step(request, need, step, extra):
    index = STEP_NAMES.index(step)
    context = {
        "need": need,
        "step": step,
        "step_label": dict(STEPS)[step],
        "steps": _steps(need, step),
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None,
        "prev_url": _step_url(need, STEP_NAMES[index - 1]) if need and index > 0 else None,
        **extra,
    }
    return render(request, f"projects/challenges/poster/edit_{step}.html", context)


def _after_save(request, need, step):
    messages.success(request, _("已保存。"))
    if request.POST.get("action") == "next":
        index = STEP_NAMES.index(step)
        if index + 1 < len(STEP_NAMES):
            return redirect(_step_url(need, STEP_NAMES[index + 1]))
        return _detail(need)
    return redirect(_step_url(need, step))


@portal_user_required
@require_http_methods(["GET", "POST"])
def need_create(request):
    if not request.user.has_perm("projects.post_challenge"):
        raise Http404
    form = NeedForm(request.POST or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            need = services.create_challenge(actor=request.user, data=form.service_data())
        except DomainError as e:
            errors = e.messages
        else:
            messages.success(request, _("已创建需求草稿，请继续填写技术指标。"))
            return redirect(_step_url(need, "targets"))
    return _render_step(request, None, "basic", {"form": form, "domain_errors": errors})


def _step_basic(request, need):
    form = NeedForm(request.POST or None, instance=need)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.update_challenge(actor=request.user, challenge_id=need.pk, data=form.service_data())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, need, "basic")
    return {"form": form, "domain_errors": errors}


def _step_targets(request, need):
    initial = [{"name": t.name, "target_value": t.target_value, "unit": t.unit, "verification": t.verification}
               for t in need.targets.all()]
    formset = NeedTargetFormSet(request.POST or None, initial=initial, prefix="targets")
    errors = []
    if request.method == "POST" and formset.is_valid():
        try:
            services.set_challenge_targets(actor=request.user, challenge_id=need.pk, targets=formset.rows())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, need, "targets")
    return {"formset": formset, "domain_errors": errors}


STEP_HANDLERS = {"basic": _step_basic, "targets": _step_targets}


@portal_user_required
@require_http_methods(["GET", "POST"])
def need_edit(request, pk, step):
    need = selectors.need_for_poster(request.user, pk)
    if step not in STEP_HANDLERS:
        raise Http404
    if need.state not in Challenge.EDITABLE_STATES:
        messages.warning(request, _("需求当前状态为“%(s)s”，不能修改；如需修改请先由科技局退回。")
                         % {"s": need.get_state_display()})
        return _detail(need)
    if not request.user.has_perm("projects.edit_challenge_obj", need):
        messages.error(request, _("只有发榜单位的用户可以修改该需求。"))
        return _detail(need)
    result = STEP_HANDLERS[step](request, need)
    if not isinstance(result, dict):
        return result
    return _render_step(request, need, step, result)


# ---- the need's page ---------------------------------------------------------------------------------------


@portal_user_required
def need_detail(request, pk):
    user = request.user
    need = selectors.need_for_poster(user, pk)
    workflow = services.CHALLENGE_WORKFLOW
    may_edit = user.has_perm("projects.edit_challenge_obj", need)
    may_decide = user.has_perm("projects.decide_challenge_obj", need)
    questions = list(selectors.questions_for(user, need))
    can_answer = need.state in Challenge.PUBLIC_STATES and user.has_perm("projects.answer_question_obj", need)
    for q in questions:
        q.answer_form = AnswerForm(prefix=f"q{q.pk}") if can_answer and q.state != ChallengeQuestion.State.DISMISSED \
            else None
    bids = list(selectors.bids_for_poster(user, need))
    context = {
        "need": need,
        "targets": list(need.targets.all()),
        "problems": services.challenge_problems(need) if need.state == CH.DRAFT else [],
        "commitment": POSTER_COMMITMENT,
        "questions": questions,
        "open_questions": sum(1 for q in questions if q.state == ChallengeQuestion.State.OPEN),
        "bids": bids,
        "projects": list(selectors.projects_of_challenge(need)) if need.state == CH.AWARDED else [],
        "events": activity_selectors.history(need, workflow),
        "is_public": need.state in Challenge.PUBLIC_STATES,
        "can_edit": need.state in Challenge.EDITABLE_STATES and may_edit,
        "can_submit": workflow.allowed("submit", need.state) and may_edit,
        "can_withdraw": workflow.allowed("withdraw", need.state) and may_edit,
        "can_award": need.state == CH.REVIEWING and may_decide,
        "can_fail": need.state == CH.REVIEWING and may_decide,
        "commitment_form": CommitmentForm(),
    }
    return render(request, "projects/challenges/poster/need_detail.html", context)


# ---- transitions -------------------------------------------------------------------------------------------


@portal_user_required
@require_POST
def need_submit(request, pk):
    need = selectors.need_for_poster(request.user, pk)
    form = CommitmentForm(request.POST)
    accepted = form.is_valid() and form.cleaned_data["accept_commitment"]
    try:
        need = services.submit_challenge(actor=request.user, challenge_id=need.pk, accept_commitment=accepted)
    except DomainError as e:
        error_messages(request, e)
    else:
        messages.success(request, _("需求已提交，需求编号：%(no)s。科技局将组织论证。") % {"no": need.number})
    return _detail(need)


@portal_user_required
@require_POST
def need_withdraw(request, pk):
    need = selectors.need_for_poster(request.user, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_challenge(actor=request.user, challenge_id=need.pk, reason=reason)
    except DomainError as e:
        error_messages(request, e)
    else:
        messages.success(request, _("需求已撤回。"))
    return _detail(need)


@portal_user_required
@require_http_methods(["GET", "POST"])
def need_award(request, pk):
    user = request.user
    need = selectors.need_for_poster(user, pk)
    if need.state != CH.REVIEWING:
        messages.warning(request, _("需求当前状态为“%(s)s”，不能确认揭榜结果。") % {"s": need.get_state_display()})
        return _detail(need)
    if not user.has_perm("projects.decide_challenge_obj", need):
        messages.error(request, _("只有发榜单位可以确认揭榜结果。"))
        return _detail(need)
    candidates = [b for b in selectors.bids_for_poster(user, need) if b.state == Bid.State.REVIEWING]
    form = AwardForm(request.POST or None, bids=candidates)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            projects = services.award_challenge(actor=user, challenge_id=need.pk, bid_ids=form.cleaned_data["bids"],
                                                opinion=form.cleaned_data["opinion"])
        except DomainError as e:
            errors = e.messages
        else:
            messages.success(request, _("已确认揭榜结果，%(n)d个入选团队已立项。") % {"n": len(projects)})
            return _detail(need)
    chosen = {str(v) for v in (form["bids"].value() or [])}
    return render(request, "projects/challenges/poster/need_award.html",
                  {"need": need, "bids": candidates, "form": form, "chosen": chosen, "domain_errors": errors})


@portal_user_required
@require_POST
def need_fail(request, pk):
    need = selectors.need_for_poster(request.user, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.fail_challenge(actor=request.user, challenge_id=need.pk, reason=reason)
    except DomainError as e:
        error_messages(request, e)
    else:
        messages.success(request, _("已办理流标，本轮揭榜方案作废；科技局可重新发榜。"))
    return _detail(need)


@portal_user_required
@require_POST
def question_answer(request, pk):
    question = selectors.question_for_poster(request.user, pk)
    need = question.challenge
    form = AnswerForm(request.POST, prefix=f"q{question.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    else:
        try:
            services.answer_question(actor=request.user, question_id=question.pk, answer=form.cleaned_data["answer"])
        except DomainError as e:
            error_messages(request, e)
        else:
            messages.success(request, _("答复已公开在榜单的答疑栏。"))
    return redirect(reverse("challenges:need_detail", args=[need.pk]) + "#qa")
