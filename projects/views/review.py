"""单位审核 (the organisation admin's endorsement queue) and 形式审查 (the officer's formal review)."""

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
from accounts.roles import Role
from activity.selectors import history

from .. import selectors, services
from ..checklists import FORMAL_REVIEW_CHECKLIST
from ..forms_review import BatchReviewForm, EndorsementForm, FormalReviewForm, ReviewQueueFilterForm
from ..models import Application, FormalReview

PAGE_SIZE = 20


def _require_org_admin(user) -> None:
    if not (user.has_role(Role.ORG_ADMIN) and user.organization_id):
        raise Http404


def _require_reviewer(user) -> None:
    if not (user.is_superuser or user.has_role(Role.OFFICER)):
        raise Http404


def _label(app: Application) -> str:
    return _("《%(t)s》（%(no)s）") % {"t": app.title, "no": app.number or app.pk}


# ---- 单位审核 ---------------------------------------------------------------------------------------


@login_required
def endorsement_queue(request):
    _require_org_admin(request.user)
    page = Paginator(selectors.endorsement_queue(request.user).select_related("created_by"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "projects/review/endorsement_queue.html", {"page": page})


@login_required
@require_POST
def endorsement_decide(request, pk):
    user = request.user
    _require_org_admin(user)
    try:
        app = selectors.organization_applications(user).get(pk=pk)
    except Application.DoesNotExist:
        raise Http404 from None
    form = EndorsementForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            for message in error:
                messages.error(request, _("%(app)s：%(msg)s") % {"app": _label(app), "msg": message})
        return redirect("portal:endorsement_queue")
    comment = form.cleaned_data["comment"].strip()
    try:
        if form.cleaned_data["decision"] == EndorsementForm.ENDORSE:
            services.endorse_application(actor=user, application_id=app.pk, reason=comment)
            messages.success(request, _("%(app)s 已通过单位审核，报送科技局形式审查。") % {"app": _label(app)})
        else:
            services.org_return_application(actor=user, application_id=app.pk, reason=comment)
            messages.success(request, _("%(app)s 已退回申报人修改。") % {"app": _label(app)})
    except DomainError as e:
        messages.error(request, _("%(app)s：%(msg)s") % {"app": _label(app), "msg": e.message})
    return redirect("portal:endorsement_queue")


# ---- 形式审查 ---------------------------------------------------------------------------------------


@login_required
def formal_review_queue(request):
    user = request.user
    _require_reviewer(user)
    filter_form = ReviewQueueFilterForm(request.GET or None, user=user)
    call = filter_form.cleaned_data.get("call") if filter_form.is_valid() else None
    qs = selectors.formal_review_queue(user, call_id=call.pk if call else None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "projects/review/formal_review_queue.html",
        {"page": page, "filter_form": filter_form, "batch_form": BatchReviewForm(), "call": call},
    )


def _batch_summary(decision: str, ok: list[Application], failed: list[tuple[str, str]]) -> str:
    done = {
        FormalReview.Decision.ACCEPT: _("%(n)d 项已受理"),
        FormalReview.Decision.RETURN: _("%(n)d 项已退回修改"),
        FormalReview.Decision.REJECT: _("%(n)d 项已不予受理"),
    }[decision] % {"n": len(ok)}
    if not failed:
        return done + _("。")
    # The same refusal for several applications is said once, naming them all.
    by_message: dict[str, list[str]] = {}
    for label, message in failed:
        by_message.setdefault(message, []).append(label)
    reasons = "；".join(f"{'、'.join(labels)}：{message}" for message, labels in by_message.items())
    return _("%(done)s；%(n)d 项失败：%(reasons)s") % {"done": done, "n": len(failed), "reasons": reasons}


@login_required
@require_POST
def formal_review_batch(request):
    user = request.user
    _require_reviewer(user)
    back = request.POST.get("next") or ""
    if not back.startswith(reverse("portal:review_queue")):
        back = reverse("portal:review_queue")
    form = BatchReviewForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            for message in error:
                messages.error(request, message)
        return redirect(back)
    ids = list(dict.fromkeys(form.cleaned_data["applications"]))
    visible = selectors.visible_applications_by_pk(user, ids)
    decision = form.cleaned_data["decision"]
    results = services.batch_formal_review(
        actor=user,
        application_ids=[pk for pk in ids if pk in visible],
        decision=decision,
        reason=form.cleaned_data["reason"],
        checklist=form.checklist_dict(),
    )
    ok, failed = [], []
    for pk, success, message in results:
        if success:
            ok.append(visible[pk])
        else:
            failed.append((_label(visible[pk]), message))
    failed.extend((_("编号 %(pk)s") % {"pk": pk}, _("申报书不存在。")) for pk in ids if pk not in visible)
    summary = _batch_summary(decision, ok, failed)
    if failed and ok:
        messages.warning(request, summary)
    elif failed:
        messages.error(request, summary)
    else:
        messages.success(request, summary)
    return redirect(back)


@login_required
def formal_review_detail(request, pk):
    user = request.user
    _require_reviewer(user)
    try:
        app = selectors.application_detail(user, pk)
    except Application.DoesNotExist:
        raise Http404 from None
    can_decide = app.state == Application.State.ENDORSED
    if request.method == "POST":
        form = FormalReviewForm(request.POST)
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                services.formal_review(
                    actor=user,
                    application_id=app.pk,
                    decision=decision,
                    reason=form.cleaned_data["reason"],
                    checklist=form.checklist_dict(),
                )
            except DomainError as e:
                for message in e.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _("%(app)s 形式审查结论：%(d)s。已通知申报单位。")
                    % {"app": _label(app), "d": FormalReview.Decision(decision).label},
                )
                return redirect("portal:review_queue")
    else:
        form = FormalReviewForm()

    # The automatic pre-check, judged as of the submission (the window was open then).
    checked_at = app.submitted_at or timezone.now()
    hints = services.submission_problems(app, now=checked_at)
    labels = dict(FORMAL_REVIEW_CHECKLIST)
    reviews = list(app.formal_reviews.all())
    for review in reviews:
        review.failed_items = [str(labels[c]) for c, passed in review.checklist.items() if not passed and c in labels]
    budget = services.budget_summary(app)
    return render(
        request,
        "projects/review/formal_review_detail.html",
        {
            "app": app,
            "budget_total": budget["total"],
            "self_ratio": f"{budget['ratio']:.2f}%" if budget["ratio"] is not None else "",
            "min_self_ratio": f"{budget['min_ratio']:.2f}%",
            "form": form,
            "can_decide": can_decide,
            "hints": hints,
            "checked_at": checked_at,
            "reviews": reviews,
            "events": history(app, services.APPLICATION_WORKFLOW),
        },
    )
