"""The bureau's page of one 项目终止建议: the project, its acceptance due date, how long it is overdue, and the two
decisions — 终止项目 (through the existing termination service, with its reason and fault) and 不予终止 (with the
reason). Officers (and superusers) decide; supervisors read; everybody else gets 404. A refusal is shown as the
form's error with the form as it was typed, and changes nothing. A fixed number of queries."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.exceptions import DomainError
from accounts.forms import BootstrapMixin
from accounts.workflow import object_history

from .. import proposals
from ..models import AcceptanceReport, TerminationProposal
from ..services import acceptance_due_date
from .office import MANAGE, VIEW, _require

TEXT_MAX = 5000


class TerminateForm(BootstrapMixin, forms.Form):
    """终止项目: the termination service's reason and whether it was the organisation's fault."""

    reason = forms.CharField(label=gettext_lazy("终止理由"), max_length=TEXT_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": gettext_lazy("请填写终止理由。")})
    fault = forms.BooleanField(label=gettext_lazy("因承担单位原因"), required=False, initial=True,
                               help_text=gettext_lazy("逾期未申请验收一般属承担单位原因；财政资金按项目终止的规定追回。"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"reason": _("承担单位逾期未申请验收。"), "fault": True})
        kwargs.setdefault("prefix", "terminate")
        super().__init__(*args, **kwargs)


class DismissForm(BootstrapMixin, forms.Form):
    """不予终止: the reason is required (the organisation applied late, an extension was granted...)."""

    reason = forms.CharField(label=gettext_lazy("不予终止的理由"), max_length=TEXT_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("如：承担单位已补交验收申请、已批准延期等。"),
                             error_messages={"required": gettext_lazy("请填写不予终止的理由。")})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "dismiss")
        super().__init__(*args, **kwargs)


def _render(request, proposal, *, terminate=None, dismiss=None, status=200):
    project = proposal.project
    can_manage = request.user.has_perm(MANAGE)
    open_ = proposal.state == TerminationProposal.State.PROPOSED
    report = AcceptanceReport.objects.filter(project=project).only("pk", "state").first()
    shown = can_manage and open_
    posted = terminate if terminate is not None else dismiss
    # a refusal of a proposal decided meanwhile: its forms are gone, the posted form's errors are shown alone
    refused = posted.non_field_errors() if posted is not None and not shown else []
    return render(request, "projects/checkpoints/office/termination.html", {
        "proposal": proposal,
        "project": project,
        "report": report,
        "applied": report is not None and report.state not in proposals.NOT_APPLIED_STATES,
        "overdue_days": proposals.overdue_days(proposal.due_date, timezone.localdate()),
        "current_due": acceptance_due_date(project),
        "can_manage": can_manage,
        "terminate_form": (terminate or TerminateForm()) if shown else None,
        "dismiss_form": (dismiss or DismissForm()) if shown else None,
        "refused": refused,
        "open_form": "dismiss" if dismiss is not None and dismiss.is_bound else "terminate",
        "events": object_history(proposal, proposals.TERMINATION_PROPOSAL_WORKFLOW),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def termination(request, pk):
    user = request.user
    _require(user, VIEW)
    proposal = proposals.proposal_for_bureau(user, pk)
    if request.method == "GET":
        return _render(request, proposal)
    _require(user, MANAGE)
    accept = request.POST.get("decision") == "terminate"
    form = TerminateForm(request.POST) if accept else DismissForm(request.POST)
    other = {"terminate": form} if accept else {"dismiss": form}
    if not form.is_valid():
        return _render(request, proposal, status=400, **other)
    data = form.cleaned_data
    try:
        proposals.decide_proposal(actor=user, proposal_id=proposal.pk, accept=accept, reason=data["reason"],
                                  fault=data.get("fault", False))
    except DomainError as e:
        for message in e.messages:
            form.add_error(None, message)
        return _render(request, proposals.proposal_for_bureau(user, pk), status=e.http_status, **other)
    if accept:
        messages.success(request, _("项目已终止，并通知承担单位；财政资金按项目终止的规定追回。"))
    else:
        messages.success(request, _("已作出不予终止的决定。"))
    return redirect("checkpoints_office:termination", proposal.pk)
