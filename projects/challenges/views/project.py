"""The winners' projects in the enterprise portal: the team (承担单位) and the poster (发榜单位).

The team reports its milestones in order and, once every milestone passed, applies for the final acceptance with
each target's achieved value; the poster gives its opinion on each reported milestone and judges each target at
the acceptance. The bureau concludes both on its own pages (``jiebang_office``). Everyone else gets 404 on every
URL here. Every write goes through ``projects.challenges.services``; a DomainError is shown on the page and
changes nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.exceptions import DomainError
from accounts.forms import BootstrapMixin

from ...views.applicant import portal_user_required
from .. import selectors, services
from ..models import ProjectMilestone

M = ProjectMilestone.State
TEXT_MAX = 5000


# ---- forms -------------------------------------------------------------------------------------------------


def _textarea(rows=4):
    return forms.Textarea(attrs={"rows": rows})


class MilestoneReportForm(BootstrapMixin, forms.Form):
    report = forms.CharField(label=gettext_lazy("进展报告"), max_length=TEXT_MAX, widget=_textarea(5),
                             help_text=gettext_lazy("对照考核指标逐项说明完成情况，并列出佐证材料。"))


class MilestoneJudgeForm(BootstrapMixin, forms.Form):
    verdict = forms.ChoiceField(label=gettext_lazy("发榜方意见"), choices=ProjectMilestone.Verdict.choices,
                                widget=forms.RadioSelect)
    opinion = forms.CharField(label=gettext_lazy("发榜方评价"), max_length=TEXT_MAX, widget=_textarea(3))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _radio(self.fields["verdict"])


class AcceptanceApplyForm(BootstrapMixin, forms.Form):
    """The summary report and, per challenge target, the achieved value and its evidence."""

    report = forms.CharField(label=gettext_lazy("总结报告"), max_length=TEXT_MAX * 2, widget=_textarea(6))

    def __init__(self, *args, targets, **kwargs):
        self.targets = list(targets)
        super().__init__(*args, **kwargs)
        for t in self.targets:
            self.fields[f"achieved_{t.pk}"] = forms.CharField(
                label=_("%(name)s 完成值") % {"name": t.name}, max_length=200,
                help_text=_("目标值：%(v)s%(u)s") % {"v": t.target_value, "u": t.unit})
            self.fields[f"evidence_{t.pk}"] = forms.CharField(
                label=_("%(name)s 佐证材料") % {"name": t.name}, max_length=1000, required=False,
                help_text=t.verification)
        for field in self.fields.values():
            classes = field.widget.attrs.get("class", "").split()
            field.widget.attrs["class"] = " ".join(dict.fromkeys([*classes, "form-control"]))

    def rows(self):
        return [(t, self[f"achieved_{t.pk}"], self[f"evidence_{t.pk}"]) for t in self.targets]

    def results(self) -> dict[int, dict]:
        return {t.pk: {"achieved": self.cleaned_data.get(f"achieved_{t.pk}", ""),
                       "evidence": self.cleaned_data.get(f"evidence_{t.pk}", "")} for t in self.targets}


MET_CHOICES = [("yes", gettext_lazy("达到")), ("no", gettext_lazy("未达到"))]


class AcceptanceJudgeForm(BootstrapMixin, forms.Form):
    """The poster's judgement of each target (达到 / 未达到) and its overall opinion."""

    opinion = forms.CharField(label=gettext_lazy("发榜方意见"), max_length=TEXT_MAX, widget=_textarea(4))

    def __init__(self, *args, results, **kwargs):
        self.results_rows = list(results)
        super().__init__(*args, **kwargs)
        for r in self.results_rows:
            self.fields[f"met_{r['target_id']}"] = forms.ChoiceField(
                label=r["name"], choices=MET_CHOICES, widget=forms.RadioSelect)
            _radio(self.fields[f"met_{r['target_id']}"])

    def rows(self):
        return [(r, self[f"met_{r['target_id']}"]) for r in self.results_rows]

    def met(self) -> dict[int, bool]:
        return {r["target_id"]: self.cleaned_data[f"met_{r['target_id']}"] == "yes" for r in self.results_rows}


def _radio(field) -> None:
    field.widget.attrs["class"] = "form-check-input"


def _flash(request, error: DomainError) -> None:
    """A refusal is shown as a message (the form it came from may not be on the page any more)."""
    for message in error.messages:
        messages.error(request, message)


def _invalid(request) -> None:
    messages.error(request, _("请检查填写的内容。"))


# ---- access ------------------------------------------------------------------------------------------------


def _project(user, pk):
    """The project, for a user of the team's or the poster's organisation only (the bureau and finance have their
    own pages): 404 otherwise."""
    project = selectors.challenge_project_for(user, pk)
    if not user.organization_id or user.organization_id not in (project.organization_id,
                                                                project.challenge.organization_id):
        raise Http404
    return project


def _milestone(user, pk) -> ProjectMilestone:
    milestone = selectors.challenge_milestone_for(user, pk)
    _project(user, milestone.project_id)  # the same 404 rule as the page
    return milestone


# ---- the page ----------------------------------------------------------------------------------------------


def _next_to_report(milestones):
    """The first milestone not yet passed, if it is pending and every earlier one passed (the order the service
    enforces)."""
    for m in milestones:
        if m.state == M.PASSED:
            continue
        return m if m.state == M.PENDING else None
    return None


