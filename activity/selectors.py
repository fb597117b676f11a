from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from accounts.rules import is_bureau

from .models import AuditEvent, Notification


def events_for(obj) -> QuerySet[AuditEvent]:
    """The history tab of one object, oldest first."""
    return (
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(obj, for_concrete_model=False), target_id=str(obj.pk)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


# model → function(user) returning the queryset of its rows that user may see. Apps to the right of
# activity register theirs (activity may not import them), so the audit log never shows what a user
# could not open: e.g. the events of another organisation's draft application.
_visibility: dict[type, Callable] = {}


def register_visibility(model, visible_to: Callable) -> None:
    _visibility[model] = visible_to


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """The audit log as this user may browse it (the admin's list)."""
    qs = AuditEvent.objects.select_related("actor", "target_type")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if user.is_superuser:
        return qs
    types = ContentType.objects.get_for_models(*_visibility)  # one query for every registered model, cold or not
    for model, visible_to in _visibility.items():
        visible_ids = visible_to(user).annotate(kj_pk=Cast("pk", CharField())).values("kj_pk")
        qs = qs.exclude(Q(target_type=types[model]) & ~Q(target_id__in=visible_ids))
    return qs


def inbox_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# Labels of audit verbs that are not transitions of a workflow.
VERB_LABELS = {
    "create": _("创建"),
    "extend_end_date": _("项目延期"),
    "set_period": _("按任务书确定项目起止日期"),
    "edit": _("修改基本信息"),
    "edit_team": _("修改项目组成员"),
    "edit_budget": _("修改预算"),
    "edit_targets": _("修改绩效指标"),
    "edit_partners": _("修改合作单位"),
    "attach": _("上传附件"),
    "detach": _("移除附件"),
    "register": _("注册"),
    "update": _("修改单位信息"),
    "add_user": _("添加用户"),
    "activate_user": _("启用用户"),
    "deactivate_user": _("停用用户"),
    "credit_record": _("录入失信记录"),
    "credit_revoke": _("撤销失信记录"),
    "admin_set_password": _("管理员设置密码"),
    "admin_create_user": _("管理员创建账号"),
    "admin_update_user": _("管理员修改账号"),
    # expert pool
    "import": _("批量导入入库"),
    "update_profile": _("修改专家信息"),
    "send_login_link": _("发送设置密码链接"),
    "add_unavailability": _("登记不可参评时段"),
    "remove_unavailability": _("删除不可参评时段"),
    "declare_relation": _("申报利益关系"),
    "withdraw_relation": _("撤回利益关系申报"),
    # review rounds and 立项 lists
    "set_criteria": _("设置评分指标"),
    "add_items": _("加入评审对象"),
    "draw_random": _("随机抽取专家"),
    "draw_optimal": _("智能匹配专家"),
    "assign_manual": _("人工指定专家"),
    "replace": _("自动替补"),
    "cancel_open_assignments": _("取消未完成的评审任务"),
    "review_scores": _("提交评分"),
    "build": _("编制立项清单"),
    "set_amount": _("调整拟立项金额"),
    "remove_entry": _("移出立项清单"),
    "objection": _("收到公示异议"),
    "resolve_objection": _("处理公示异议"),
    # 揭榜挂帅
    "set_challenge_targets": _("修改技术指标"),
    "set_members": _("修改攻关团队"),
    "set_partners": _("修改联合体成员"),
    "set_milestones": _("修改里程碑计划"),
    "extend": _("延长揭榜截止时间"),
    "vetting_score": _("记录专家论证得分"),
    "bid_review_scores": _("记录专家评审得分"),
    "defence_scores": _("录入答辩成绩"),
    "establish": _("揭榜立项"),
    "ask": _("提问"),
    "answer": _("答复"),
    "dismiss": _("不予公开"),
    "poster_judge": _("发榜方评价"),
    "expert_score": _("记录专家考核得分"),
    "apply": _("申请验收"),
    # 中期检查, 验收, 延期 (the transitions have their own labels; these are the verbs outside them)
    "open_midterm": _("发起中期检查"),
    "save": _("保存"),
    "start_acceptance": _("开始填写验收申请"),
    "request_extension": _("申请延期"),
    # their transitions, for lists read without the workflow (e.g. the audit log)
    "submit": _("提交"),
    "pass": _("通过"),
    "rectify": _("限期整改"),
    "fail": _("不通过"),
    "pass_rectified": _("整改后通过"),
    "close": _("结题"),
    "cancel": _("取消"),
    "approve": _("批准"),
    "reject": _("不予批准"),
    # 预算调整 and 后补助 (the verbs outside their transitions)
    "request_adjustment": _("申请预算调整"),
    "adjust_budget": _("调整任务书预算"),
    "submit_claim": _("申报后补助"),
    "set_subsidy_amount": _("按核定结果确定后补助金额"),
}


def history(obj, workflow=None) -> list[AuditEvent]:
    """The object's audit events with display labels (verb, from, to) for the history tab."""
    events = list(events_for(obj))
    for e in events:
        label = None
        if workflow is not None and e.verb in workflow.transitions:
            label = workflow.transitions[e.verb].label
        e.verb_label = label or VERB_LABELS.get(e.verb, e.verb)
        if workflow is not None:
            valid = set(workflow.state_choices.values)
            e.from_label = workflow.state_label(e.from_state) if e.from_state in valid else e.from_state
            e.to_label = workflow.state_label(e.to_state) if e.to_state in valid else e.to_state
    return events


def may_see_escalations(user) -> bool:
    """The 督办 board is the bureau's: 局领导, 业务处室, superusers and a system administrator (the staff flag, no
    role); organisations, experts and finance never see it, even with the staff flag (which only opens the admin)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if is_bureau(user):
        return True
    others = (Role.APPLICANT, Role.ORG_ADMIN, Role.EXPERT, Role.FINANCE)
    return bool(user.is_staff and user.organization_id is None and not any(user.has_role(r) for r in others))


#: the 督办 board's order: 红牌 first, then 黄牌, then 逾期; within a level the oldest deadline first
LEVEL_RANK = {"red": 0, "yellow": 1, "overdue": 2}


def escalations_visible_to(user):
    """督办事项 the user may see: the bureau (supervisors, officers, staff) sees all; others none (None).
    Ordered 红牌 first, then by the oldest deadline."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import Escalation

    if not may_see_escalations(user):
        return None
    rank = Case(*(When(level=level, then=Value(r)) for level, r in LEVEL_RANK.items()), output_field=IntegerField())
    return Escalation.objects.select_related("organization").order_by(rank, "due_at", "id")


#: the board's level filter: value → (label, levels)
BOARD_LEVELS = {
    "active": (_("黄牌和红牌"), ("yellow", "red")),
    "red": (_("红牌"), ("red",)),
    "yellow": (_("黄牌"), ("yellow",)),
    "overdue": (_("逾期"), ("overdue",)),
    "all": (_("全部未解除"), ("overdue", "yellow", "red")),
}
#: how far back the 已解除 tab looks
RESOLVED_DAYS = 30


def supervision_board(user, *, resolved: bool = False, level: str = "active", kind: str = "", organization: str = "",
                      now=None):
    """The rows of the 督办 board (None when the user may not see it).

    Open items (``resolved=False``) at the levels of ``level`` (a BOARD_LEVELS key), 红牌 first and then the
    oldest deadline; or the items resolved in the last RESOLVED_DAYS days, the latest first. ``kind`` is a
    deadline kind code, ``organization`` part of an organisation's name (or of the holder's).
    """
    import datetime

    from django.utils import timezone

    qs = escalations_visible_to(user)
    if qs is None:
        return None
    if resolved:
        since = (now or timezone.now()) - datetime.timedelta(days=RESOLVED_DAYS)
        qs = qs.filter(resolved_at__gte=since).order_by("-resolved_at", "-due_at", "-id")
    else:
        qs = qs.filter(resolved_at__isnull=True, level__in=BOARD_LEVELS.get(level, BOARD_LEVELS["active"])[1])
    return _narrow(qs, kind=kind, organization=organization)


def _narrow(qs, *, kind: str, organization: str):
    if kind:
        qs = qs.filter(kind=kind)
    if organization:
        qs = qs.filter(Q(organization__name__icontains=organization) | Q(holder__icontains=organization))
    return qs


def escalation_counts(*, kind: str = "", organization: str = "") -> dict[str, int]:
    """Open 督办事项 per level (red, yellow, overdue), under the same kind/organisation filters, in one query."""
    from django.db.models import Count

    from .models import Escalation

    counts = {level: 0 for level in LEVEL_RANK}
    rows = _narrow(Escalation.objects.filter(resolved_at__isnull=True), kind=kind, organization=organization)
    for row in rows.order_by().values("level").annotate(n=Count("id")):
        counts[row["level"]] = row["n"]
    return counts
