"""The transition tables of a Project and of its milestones, shared by the services that move them (projects'
termination, the 揭榜 milestone checks, stopping a 赛马制 team, the final acceptance)."""

from django.utils.translation import gettext_lazy

from accounts.workflow import T, Workflow

from .models import Project, ProjectMilestone

M = ProjectMilestone.State
P = Project.State

MILESTONE_WORKFLOW = Workflow(
    "projects.ProjectMilestone",
    M,
    [
        T("report", [M.PENDING], M.REPORTED, gettext_lazy("提交里程碑报告")),
        T("pass", [M.REPORTED], M.PASSED, gettext_lazy("考核通过")),
        T("fail", [M.REPORTED], M.FAILED, gettext_lazy("考核不通过"), needs_reason=True),
        T("cancel", [M.PENDING, M.REPORTED], M.CANCELLED, gettext_lazy("取消")),
    ],
)

PROJECT_WORKFLOW = Workflow(
    "projects.Project",
    P,
    [
        T("stop", [P.ESTABLISHED], P.TERMINATED, gettext_lazy("终止"), needs_reason=True),
        T("terminate", [P.ESTABLISHED], P.TERMINATED, gettext_lazy("终止项目"), needs_reason=True),
        T("complete", [P.ESTABLISHED], P.COMPLETED, gettext_lazy("验收通过")),
        T("fail_acceptance", [P.ESTABLISHED], P.FAILED, gettext_lazy("验收不通过"), needs_reason=True),
        T("close", [P.ESTABLISHED], P.CLOSED, gettext_lazy("结题"), needs_reason=True),
    ],
)
