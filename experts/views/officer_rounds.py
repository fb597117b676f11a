"""The bureau's pages for review rounds: set-up, draws, progress, conflicts (回避), ranking and the 立项 list.

Officers (and superusers) do everything; supervisors (局领导) see the rounds, the ranking and the 立项 list
and sign the list off or return it; everyone else gets 404. Every POST action is one small view calling one
service; a refusal (DomainError) is shown as an error message on the page the action came from.
"""

from __future__ import annotations

from collections import defaultdict
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.exceptions import DomainError
from projects.challenges.selectors import challenges_for_bureau
from projects.models import Call, Project
from projects.selectors import calls_visible_to

from .. import exports, selectors
from ..forms_rounds import (
    AmountForm,
    BuildListForm,
    ChallengeRoundCreateForm,
    CloseRoundForm,
    CriterionFormSet,
    DrawForm,
    ExpertSearchForm,
    ManualAssignForm,
    OptionalCommentForm,
    ReasonForm,
    ResolveObjectionForm,
    RoundCreateForm,
    RoundEditForm,
    criteria_from,
    default_rubric_initial,
)
from ..models import (
    Assignment,
    Draw,
    Expert,
    FundingList,
    FundingListEntry,
    Objection,
    Review,
    ReviewItem,
    ReviewRound,
)
from ..services import assign, funding, reviews, rounds

PAGE_SIZE = 20
DRAWS_PAGE_SIZE = 10
#: eligible experts listed on an item's assignment page (best match first)
CANDIDATES_SHOWN = 30
MANAGE = "experts.manage_rounds"
VIEW = "experts.view_rounds"
SIGN = "experts.sign_off_funding_list"

R = ReviewRound.State
FL = FundingList.State


# ---- access --------------------------------------------------------------------------------------


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise Http404


def _round(request, pk, perm: str = VIEW) -> ReviewRound:
    _require(request.user, perm)
    return selectors.round_for(request.user, pk)


