"""The expert portal: registration, profile, invitations with the 承诺书, the review form, history.

Every object comes from a selector scoped to the user (experts.selectors): an invitation that is not the
user's, or an application whose invitation the user has not accepted, is a 404. Every write goes through
experts.services; a DomainError becomes a form error or a message and changes nothing.

The review page shows what the round's kind reviews: an application, a project's 中期报告 or 验收申请, or for 揭榜挂帅
a need, a bid or a project's milestone (``selectors.review_material``); a blind round hides whoever is behind it.
"""

import os
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.exceptions import DomainError
from accounts.network import client_ip
from activity.context import current_ip
from projects.models import BudgetLine, PerformanceTarget
from projects.services import budget_summary
from projects.views.applicant import plain_number
from projects.views.files import file_download

from .. import selectors
from ..forms_expert import (
    AcceptForm,
    DeclineForm,
    ExpertProfileForm,
    ExpertRegisterForm,
    InvitationFilterForm,
    RelationForm,
    ReviewForm,
    UnavailabilityForm,
)
from ..models import Assignment, Expert, ReviewRound
from ..services import pool, reviews

PAGE_SIZE = 20
#: how many pending invitations and open tasks the dashboard lists (the counts cover all of them)
DASHBOARD_ROWS = 10

AS = Assignment.State


def _expert_or_404(user) -> Expert:
    expert = selectors.expert_of(user)
    if expert is None:
        raise Http404
    return expert


def _add_errors(form, error: DomainError) -> None:
    for message in error.messages:
        form.add_error(None, message)


def _ip(request) -> str | None:
    return current_ip.get() or client_ip(request)


# ---- dashboard ----------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    user = request.user
    expert = selectors.expert_of(user)
    if expert is None:
        # the only way in for someone who is not yet an expert
        return render(request, "experts/expert/dashboard_unregistered.html")
    qs = selectors.assignments_for_expert(user)
    counts = qs.order_by().aggregate(
        invited=Count("id", filter=Q(state=AS.INVITED)),
        accepted=Count("id", filter=Q(state=AS.ACCEPTED)),
        submitted=Count("id", filter=Q(state=AS.SUBMITTED)),
    )
    now = timezone.now()
    tasks = list(qs.filter(state=AS.ACCEPTED).order_by("round__review_deadline", "id")[:DASHBOARD_ROWS])
    for t in tasks:
        t.overdue = t.review_due < now
    pending = list(qs.filter(state=AS.INVITED).order_by("respond_by", "id")[:DASHBOARD_ROWS])
    return render(request, "experts/expert/dashboard.html", {
        "expert": expert,
        "counts": {k: v or 0 for k, v in counts.items()},
        "tasks": tasks,
        "pending": pending,
        "now": now,
    })


# ---- registration and profile ---------------------------------------------------------------------------


@login_required
def register(request):
    user = request.user
    if selectors.expert_of(user) is not None:
        messages.info(request, _("您已登记为评审专家。"))
        return redirect("experts:profile")
    form = ExpertRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pool.register_expert(user=user, data=form.service_data())
        except DomainError as e:
            _add_errors(form, e)
        else:
            messages.success(request, _("专家登记已提交，请等待科技局业务处室审核入库。"))
            return redirect("experts:profile")
    return render(request, "experts/expert/register.html", {"form": form})


def _profile_page(request, expert, *, profile_form=None, unavailability_form=None, relation_form=None):
    return render(request, "experts/expert/profile.html", {
        "expert": expert,
        "profile_form": profile_form or ExpertProfileForm(initial=ExpertProfileForm.initial_for(expert)),
        "unavailability_form": unavailability_form or UnavailabilityForm(),
        "relation_form": relation_form or RelationForm(),
        "unavailabilities": list(expert.unavailabilities.order_by("start_date", "id")),
        "relations": list(expert.relations.order_by("id")),
        "today": timezone.localdate(),
    })


@login_required
def profile(request):
    user = request.user
    expert = _expert_or_404(user)
    if request.method == "POST":
        form = ExpertProfileForm(request.POST)
        if form.is_valid():
            try:
                pool.update_expert_profile(actor=user, expert_id=expert.pk, data=form.service_data())
            except DomainError as e:
                _add_errors(form, e)
            else:
                messages.success(request, _("专家信息已保存。"))
                return redirect("experts:profile")
        return _profile_page(request, expert, profile_form=form)
    return _profile_page(request, expert)


@login_required
@require_POST
def unavailability_add(request):
    user = request.user
    expert = _expert_or_404(user)
    form = UnavailabilityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            pool.add_unavailability(actor=user, expert_id=expert.pk, start_date=data["start_date"],
                                    end_date=data["end_date"], reason=data["reason"])
        except DomainError as e:
            _add_errors(form, e)
        else:
            messages.success(request, _("已添加不可参评时段。"))
            return redirect("experts:profile")
    return _profile_page(request, expert, unavailability_form=form)


