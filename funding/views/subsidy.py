"""后补助 pages: the organisation claims its R&D expense with the 专项审计报告 from its 任务书 page (and corrects a
returned claim); the list (the bureau: every claim, those awaiting verification first by default; an organisation:
its own); one claim, where the officer checks the computation (核定研发费用 × 比例, the cap, the grant) and verifies
or returns it; the audit report's download.

Who sees what is the selectors' (``claims_visible_to``): another organisation's user, an expert: 404; anonymous: the
login page. Every POST calls one service; a refusal is shown on the page, never a 500.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import DomainError
from projects.views.files import file_download

from .. import selectors, subsidy
from ..forms_budget import ClaimForm, ReturnForm, VerifyForm
from ..models import PostSubsidyClaim
from ._messages import _flash, _form_messages

PAGE_SIZE = 20
MANAGE = "funding.manage_agreements"
CLAIM = "funding.claim_subsidy_obj"
CS = PostSubsidyClaim.State


# ---- the organisation claims -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def claim_submit(request, pk):
    user = request.user
    agreement = selectors.agreement_for(user, pk)
    if not user.has_perm(CLAIM, agreement) or not subsidy.is_post_subsidy(agreement.project):
        raise Http404
    claim = selectors.claim_of(user, agreement)
    blocked = subsidy.why_no_claim(agreement, claim)
    status = 200
    if request.method == "POST" and not blocked:
        form = ClaimForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                claim = subsidy.submit_claim(actor=user, agreement_id=agreement.pk,
                                             claimed_expense=data["claimed_expense"],
                                             audit_report=data["audit_report"], note=data["note"])
            except DomainError as e:
                _flash(request, e.messages)
                status = e.http_status
            else:
                messages.success(request, _("后补助申报已提交，待科技局核定。"))
                return redirect("funding:subsidy_claim", claim.pk)
        else:
            _flash(request, _form_messages(form))
            status = 400
    else:
        initial = {"claimed_expense": claim.claimed_expense, "note": claim.note} if claim else {}
        form = ClaimForm(initial=initial)
    return render(request, "funding/subsidy/claim.html", {
        "agreement": agreement, "project": agreement.project, "form": form, "claim": claim, "blocked": blocked,
        "scheme": subsidy.subsidy_scheme(agreement.project),
    }, status=status)


# ---- the list and one claim ------------------------------------------------------------------------------------


@login_required
@require_GET
def claim_list(request):
    user = request.user
    bureau = selectors.sees_all(user)
    if not (bureau or selectors.is_org_user(user)):
        raise Http404
    state = request.GET.get("state", "submitted" if bureau else "")
    if state not in CS.values and state != "":
        state = ""
    page = Paginator(selectors.claim_list(user, state=state), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "funding/subsidy/list.html", {
        "page": page, "claims": page.object_list, "state": state, "states": CS.choices, "bureau": bureau,
    })


def _render_detail(request, claim, *, verify_form=None, return_form=None, computation=None, status=200):
    user = request.user
    can_decide = claim.state == CS.SUBMITTED and user.has_perm(MANAGE)
    scheme = subsidy.subsidy_scheme(claim.agreement.project) if can_decide else None
    if can_decide and computation is None:
        computation = subsidy.preview(claim, claim.claimed_expense)
    return render(request, "funding/subsidy/detail.html", {
        "claim": claim, "agreement": claim.agreement, "project": claim.agreement.project,
        "can_decide": can_decide, "scheme": scheme, "computation": computation,
        "verify_form": verify_form or VerifyForm(initial={"verified_expense": claim.claimed_expense}),
        "return_form": return_form or ReturnForm(),
        "can_resubmit": claim.state == CS.RETURNED and user.has_perm(CLAIM, claim.agreement),
        "tranche": claim.agreement.tranches.filter(condition="verified").first()
        if claim.state == CS.VERIFIED else None,
    }, status=status)


@login_required
@require_GET
def claim_detail(request, pk):
    return _render_detail(request, selectors.claim_for(request.user, pk))


@login_required
@require_POST
def claim_verify(request, pk):
    """核定; with ``preview`` in the POST, only shows what the verified expense gives."""
    user = request.user
    claim = selectors.claim_for(user, pk)
    if not user.has_perm(MANAGE):
        raise Http404
    form = VerifyForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_detail(request, claim, verify_form=form, status=400)
    verified = form.cleaned_data["verified_expense"]
    if "preview" in request.POST:
        return _render_detail(request, claim, verify_form=form, computation=subsidy.preview(claim, verified))
    try:
        claim = subsidy.verify_claim(actor=user, claim_id=claim.pk, verified_expense=verified,
                                     note=form.cleaned_data["note"])
    except DomainError as e:
        _flash(request, e.messages)
        return _render_detail(request, claim, verify_form=form, status=e.http_status)
    messages.success(request, _("后补助已核定：%(a)s 元，已进入应拨付，由财务拨付。") % {"a": f"{claim.subsidy_amount:,.2f}"})
    return redirect("funding:subsidy_claim", claim.pk)


@login_required
@require_POST
def claim_return(request, pk):
    user = request.user
    claim = selectors.claim_for(user, pk)
    if not user.has_perm(MANAGE):
        raise Http404
    form = ReturnForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _render_detail(request, claim, return_form=form, status=400)
    try:
        subsidy.return_claim(actor=user, claim_id=claim.pk, reason=form.cleaned_data["reason"])
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:subsidy_claim", claim.pk)
    messages.success(request, _("后补助申报已退回承担单位补正。"))
    return redirect("funding:subsidy_claim", claim.pk)


@login_required
@require_GET
def claim_report(request, pk):
    claim = selectors.claim_for(request.user, pk)
    content_type = mimetypes.guess_type(claim.audit_report_name)[0] or "application/octet-stream"
    return file_download(claim.audit_report, filename=claim.audit_report_name, content_type=content_type)