def _item_of(rnd: ReviewRound, item_id) -> ReviewItem:
    try:
        return rnd.items.select_related("panel").get(pk=item_id)
    except (ReviewItem.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def _funding_list_of(rnd: ReviewRound) -> FundingList | None:
    return FundingList.objects.filter(round=rnd).select_related("built_by", "signed_off_by", "approved_by").first()


def _entry_of(rnd: ReviewRound, entry_id) -> FundingListEntry:
    try:
        return FundingListEntry.objects.select_related("item").get(pk=entry_id, funding_list__round=rnd)
    except (FundingListEntry.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def _required_list(rnd: ReviewRound) -> FundingList:
    fl = _funding_list_of(rnd)
    if fl is None:
        raise Http404
    return fl


def _flash_form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for message in errors:
            messages.error(request, f"{label}：{message}" if label else message)


def round_action(perm: str, back: str = "experts:round_detail"):
    """A POST action on a round: 404 unless the user has ``perm`` and sees the round; a DomainError raised by
    the action becomes an error message; the user goes back to ``back`` (a URL name taking the round id), or
    wherever the action's return value says."""

    def decorator(fn):
        @login_required
        @require_POST
        @wraps(fn)
        def view(request, pk, **kwargs):
            rnd = _round(request, pk, perm)
            target = reverse(back, args=[rnd.pk])
            try:
                result = fn(request, rnd, **kwargs)
            except DomainError as e:
                for message in e.messages:
                    messages.error(request, message)
                return redirect(target)
            return redirect(result or target)

        return view

    return decorator


# ---- list and create -----------------------------------------------------------------------------


@login_required
def round_list(request):
    _require(request.user, VIEW)
    page = Paginator(selectors.rounds_visible_to(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "experts/rounds/round_list.html", {
        "page": page, "can_manage": request.user.has_perm(MANAGE),
    })


def _round_calls(user, kind: str = ReviewRound.Kind.APPLICATION):
    calls = calls_visible_to(user).filter(state__in=[Call.State.PUBLISHED, Call.State.CLOSED])
    if kind in ReviewRound.CHECKPOINT_KINDS:
        # a checkpoint round reviews the reports of the call's running projects
        calls = calls.filter(pk__in=Project.objects.filter(state=Project.State.ESTABLISHED).values("call_id"))
    return calls.order_by("-year", "-opens_at", "-id")


#: a 揭榜 round's challenge list offers at most this many challenges in the state the kind needs
CHALLENGES_OFFERED = 200
CHALLENGE_KINDS = list(ReviewRound.CHALLENGE_KINDS)


def _round_kind(request) -> str:
    kind = request.POST.get("kind") or request.GET.get("kind") or ReviewRound.Kind.APPLICATION
    if kind not in ReviewRound.Kind.values:
        raise Http404
    return kind


def _challenge_form(request, user, kind):
    """The creation form of a 揭榜 round: ``?challenge=<id>&kind=need|bid|milestone``."""
    visible = challenges_for_bureau(user)
    offered = list(challenges_for_bureau(user, state=rounds.CHALLENGE_ROUND_STATES[kind])[:CHALLENGES_OFFERED])
    wanted = request.POST.get("challenge") or request.GET.get("challenge")
    if wanted and str(wanted).isdigit() and all(str(c.pk) != str(wanted) for c in offered):
        offered = list(visible.filter(pk=int(wanted))) + offered
    if request.method == "POST":
        return ChallengeRoundCreateForm(request.POST, challenges=visible, offered=offered)
    respond, review = rounds.default_deadlines()
    initial = {"response_deadline": respond, "review_deadline": review, "kind": kind}
    if wanted:
        initial["challenge"] = wanted
    return ChallengeRoundCreateForm(initial=initial, challenges=visible, offered=offered)


@login_required
def round_create(request):
    user = request.user
    _require(user, MANAGE)
    kind = _round_kind(request)
    if kind in ReviewRound.CALL_KINDS:
        form = None
        calls = _round_calls(user, kind)
    else:
        form = _challenge_form(request, user, kind)
    if request.method == "POST":
        if form is None:
            form = RoundCreateForm(request.POST, calls=calls)
        formset = CriterionFormSet(request.POST, prefix="criteria")
        if form.is_valid() and formset.is_valid():
            try:
                if kind in ReviewRound.CALL_KINDS:
                    rnd = rounds.create_round(actor=user, call_id=form.cleaned_data["call"].pk, kind=kind,
                                              data=form.round_data(), criteria=criteria_from(formset))
                else:
                    rnd = rounds.create_round(actor=user, challenge_id=form.cleaned_data["challenge"].pk,
                                              kind=form.cleaned_data["kind"], data=form.round_data(),
                                              criteria=criteria_from(formset))
            except DomainError as e:
                for message in e.messages:
                    form.add_error(None, message)
            else:
                nxt = {ReviewRound.Kind.APPLICATION: _("加入受理的申报书。"),
                       ReviewRound.Kind.MIDTERM: _("加入已提交的中期报告。"),
                       ReviewRound.Kind.ACCEPTANCE: _("加入已提交的验收申请。")}.get(kind, _("加入评审对象。"))
                messages.success(request, _("评审轮次“%(name)s”已创建。下一步：%(next)s") % {"name": rnd.name, "next": nxt})
                return redirect("experts:round_detail", rnd.pk)
    else:
        if form is None:
            respond, review = rounds.default_deadlines()
            initial = {"response_deadline": respond, "review_deadline": review}
            if request.GET.get("call"):
                initial["call"] = request.GET.get("call")
            form = RoundCreateForm(initial=initial, calls=calls)
        formset = CriterionFormSet(initial=default_rubric_initial(kind), prefix="criteria")
    return render(request, "experts/rounds/round_form.html", {
        "form": form, "formset": formset, "rnd": None, "kind": kind,
        "kind_label": ReviewRound.Kind(kind).label, "challenge_kinds": CHALLENGE_KINDS,
    })


@login_required
def round_edit(request, pk):
    user = request.user
    rnd = _round(request, pk, MANAGE)
    if rnd.state == R.CLOSED:
        messages.error(request, _("评审已结束，不能修改。"))
        return redirect("experts:round_detail", rnd.pk)
    if request.method == "POST":
        form = RoundEditForm(request.POST, rnd=rnd)
        if form.is_valid():
            try:
                rounds.update_round(actor=user, round_id=rnd.pk, data=form.round_data())
            except DomainError as e:
                for message in e.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("评审参数已保存。"))
                return redirect("experts:round_detail", rnd.pk)
    else:
        form = RoundEditForm(rnd=rnd)
    return render(request, "experts/rounds/round_form.html", {"form": form, "formset": None, "rnd": rnd})


@login_required
def round_criteria(request, pk):
    user = request.user
    rnd = _round(request, pk, MANAGE)
    if rnd.state != R.DRAFT:
        messages.error(request, _("评审已开始，评分指标不能再修改。"))
        return redirect("experts:round_detail", rnd.pk)
    error = None
    if request.method == "POST":
        formset = CriterionFormSet(request.POST, prefix="criteria")
        if formset.is_valid():
            try:
                rounds.set_criteria(actor=user, round_id=rnd.pk, criteria=criteria_from(formset))
            except DomainError as e:
                error = e.message
            else:
                messages.success(request, _("评分指标已保存。"))
                return redirect("experts:round_detail", rnd.pk)
    else:
        initial = [{"name": c.name, "description": c.description, "max_score": c.max_score}
                   for c in rnd.criteria.all()] or default_rubric_initial(rnd.kind)
        formset = CriterionFormSet(initial=initial, prefix="criteria")
    return render(request, "experts/rounds/round_criteria.html", {"rnd": rnd, "formset": formset, "error": error})


# ---- the round's page ------------------------------------------------------------------------------


def _draw_rows(page) -> None:
    for draw in page.object_list:
        s = draw.summary or {}
        shortfall = s.get("shortfall") or {}
        draw.shortfall_total = sum(shortfall.values()) if isinstance(shortfall, dict) else 0
        draw.replayable = assign.is_replayable(draw)


@login_required
def round_detail(request, pk):
    user = request.user
    rnd = _round(request, pk)
    can_manage = user.has_perm(MANAGE)
    draws = Paginator(selectors.draws_of(rnd).select_related("panel"), DRAWS_PAGE_SIZE).get_page(request.GET.get("draws"))
    _draw_rows(draws)
    progress = selectors.round_progress(rnd)
    page = Paginator(progress, PAGE_SIZE).get_page(request.GET.get("page"))
    by_item = defaultdict(list)
    ids = [row["item"].pk for row in page.object_list]
    for a in selectors.item_assignments(rnd).filter(item_id__in=ids):
        by_item[a.item_id].append(a)
    for row in page.object_list:
        row["assignments"] = by_item[row["item"].pk]
    panels = list(rnd.panels.all())
    criteria = list(rnd.criteria.all())
    stats = {
        "items": len(progress),
        "staffed": sum(1 for row in progress if row["missing"] == 0),
        "complete": sum(1 for row in progress if row["submitted"] >= rnd.experts_per_item),
        "submitted": sum(row["submitted"] for row in progress),
    }
    return render(request, "experts/rounds/round_detail.html", {
        "rnd": rnd,
        "can_manage": can_manage,
        "criteria": criteria,
        "criteria_total": sum((c.max_score for c in criteria), 0),
        "panels": panels,
        "draws": draws,
        "page": page,
        "stats": stats,
        "funding_list": _funding_list_of(rnd),
        "draw_form": DrawForm(panels=panels),
        "close_form": CloseRoundForm(),
        "now": timezone.now(),
    })


@login_required
def draw_verify(request, pk, draw_id):
    """复核: replay a stored random draw from its seed and candidate snapshot."""
    rnd = _round(request, pk)
    try:
        draw = selectors.draws_of(rnd).get(pk=draw_id)
    except (Draw.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    if not assign.is_replayable(draw):
        messages.info(request, _("抽取记录 #%(id)d 不是随机抽取，无需复核。") % {"id": draw.pk})
    elif assign.replay_draw(draw):
        messages.success(request, _("复核一致：以种子 %(seed)s 重新抽取，结果与抽取记录 #%(id)d 完全相同。")
                         % {"seed": draw.seed, "id": draw.pk})
    else:
        messages.error(request, _("复核不一致：以种子 %(seed)s 重新抽取的结果与抽取记录 #%(id)d 不同，请核查。")
                       % {"seed": draw.seed, "id": draw.pk})
    return redirect(reverse("experts:round_detail", args=[rnd.pk]) + "#draws")


@round_action(MANAGE)
def round_add_items(request, rnd):
    n = rounds.add_items(actor=request.user, round_id=rnd.pk)
    if rnd.kind in ReviewRound.CHECKPOINT_KINDS:
        what = _("中期报告") if rnd.kind == ReviewRound.Kind.MIDTERM else _("验收申请")
        if n:
            messages.success(request, _("已加入%(n)d份%(what)s，并按学科分组。") % {"n": n, "what": what})
        else:
            messages.info(request, _("没有可加入的%(what)s（已全部加入，或本指南的在研项目尚无已提交、待评审的%(what)s）。")
                          % {"what": what})
        return
    if rnd.kind != ReviewRound.Kind.APPLICATION:
        if n:
            messages.success(request, _("已加入%(n)d个评审对象（%(kind)s），并按学科分组。")
                             % {"n": n, "kind": rnd.get_kind_display()})
        else:
            messages.info(request, _("没有可加入的评审对象（已全部加入，或榜单当前没有符合条件的对象）。"))
        return
    if n:
        messages.success(request, _("已加入%(n)d项受理的申报书，并按学科分组。") % {"n": n})
    else:
        messages.info(request, _("没有可加入的申报书（已全部加入，或尚无受理的申报书）。"))


@round_action(MANAGE)
def round_start(request, rnd):
    rounds.start_round(actor=request.user, round_id=rnd.pk)
    messages.success(request, _("评审已开始，可以抽取专家。"))


@round_action(MANAGE)
def round_close(request, rnd):
    form = CloseRoundForm(request.POST)
    form.is_valid()
    rounds.close_round(actor=request.user, round_id=rnd.pk, reason=form.cleaned_data.get("reason") or "",
                       force=bool(form.cleaned_data.get("force")))
    if rnd.kind == ReviewRound.Kind.APPLICATION:
        messages.success(request, _("评审已结束，未完成的邀请和评审已取消。可以查看排名并编制立项清单。"))
    elif rnd.kind in ReviewRound.CHECKPOINT_KINDS:
        messages.success(request, _("评审已结束，未完成的邀请和评审已取消。专家评审得分已记入各项目的%(what)s，"
                                    "可以给出结论。") % {"what": _("中期报告") if rnd.kind == ReviewRound.Kind.MIDTERM
                                                           else _("验收申请")})
    else:
        messages.success(request, _("评审已结束，未完成的邀请和评审已取消。各评审对象的得分已回填到揭榜挂帅项目。"))


@round_action(MANAGE)
def round_draw(request, rnd):
    form = DrawForm(request.POST, panels=rnd.panels.all())
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    data = form.cleaned_data
    outcome = assign.run_draw(actor=request.user, round_id=rnd.pk, method=data["method"],
                              seed=data["seed"] if data["method"] == Draw.Method.RANDOM else None,
                              panel_id=data["panel"])
    text = _("%(method)s完成（抽取记录 #%(id)d）：邀请%(invited)d人次。") % {
        "method": outcome.draw.get_method_display(), "id": outcome.draw.pk, "invited": outcome.invited}
    if outcome.draw.seed is not None:
        text += _("随机种子 %(seed)s。") % {"seed": outcome.draw.seed}
    if outcome.shortfall:
        messages.warning(request, text + _("%(n)d个评审对象合格专家不足，共缺%(missing)d人，请人工指定。") % {
            "n": len(outcome.shortfall), "missing": sum(outcome.shortfall.values())})
    else:
        messages.success(request, text)
    return reverse("experts:round_detail", args=[rnd.pk]) + "#draws"


# ---- one item: manual assignment and reopening ------------------------------------------------------


@login_required
def round_item(request, pk, item_id):
    user = request.user
    rnd = _round(request, pk, MANAGE)
    item = _item_of(rnd, item_id)
    assignments = list(selectors.item_assignments(rnd).filter(item=item))
    el = assign.eligibility(rnd, [item])
    candidates = sorted(el.candidates[item.pk], key=lambda p: (-p[1], el.experts[p[0]].name, p[0]))
    eligible = [{"expert": el.experts[pk], "affinity": a, "capacity": el.capacity[pk]}
                for pk, a in candidates[:CANDIDATES_SHOWN]]
    excluded = sorted(((el.experts[pk], reasons) for pk, reasons in el.excluded[item.pk].items()),
                      key=lambda p: (p[0].name, p[0].pk))
    search = ExpertSearchForm(request.GET or None)
    found = []
    if search.is_valid() and search.cleaned_data["q"].strip():
        found = list(selectors.experts_visible_to(user).filter(
            status=Expert.Status.ACTIVE, name__icontains=search.cleaned_data["q"].strip())[:PAGE_SIZE])
    return render(request, "experts/rounds/round_item.html", {
        "rnd": rnd, "item": item, "assignments": assignments, "eligible": eligible,
        "eligible_total": len(candidates), "excluded": excluded, "need": el.need[item.pk],
        "search": search, "found": found, "reviewing": rnd.state == R.REVIEWING,
    })


def _item_url(rnd, item_id) -> str:
    return reverse("experts:round_item", args=[rnd.pk, item_id])


@round_action(MANAGE)
def round_assign(request, rnd, item_id):
    item = _item_of(rnd, item_id)
    form = ManualAssignForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return _item_url(rnd, item.pk)
    try:
        expert = selectors.experts_visible_to(request.user).get(pk=form.cleaned_data["expert"])
    except Expert.DoesNotExist:
        raise Http404 from None
    try:
        assign.assign_manually(actor=request.user, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)
    except DomainError as e:
        for message in e.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已指定%(name)s评审“%(item)s”，并发出邀请。") % {"name": expert.name,
                                                                            "item": item.title})
    return _item_url(rnd, item.pk)


@round_action(MANAGE)
def assignment_reopen(request, rnd, assignment_id):
    try:
        a = selectors.item_assignments(rnd).get(pk=assignment_id)
    except (Assignment.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    back = _item_url(rnd, a.item_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return back
    try:
        reviews.reopen_review(actor=request.user, assignment_id=a.pk, reason=form.cleaned_data["reason"])
    except DomainError as e:
        for message in e.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已将%(name)s的评审意见退回修改，并通知专家。") % {"name": a.expert.name})
    return back


# ---- conflicts (回避) --------------------------------------------------------------------------------


@login_required
def round_conflicts(request, pk):
    rnd = _round(request, pk)
    items = rnd.items.select_related("panel").order_by("panel__discipline_prefix", "id")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    el = assign.eligibility(rnd, list(page.object_list))
    rows = []
    for item in page.object_list:
        excluded = sorted(((el.experts[pk], reasons) for pk, reasons in el.excluded[item.pk].items()),
                          key=lambda p: (p[0].name, p[0].pk))
        rows.append({"item": item, "excluded": excluded, "eligible": len(el.candidates[item.pk]),
                     "need": el.need[item.pk]})
    return render(request, "experts/rounds/round_conflicts.html", {
        "rnd": rnd, "page": page, "rows": rows, "can_manage": request.user.has_perm(MANAGE),
    })


# ---- ranking --------------------------------------------------------------------------------------------


@login_required
def round_ranking(request, pk):
    rnd = _round(request, pk)
    rows = selectors.ranking(rnd)
    budget = selectors.ranking_budget(rnd)
    ranked = [r for r in rows if r.rank is not None]
    summary = {
        "ranked": len(ranked),
        "unscored": len(rows) - len(ranked),
        "insufficient": sum(1 for r in rows if r.insufficient),
        "dispersed": sum(1 for r in rows if r.result.dispersed),
        "deviations": sum(len(r.deviations) for r in rows),
        "within_budget": sum(1 for r in ranked if r.within_budget),
        "requested": ranked[-1].cumulative if ranked else 0,
    }
    return render(request, "experts/rounds/round_ranking.html", {
        "rnd": rnd, "rows": rows, "budget": budget, "summary": summary,
        "rec_labels": dict(Review.recommendation_choices(rnd.kind)),
        "checkpoint": rnd.kind in ReviewRound.CHECKPOINT_KINDS,
        "funding_list": _funding_list_of(rnd), "can_manage": request.user.has_perm(MANAGE),
    })


# ---- 立项清单 --------------------------------------------------------------------------------------------


@login_required
def funding_list(request, pk):
    user = request.user
    rnd = _round(request, pk)
    if rnd.kind != ReviewRound.Kind.APPLICATION:
        if rnd.kind in ReviewRound.CHECKPOINT_KINDS:
            messages.info(request, _("立项清单只适用于申报书评审；本轮的得分在评审结束时记入项目的考核报告。"))
        else:
            messages.info(request, _("立项清单只适用于申报书评审；本轮的得分在评审结束时回填到榜单。"))
        return redirect("experts:round_detail", rnd.pk)
    fl = _funding_list_of(rnd)
    entries, objections, projects = [], [], []
    count, total = 0, 0
    if fl is not None:
        entries = list(selectors.funding_list_entries(fl))
        objections = list(selectors.objections_of(fl))
        count, total = funding.list_totals(fl)
        if fl.state == FL.APPROVED:
            projects = list(Project.objects.filter(
                application_id__in=[e.item.subject_id for e in entries if e.removed_at is None]
            ).select_related("organization").order_by("number"))
    budget = rnd.call.total_budget if rnd.call_id else None
    today = timezone.localdate()
    can_manage = user.has_perm(MANAGE)
    return render(request, "experts/rounds/funding_list.html", {
        "rnd": rnd,
        "fl": fl,
        "entries": entries,
        "objections": objections,
        "open_objections": sum(1 for o in objections if o.state == Objection.State.OPEN),
        "projects": projects,
        "count": count,
        "total": total,
        "budget": budget,
        "over_budget": budget is not None and total > budget,
        "can_manage": can_manage,
        "can_sign": user.has_perm(SIGN) and fl is not None and fl.state == FL.PENDING_SIGNOFF,
        "can_build": can_manage and rnd.state == R.CLOSED and (fl is None or fl.state == FL.DRAFT),
        "publicity_open": fl is not None and selectors.publicity_open(fl),
        "publicity_over": fl is not None and fl.publicity_end is not None and today > fl.publicity_end,
        "build_form": BuildListForm(initial={
            "cutoff_score": fl.cutoff_score if fl else None,
            "publicity_workdays": fl.publicity_workdays if fl else 5,
        }),
        "resolve_form": ResolveObjectionForm(),
    })


def _list_url(rnd) -> str:
    return reverse("experts:funding_list", args=[rnd.pk])


@round_action(MANAGE, back="experts:funding_list")
def funding_build(request, rnd):
    form = BuildListForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    fl = funding.build_funding_list(actor=request.user, round_id=rnd.pk, cutoff_score=form.cleaned_data["cutoff_score"],
                                    publicity_workdays=form.cleaned_data["publicity_workdays"])
    messages.success(request, _("立项清单已编制，共%(n)d项。可调整拟立项金额或移出项目，然后提交局领导审签。")
                     % {"n": fl.entries.count()})


@round_action(MANAGE, back="experts:funding_list")
def funding_entry_amount(request, rnd, entry_id):
    entry = _entry_of(rnd, entry_id)
    form = AmountForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    funding.set_granted_amount(actor=request.user, entry_id=entry.pk, amount=form.cleaned_data["amount"])
    messages.success(request, _("“%(t)s”拟立项财政资金已调整为 %(a)s 元。") % {"t": entry.item.title,
                                                                      "a": form.cleaned_data["amount"]})
    return _list_url(rnd) + f"#entry-{entry.pk}"


@round_action(MANAGE, back="experts:funding_list")
def funding_entry_remove(request, rnd, entry_id):
    entry = _entry_of(rnd, entry_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    funding.remove_entry(actor=request.user, entry_id=entry.pk, reason=form.cleaned_data["reason"])
    messages.success(request, _("“%(t)s”已移出立项清单。") % {"t": entry.item.title})


@round_action(MANAGE, back="experts:funding_list")
def funding_submit(request, rnd):
    fl = _required_list(rnd)
    funding.submit_for_signoff(actor=request.user, list_id=fl.pk)
    messages.success(request, _("立项清单已提交局领导审签。"))


@round_action(SIGN, back="experts:funding_list")
def funding_sign_off(request, rnd):
    fl = _required_list(rnd)
    form = OptionalCommentForm(request.POST)
    form.is_valid()
    funding.sign_off(actor=request.user, list_id=fl.pk, comment=form.cleaned_data.get("comment") or "")
    messages.success(request, _("已审签同意，业务处室可以发布公示。"))


@round_action(SIGN, back="experts:funding_list")
def funding_return(request, rnd):
    fl = _required_list(rnd)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    funding.return_list(actor=request.user, list_id=fl.pk, reason=form.cleaned_data["reason"])
    messages.success(request, _("立项清单已退回编制人修改。"))


@round_action(MANAGE, back="experts:funding_list")
def funding_publish(request, rnd):
    fl = _required_list(rnd)
    fl = funding.publish_list(actor=request.user, list_id=fl.pk)
    messages.success(request, _("已发布公示：%(start)s 至 %(end)s（%(n)d个工作日）。") % {
        "start": fl.publicity_start, "end": fl.publicity_end, "n": fl.publicity_workdays})


@round_action(MANAGE, back="experts:funding_list")
def objection_resolve(request, rnd, objection_id):
    fl = _required_list(rnd)
    try:
        objection = fl.objections.get(pk=objection_id)
    except (Objection.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    form = ResolveObjectionForm(request.POST)
    if not form.is_valid():
        _flash_form_errors(request, form)
        return None
    upheld = form.cleaned_data["decision"] == ResolveObjectionForm.UPHELD
    funding.resolve_objection(actor=request.user, objection_id=objection.pk, upheld=upheld,
                              resolution=form.cleaned_data["resolution"])
    messages.success(request, _("异议已处理：%(d)s。") % {
        "d": Objection.State.UPHELD.label if upheld else Objection.State.DISMISSED.label})
    return _list_url(rnd) + "#objections"


@round_action(MANAGE, back="experts:funding_list")
def funding_approve(request, rnd):
    fl = _required_list(rnd)
    funding.approve_list(actor=request.user, list_id=fl.pk)
    count, _total = funding.list_totals(fl)
    messages.success(request, _("已批准立项，%(n)d个项目已立项。") % {"n": count})


# ---- Excel downloads (who may see the page may download it) ------------------------------------------------


@login_required
def round_ranking_xlsx(request, pk):
    rnd = _round(request, pk)
    return exports.xlsx_response(exports.ranking_xlsx(rnd), exports.export_filename(_("评审排名"), rnd.name))


@login_required
def funding_list_xlsx(request, pk):
    rnd = _round(request, pk)
    fl = _required_list(rnd)
    return exports.xlsx_response(exports.funding_list_xlsx(rnd, fl), exports.export_filename(_("立项清单"), rnd.name))