@login_required
@require_POST
def unavailability_remove(request, pk):
    user = request.user
    expert = _expert_or_404(user)
    obj = expert.unavailabilities.filter(pk=pk).first()
    if obj is None:
        raise Http404
    try:
        pool.remove_unavailability(actor=user, unavailability_id=obj.pk)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("已删除不可参评时段 %(period)s。") % {"period": obj})
    return redirect("experts:profile")


@login_required
@require_POST
def relation_add(request):
    user = request.user
    expert = _expert_or_404(user)
    form = RelationForm(request.POST)
    if form.is_valid():
        try:
            pool.declare_relation(actor=user, expert_id=expert.pk, data=form.cleaned_data)
        except DomainError as e:
            _add_errors(form, e)
        else:
            messages.success(request, _("已申报利益关系，涉及的评审将自动回避。"))
            return redirect("experts:profile")
    return _profile_page(request, expert, relation_form=form)


@login_required
@require_POST
def relation_withdraw(request, pk):
    user = request.user
    expert = _expert_or_404(user)
    rel = expert.relations.filter(pk=pk).first()
    if rel is None:
        raise Http404
    try:
        pool.withdraw_relation(actor=user, relation_id=rel.pk)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("已撤回利益关系申报：%(rel)s。") % {"rel": rel})
    return redirect("experts:profile")


# ---- invitations ----------------------------------------------------------------------------------------


@login_required
def invitations(request):
    user = request.user
    _expert_or_404(user)
    filter_form = InvitationFilterForm(request.GET or None)
    qs = selectors.assignments_for_expert(user)
    state = filter_form.cleaned_data.get("state") if filter_form.is_valid() else ""
    if state:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "experts/expert/invitations.html", {
        "page": page, "filter_form": filter_form, "state": state, "now": timezone.now(),
    })


@login_required
def invitation_detail(request, pk):
    user = request.user
    a = selectors.invitation_for_expert(user, pk)
    accept_form, decline_form = AcceptForm(), DeclineForm()
    if request.method == "POST":
        if a.state != AS.INVITED:
            messages.error(request, _("该邀请当前状态为“%(state)s”，不能再答复。") % {"state": a.get_state_display()})
            return redirect("experts:invitation", pk=a.pk)
        action = request.POST.get("action")
        if action == "accept":
            accept_form = AcceptForm(request.POST)
            if accept_form.is_valid():
                try:
                    reviews.accept_invitation(
                        actor=user, assignment_id=a.pk, confirmed=accept_form.cleaned_data["confirmed"],
                        ip=_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    )
                except DomainError as e:
                    _add_errors(accept_form, e)
                else:
                    messages.success(request, _("已接受评审邀请并签署评审承诺书，现在可以查阅材料并评分。"))
                    return redirect("experts:review", pk=a.pk)
        elif action == "decline":
            decline_form = DeclineForm(request.POST)
            if decline_form.is_valid():
                try:
                    reviews.decline_invitation(actor=user, assignment_id=a.pk,
                                               reason=decline_form.cleaned_data["reason"])
                except DomainError as e:
                    _add_errors(decline_form, e)
                else:
                    messages.success(request, _("已谢绝评审邀请。感谢您的答复。"))
                    return redirect("experts:invitations")
        else:
            messages.error(request, _("请选择接受或谢绝。"))
    return render(request, "experts/expert/invitation_detail.html", {
        "a": a,
        "round": a.round,
        "item": a.item,
        "accept_form": accept_form,
        "decline_form": decline_form,
        "commitment_text": reviews.commitment_text(),
        "expired": a.state == AS.INVITED and timezone.now() > a.respond_by,
    })


# ---- the review task ------------------------------------------------------------------------------------


def _targets(app):
    return [{"kind": t.get_kind_display(), "indicator": t.indicator, "value": plain_number(t.target_value),
             "unit": t.unit} for t in app.targets.all()]