def _render(request, project, *, report_form=None, judge_form=None, bound_milestone=None, apply_form=None,
            acceptance_judge_form=None):
    user = request.user
    is_team = user.organization_id == project.organization_id
    can_report = is_team and user.has_perm("projects.report_project_obj", project)
    can_judge = (not is_team) and user.has_perm("projects.judge_project_obj", project)
    running = project.state == project.State.ESTABLISHED
    milestones = list(project.milestones.all())
    targets = list(project.challenge.targets.all())
    acceptance = selectors.acceptance_of(project)
    next_m = _next_to_report(milestones) if running else None

    for m in milestones:
        m.report_form = m.judge_form = None
        if can_report and next_m is not None and m.pk == next_m.pk:
            m.report_form = report_form if bound_milestone == m.pk and report_form is not None else \
                MilestoneReportForm(auto_id=f"id_m{m.pk}_%s")
        if can_judge and running and m.state == M.REPORTED:
            if bound_milestone == m.pk and judge_form is not None:
                m.judge_form = judge_form
            else:
                initial = {"verdict": m.poster_verdict, "opinion": m.poster_opinion} if m.poster_verdict else None
                m.judge_form = MilestoneJudgeForm(initial=initial, auto_id=f"id_m{m.pk}_%s")

    all_passed = bool(milestones) and all(m.state == M.PASSED for m in milestones)
    if can_report and running and all_passed and acceptance is None and apply_form is None:
        apply_form = AcceptanceApplyForm(targets=targets)
    elif not (can_report and running and all_passed and acceptance is None):
        apply_form = None
    if can_judge and acceptance is not None and acceptance.state == acceptance.State.APPLIED:
        acceptance_judge_form = acceptance_judge_form or AcceptanceJudgeForm(results=acceptance.results)
    else:
        acceptance_judge_form = None

    return render(request, "projects/challenges/project/detail.html", {
        "project": project,
        "challenge": project.challenge,
        "bid": project.bid,
        "is_team": is_team,
        "is_poster": not is_team,
        "milestones": milestones,
        "next_milestone": next_m,
        "targets": targets,
        "acceptance": acceptance,
        "all_passed": all_passed,
        "apply_form": apply_form,
        "acceptance_judge_form": acceptance_judge_form,
        "waiting_for_earlier": can_report and running and next_m is None and not all_passed,
    })


@portal_user_required
def project_detail(request, pk):
    return _render(request, _project(request.user, pk))


# ---- the team ----------------------------------------------------------------------------------------------


@portal_user_required
@require_POST
def milestone_report(request, pk):
    user = request.user
    milestone = _milestone(user, pk)
    form = MilestoneReportForm(request.POST, auto_id=f"id_m{milestone.pk}_%s")
    if form.is_valid():
        try:
            services.report_milestone(actor=user, milestone_id=milestone.pk, report=form.cleaned_data["report"])
        except DomainError as e:
            _flash(request, e)
        else:
            messages.success(request, _("第%(n)d个里程碑的进展报告已提交，等待发榜方评价和科技局考核。")
                             % {"n": milestone.position})
            return redirect("challenges:project", pk=milestone.project_id)
    else:
        _invalid(request)
    project = _project(user, milestone.project_id)
    return _render(request, project, report_form=form, bound_milestone=milestone.pk)


@portal_user_required
@require_POST
def acceptance_apply(request, pk):
    user = request.user
    project = _project(user, pk)
    form = AcceptanceApplyForm(request.POST, targets=project.challenge.targets.all())
    if form.is_valid():
        try:
            services.apply_acceptance(actor=user, project_id=project.pk, report=form.cleaned_data["report"],
                                      results=form.results())
        except DomainError as e:
            _flash(request, e)
        else:
            messages.success(request, _("验收申请已提交，等待发榜方逐项评价技术指标。"))
            return redirect("challenges:project", pk=project.pk)
    else:
        _invalid(request)
    return _render(request, project, apply_form=form)


# ---- the poster --------------------------------------------------------------------------------------------


@portal_user_required
@require_POST
def milestone_judge(request, pk):
    user = request.user
    milestone = _milestone(user, pk)
    form = MilestoneJudgeForm(request.POST, auto_id=f"id_m{milestone.pk}_%s")
    if form.is_valid():
        try:
            services.judge_milestone(actor=user, milestone_id=milestone.pk, verdict=form.cleaned_data["verdict"],
                                     opinion=form.cleaned_data["opinion"])
        except DomainError as e:
            _flash(request, e)
        else:
            messages.success(request, _("已提交对第%(n)d个里程碑的评价，等待科技局考核。") % {"n": milestone.position})
            return redirect("challenges:project", pk=milestone.project_id)
    else:
        _invalid(request)
    project = _project(user, milestone.project_id)
    return _render(request, project, judge_form=form, bound_milestone=milestone.pk)


@portal_user_required
@require_POST
def acceptance_judge(request, pk):
    user = request.user
    project = _project(user, pk)
    acceptance = selectors.acceptance_of(project)
    if acceptance is None:
        messages.error(request, _("该项目尚未申请验收。"))
        return redirect("challenges:project", pk=project.pk)
    form = AcceptanceJudgeForm(request.POST, results=acceptance.results)
    if form.is_valid():
        try:
            services.judge_acceptance(actor=user, project_id=project.pk, met=form.met(),
                                      opinion=form.cleaned_data["opinion"])
        except DomainError as e:
            _flash(request, e)
        else:
            messages.success(request, _("已提交验收评价，等待科技局确认验收结论。"))
            return redirect("challenges:project", pk=project.pk)
    else:
        _invalid(request)
    return _render(request, project, acceptance_judge_form=form)