def _attachment_name(attachment, blind: bool) -> str:
    """In a blind round the uploaded file name (which may name the applicant) is replaced by the kind."""
    if not blind:
        return attachment.original_name
    ext = os.path.splitext(attachment.original_name or "")[1][:10]
    return f"{attachment.get_kind_display()}-{attachment.pk}{ext}"


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def checkpoint_context(report) -> dict:
    """What the review page of a 中期报告 / 验收申请 shows: each target with its target and reported value, and the
    spending by category against the budget, with totals (the report's rows are stored as strings)."""
    kinds = dict(PerformanceTarget.Kind.choices)
    targets = [{"kind": kinds.get(t.get("kind"), t.get("kind") or ""), "indicator": t.get("indicator", ""),
                "target_value": t.get("target_value", ""), "unit": t.get("unit", ""), "value": t.get("value", ""),
                "evidence": t.get("evidence", "")} for t in report.targets]
    labels = dict(BudgetLine.Category.choices)
    zero = Decimal("0.00")
    spending, totals = [], {"budget_fiscal": zero, "budget_self": zero, "fiscal": zero, "self": zero}
    for row in report.spending:
        values = {key: _decimal(row.get(key)) for key in totals}
        for key, value in values.items():
            totals[key] += value or zero
        spending.append({"category": labels.get(row.get("category"), row.get("category", "")), **values})
    totals["budget"] = totals["budget_fiscal"] + totals["budget_self"]
    totals["spent"] = totals["fiscal"] + totals["self"]
    return {"targets": targets, "spending": spending, "totals": totals,
            "fiscal_rate": (totals["fiscal"] / totals["budget_fiscal"] * 100).quantize(Decimal("0.1"))
            if totals["budget_fiscal"] else None}


@login_required
def review(request, pk):
    user = request.user
    a = selectors.review_task_for_expert(user, pk)
    material = selectors.review_material(a)
    rnd = a.round
    blind = rnd.blind
    criteria = list(rnd.criteria.all())
    existing = selectors.review_of(a)
    editable = a.state == AS.ACCEPTED and rnd.state == ReviewRound.State.REVIEWING
    if request.method == "POST":
        if not editable:
            messages.error(request, _("该评审任务当前状态为“%(state)s”，不能修改评分。") % {"state": a.get_state_display()})
            return redirect("experts:review", pk=a.pk)
        form = ReviewForm(request.POST, criteria=criteria, kind=rnd.kind)
        if form.is_valid():
            args = form.service_args()
            try:
                if request.POST.get("action") == "submit":
                    reviews.submit_review(actor=user, assignment_id=a.pk, **args)
                else:
                    reviews.save_review(actor=user, assignment_id=a.pk, **args)
            except DomainError as e:
                _add_errors(form, e)
            else:
                if request.POST.get("action") == "submit":
                    messages.success(request, _("评审意见已提交，不能再修改。感谢您的评审。"))
                else:
                    messages.success(request, _("草稿已保存。提交前可继续修改。"))
                return redirect("experts:review", pk=a.pk)
    else:
        form = ReviewForm(initial=ReviewForm.initial_for(existing), criteria=criteria, kind=rnd.kind)
    scores = {s.criterion_id: s.score for s in existing.scores.all()} if existing else {}
    context = {
        "a": a,
        "round": rnd,
        "item": a.item,
        "blind": blind,
        "form": form,
        "editable": editable,
        "review": existing,
        "scored": [(c, scores.get(c.pk)) for c in criteria],
        "overdue": a.state == AS.ACCEPTED and timezone.now() > a.review_due,
    }
    if rnd.kind in ReviewRound.CHECKPOINT_KINDS:
        # a project's 中期报告 or 验收申请, its files downloadable (under a neutral name in a blind round)
        for att in material.review_attachments:
            att.display_name = _attachment_name(att, blind)
        return render(request, "experts/expert/review_checkpoint.html", {
            **context, "kind": rnd.kind, "report": material, "project": material.project,
            **checkpoint_context(material)})
    if rnd.kind != ReviewRound.Kind.APPLICATION:
        # 揭榜挂帅: a need (论证), a bid (方案评审) or a project's milestone (里程碑考核)
        return render(request, "experts/expert/review_challenge.html", {**context, "kind": rnd.kind,
                                                                        "subject": material})
    for att in material.review_attachments:
        att.display_name = _attachment_name(att, blind)
    return render(request, "experts/expert/review.html", {
        **context, "app": material, "budget": budget_summary(material), "targets": _targets(material),
    })


@login_required
def review_attachment(request, pk, attachment_pk):
    a, attachment = selectors.review_attachment_for_expert(request.user, pk, attachment_pk)
    return file_download(attachment.file, filename=_attachment_name(attachment, a.round.blind),
                         content_type=attachment.content_type)


@login_required
def review_checkpoint_attachment(request, pk, attachment_pk):
    """A file of the 中期报告 / 验收申请 under review: for the assigned expert who accepted, and nobody else."""
    a, attachment = selectors.checkpoint_attachment_for_expert(request.user, pk, attachment_pk)
    return file_download(attachment.file, filename=_attachment_name(attachment, a.round.blind),
                         content_type=attachment.content_type)


# ---- history --------------------------------------------------------------------------------------------


@login_required
def history(request):
    user = request.user
    _expert_or_404(user)
    page = Paginator(selectors.submitted_reviews_for_expert(user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "experts/expert/history.html", {"page": page})
