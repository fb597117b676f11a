"""立项清单: build from the ranking, sign-off by the supervisor, 公示 for N working days, objections, approval."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.roles import Role
from accounts.selectors import users_with_role
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify
from activity.workdays import workday_span_end
from projects.models import Application, Call
from projects.services import decline_funding, establish_project

from ..models import FundingList, FundingListEntry, Objection, ReviewRound
from ..selectors import ranking

F = FundingList.State
#: the public objection form: at most this many objections per network address and list in OBJECTION_WINDOW
OBJECTIONS_PER_ADDRESS = 5
OBJECTION_WINDOW = datetime.timedelta(hours=24)

FUNDING_LIST_WORKFLOW = Workflow(
    "experts.FundingList",
    F,
    [
        T("submit", [F.DRAFT], F.PENDING_SIGNOFF, gettext_lazy("提交审签")),
        T("return", [F.PENDING_SIGNOFF], F.DRAFT, gettext_lazy("退回修改"), needs_reason=True),
        T("sign_off", [F.PENDING_SIGNOFF], F.SIGNED_OFF, gettext_lazy("审签同意")),
        T("publish", [F.SIGNED_OFF], F.PUBLICIZING, gettext_lazy("发布公示")),
        T("approve", [F.PUBLICIZING], F.APPROVED, gettext_lazy("批准立项")),
    ],
)


def _require(actor, perm: str, message) -> None:
    if actor is None or not actor.has_perm(perm):
        raise PermissionRefused(message)


def _parse_money(value, label) -> Decimal:
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("%(label)s必须是金额数字。") % {"label": label}) from None
    if not d.is_finite() or d != d.quantize(Decimal("0.01")):
        raise InvalidInput(_("%(label)s最多保留两位小数。") % {"label": label})
    return d


def build_funding_list(*, actor, round_id: int, cutoff_score=None, publicity_workdays: int = 5) -> FundingList:
    """Build (or, while still a draft, rebuild) the list from the ranking: every ranked item with at least
    three reviews and a score at or above the cut-off, the granted amount defaulting to the request."""
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以编制立项清单。"))
    cutoff = None
    if cutoff_score not in (None, ""):
        cutoff = _parse_money(cutoff_score, _("入围分数线"))
        if cutoff < 0 or cutoff > 100:
            raise InvalidInput(_("入围分数线须在0到100之间。"))
    if not 1 <= int(publicity_workdays) <= 30:
        raise InvalidInput(_("公示期须为1到30个工作日。"))
    now = timezone.now()
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update(of=("self",)).select_related("call").get(pk=round_id)
        if rnd.kind != ReviewRound.Kind.APPLICATION:
            raise InvalidInput(_("立项清单只适用于申报书评审；“%(kind)s”的得分在评审结束时回填到榜单，由科技局在揭榜挂帅页面办理。")
                               % {"kind": rnd.get_kind_display()}, code="not_application_round")
        if rnd.state != ReviewRound.State.CLOSED:
            raise TransitionRefused(_("评审结束后才能编制立项清单。"))
        fl = FundingList.objects.select_for_update(of=("self",)).filter(round=rnd).first()
        if fl is not None and fl.state != F.DRAFT:
            raise TransitionRefused(_("立项清单已提交审签，不能重新编制。"))
        rows = [r for r in ranking(rnd) if r.rank is not None and not r.insufficient
                and (cutoff is None or r.result.score >= cutoff) and r.requested > 0]
        if not rows:
            raise InvalidInput(_("没有达到分数线且评审意见不少于3份的项目。"), code="empty_list")
        if fl is None:
            fl = FundingList.objects.create(round=rnd, title=_("%(round)s 拟立项清单") % {"round": rnd.name},
                                            built_by=actor, built_at=now, cutoff_score=cutoff,
                                            publicity_workdays=publicity_workdays)
        else:
            fl.entries.all().delete()
            fl.cutoff_score, fl.built_by, fl.built_at = cutoff, actor, now
            fl.publicity_workdays = publicity_workdays
            fl.save(update_fields=["cutoff_score", "built_by", "built_at", "publicity_workdays", "updated_at"])
        FundingListEntry.objects.bulk_create([
            FundingListEntry(funding_list=fl, item=r.item, rank=r.rank, score=r.result.score,
                             requested_amount=r.requested, granted_amount=r.requested)
            for r in rows
        ])
        record_audit(actor=actor, verb="build", target=fl, to_state=fl.state,
                     data={"cutoff": str(cutoff) if cutoff is not None else None, "entries": len(rows)})
    return fl


def _locked_entry(entry_id: int) -> FundingListEntry:
    """The entry, read again once its list is locked: a rebuild that committed meanwhile replaced the entries, and
    writing to one it deleted must be refused, not crash."""
    list_id = FundingListEntry.objects.filter(pk=entry_id).values_list("funding_list_id", flat=True).first()
    if list_id is not None:
        fl = FundingList.objects.select_for_update(of=("self",)).get(pk=list_id)
        entry = FundingListEntry.objects.filter(pk=entry_id, funding_list=fl).first()
        if entry is not None:
            entry.funding_list = fl
            return entry
    raise InvalidInput(_("该项目已不在立项清单中（清单可能已重新编制），请刷新后重试。"), code="entry_gone")


def set_granted_amount(*, actor, entry_id: int, amount) -> FundingListEntry:
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以调整拟立项金额。"))
    amount = _parse_money(amount, _("拟立项财政资金"))
    with transaction.atomic():
        entry = _locked_entry(entry_id)
        if entry.funding_list.state != F.DRAFT:
            raise TransitionRefused(_("立项清单已提交审签，金额不能再调整。"))
        fl = entry.funding_list
        if amount <= 0 or amount > entry.requested_amount:
            raise InvalidInput(_("拟立项财政资金须大于0且不超过申请额 %(req)s 元。") % {"req": entry.requested_amount})
        old = entry.granted_amount
        entry.granted_amount = amount
        entry.save(update_fields=["granted_amount"])
        record_audit(actor=actor, verb="set_amount", target=fl,
                     data={"entry": entry.pk, "from": str(old), "to": str(amount)})
    return entry


def remove_entry(*, actor, entry_id: int, reason: str) -> FundingListEntry:
    """Take an item off a draft list (it stays recorded, with the reason)."""
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以调整立项清单。"))
    if not (reason or "").strip():
        raise InvalidInput(_("移出立项清单必须填写理由。"))
    with transaction.atomic():
        entry = _locked_entry(entry_id)
        fl = entry.funding_list
        if fl.state != F.DRAFT:
            raise TransitionRefused(_("立项清单已提交审签，不能再调整。"))
        _remove(entry, reason)
        record_audit(actor=actor, verb="remove_entry", target=fl, reason=reason, data={"entry": entry.pk})
    return entry


def _remove(entry: FundingListEntry, reason: str) -> None:
    if entry.removed_at is None:
        entry.removed_at = timezone.now()
        entry.removed_reason = reason.strip()[:500]
        entry.save(update_fields=["removed_at", "removed_reason"])


def list_totals(fl: FundingList) -> tuple[int, Decimal]:
    entries = [e for e in fl.entries.all() if e.removed_at is None]
    return len(entries), sum((e.granted_amount for e in entries), Decimal("0.00"))


def _transition(name, *, actor, list_id, reason="", guard=None, apply=None, after=None, data=None):
    return run_transition(workflow=FUNDING_LIST_WORKFLOW,
                          queryset=FundingList.objects.select_related("round", "round__call"),
                          pk=list_id, name=name, actor=actor, reason=reason, guard=guard, apply=apply, after=after,
                          data=data)


def _link(fl: FundingList) -> str:
    return reverse("experts:funding_list", args=[fl.round_id])


def submit_for_signoff(*, actor, list_id: int) -> FundingList:
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以提交立项清单。"))

    def guard(fl):
        count, total = list_totals(fl)
        if not count:
            raise InvalidInput(_("立项清单为空。"))
        budget = fl.round.call.total_budget if fl.round.call_id else None
        if budget is not None and total > budget:
            raise InvalidInput(_("拟立项财政资金合计 %(total)s 元，超过指南财政资金总额 %(budget)s 元。")
                               % {"total": total, "budget": budget}, code="over_budget")
        if budget is not None:
            # The call's other lists (another round of the same call) share its budget. The call's row is locked so
            # that two of its lists are submitted one after the other.
            list(Call.objects.select_for_update().filter(pk=fl.round.call_id).values_list("pk", flat=True))
            others = (FundingListEntry.objects.filter(funding_list__round__call_id=fl.round.call_id,
                                                      removed_at__isnull=True)
                      .exclude(funding_list=fl).exclude(funding_list__state=F.DRAFT)
                      .aggregate(s=Sum("granted_amount"))["s"]) or Decimal("0.00")
            if total + others > budget:
                raise InvalidInput(
                    _("拟立项财政资金合计 %(total)s 元，加上本指南其他立项清单的 %(others)s 元，超过指南财政资金总额 "
                      "%(budget)s 元。") % {"total": total, "others": others, "budget": budget},
                    code="over_budget")

    def after(fl, from_state):
        count, total = list_totals(fl)
        notify(users_with_role(Role.SUPERVISOR), kind=MessageKind.FUNDING_LIST_SIGNOFF,
               title=_("待审签：%(t)s") % {"t": fl.title},
               body=_("%(t)s 共%(n)d项，拟立项财政资金合计 %(total)s 元，请审签。") % {"t": fl.title, "n": count,
                                                                              "total": total},
               link=_link(fl), target=fl, dedupe_key=f"funding_list:{fl.pk}:submit:{timezone.now().timestamp():.0f}")

    return _transition("submit", actor=actor, list_id=list_id, guard=guard, after=after)


def return_list(*, actor, list_id: int, reason: str) -> FundingList:
    _require(actor, "experts.sign_off_funding_list", _("只有局领导可以审签立项清单。"))

    def apply(fl):
        fl.signoff_comment = reason.strip()
        return ["signoff_comment"]

    def after(fl, from_state):
        notify([fl.built_by], kind=MessageKind.FUNDING_LIST_DECIDED, title=_("立项清单退回：%(t)s") % {"t": fl.title},
               body=_("局领导退回了立项清单，意见：%(r)s") % {"r": reason}, link=_link(fl), target=fl,
               dedupe_key=f"funding_list:{fl.pk}:return:{timezone.now().timestamp():.0f}")

    return _transition("return", actor=actor, list_id=list_id, reason=reason, apply=apply, after=after)


def sign_off(*, actor, list_id: int, comment: str = "") -> FundingList:
    _require(actor, "experts.sign_off_funding_list", _("只有局领导可以审签立项清单。"))

    def guard(fl):
        if fl.built_by_id == actor.pk:
            raise PermissionRefused(_("编制人不能审签自己编制的立项清单。"))

    def apply(fl):
        fl.signed_off_by, fl.signed_off_at, fl.signoff_comment = actor, timezone.now(), (comment or "").strip()
        return ["signed_off_by", "signed_off_at", "signoff_comment"]

    def after(fl, from_state):
        notify([fl.built_by], kind=MessageKind.FUNDING_LIST_DECIDED, title=_("立项清单已审签：%(t)s") % {"t": fl.title},
               body=_("局领导已审签，可以发布公示。"), link=_link(fl), target=fl,
               dedupe_key=f"funding_list:{fl.pk}:signed_off")

    return _transition("sign_off", actor=actor, list_id=list_id, reason=comment, guard=guard, apply=apply,
                       after=after)


def publish_list(*, actor, list_id: int, start=None) -> FundingList:
    """发布公示: from ``start`` (today) for the list's number of working days, on the Chinese holiday calendar."""
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以发布公示。"))
    start = start or timezone.localdate()

    def apply(fl):
        fl.publicity_start = start
        fl.publicity_end = workday_span_end(start, fl.publicity_workdays)
        fl.published_at = timezone.now()
        return ["publicity_start", "publicity_end", "published_at"]

    return _transition("publish", actor=actor, list_id=list_id, apply=apply)


def record_objection(*, list_id: int, name: str, contact: str, content: str, entry_id: int | None = None,
                     user=None, ip: str | None = None, now=None) -> Objection:
    """异议: anyone may raise one while the 公示 runs (name and contact required, so it can be answered)."""
    name, contact, content = (name or "").strip(), (contact or "").strip(), (content or "").strip()
    errors = []
    if not name:
        errors.append(_("请填写异议人姓名或单位。"))
    if not contact:
        errors.append(_("请填写联系方式。"))
    if len(content) < 10:
        errors.append(_("异议内容不少于10个字，请写明事实和理由。"))
    if errors:
        raise InvalidInput(errors, code="objection")
    moment = now or timezone.now()
    today = timezone.localdate(moment)
    with transaction.atomic():
        fl = FundingList.objects.select_for_update(of=("self",)).get(pk=list_id)
        if fl.state != F.PUBLICIZING or not (fl.publicity_start <= today <= fl.publicity_end):
            raise TransitionRefused(_("不在公示期内，不能提出异议。"))
        if ip and fl.objections.filter(ip=ip, created_at__gte=moment - OBJECTION_WINDOW).count() >= (
            OBJECTIONS_PER_ADDRESS
        ):
            raise InvalidInput(_("同一网络地址在24小时内对本清单最多提出%(n)d条异议，请合并反映或电话联系。")
                               % {"n": OBJECTIONS_PER_ADDRESS}, code="objection_limit")
        entry = None
        if entry_id:
            entry = FundingListEntry.objects.filter(funding_list=fl, pk=entry_id, removed_at__isnull=True).first()
            if entry is None:
                raise InvalidInput(_("所选项目不在本次公示名单中。"))
        objection = Objection.objects.create(
            funding_list=fl, entry=entry, submitter_name=name[:100], submitter_contact=contact[:100],
            submitted_by=user if getattr(user, "is_authenticated", False) else None, content=content, ip=ip or None,
        )
        record_audit(actor=user, verb="objection", target=fl, data={"objection": objection.pk,
                                                                   "entry": entry.pk if entry else None})
        notify([fl.built_by], kind=MessageKind.FUNDING_LIST_OBJECTION, title=_("公示异议：%(t)s") % {"t": fl.title},
               body=content[:500], link=_link(fl), target=fl, dedupe_key=f"objection:{objection.pk}")
    return objection


def resolve_objection(*, actor, objection_id: int, upheld: bool, resolution: str) -> Objection:
    """处理异议. Upheld against a project: it comes off the list (kept, with the reason)."""
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以处理异议。"))
    resolution = (resolution or "").strip()
    if not resolution:
        raise InvalidInput(_("请填写处理意见。"))
    with transaction.atomic():
        objection = Objection.objects.select_for_update(of=("self",)).get(pk=objection_id)
        fl = FundingList.objects.select_for_update(of=("self",)).get(pk=objection.funding_list_id)
        if objection.state != Objection.State.OPEN:
            raise TransitionRefused(_("该异议已处理。"))
        if fl.state != F.PUBLICIZING:
            raise TransitionRefused(_("立项清单不在公示阶段。"))
        objection.state = Objection.State.UPHELD if upheld else Objection.State.DISMISSED
        objection.resolution, objection.resolved_by, objection.resolved_at = resolution, actor, timezone.now()
        objection.save(update_fields=["state", "resolution", "resolved_by", "resolved_at"])
        if upheld and objection.entry_id:
            _remove(objection.entry, _("公示异议成立：%(r)s") % {"r": resolution})
        record_audit(actor=actor, verb="resolve_objection", target=fl, reason=resolution,
                     data={"objection": objection.pk, "upheld": upheld})
    return objection


def approve_list(*, actor, list_id: int, now=None) -> FundingList:
    """批准立项 after the 公示 has ended with every objection resolved: the listed applications become Projects
    with their granted amounts; the round's other applications are marked 未立项."""
    _require(actor, "experts.manage_rounds", _("只有科技局业务人员可以批准立项。"))
    today = timezone.localdate(now or timezone.now())

    def guard(fl):
        if today <= fl.publicity_end:
            raise TransitionRefused(_("公示期至 %(end)s 结束，期满后才能批准立项。") % {"end": fl.publicity_end})
        if fl.objections.filter(state=Objection.State.OPEN).exists():
            raise InvalidInput(_("还有未处理的公示异议。"), code="open_objections")

    def apply(fl):
        fl.approved_by, fl.approved_at = actor, timezone.now()
        return ["approved_by", "approved_at"]

    def after(fl, from_state):
        listed = {}
        for e in fl.entries.select_related("item").filter(removed_at__isnull=True):
            listed[e.item.subject_id] = e
        source = _("立项清单 #%(id)d（%(t)s）") % {"id": fl.pk, "t": fl.title}
        skipped = {}
        for e in listed.values():
            try:
                establish_project(actor=actor, application_id=e.item.subject_id, granted_amount=e.granted_amount,
                                  source=source)
            except TransitionRefused:
                # no longer accepted (already decided on another list): nothing is established twice; the entry
                # comes off the list with the reason, and the other projects are approved
                state = Application.objects.filter(pk=e.item.subject_id).values_list("state", flat=True).first()
                label = Application.State(state).label if state else _("不存在")
                _remove(e, _("批准立项时申报书状态为“%(state)s”，未予立项") % {"state": label})
                skipped[e.pk] = state
        if skipped:
            record_audit(actor=actor, verb="approve_skipped", target=fl,
                         data={"entries": [str(pk) for pk in skipped], "states": list(skipped.values())})
        for subject_id in fl.round.items.values_list("subject_id", flat=True):
            if subject_id in listed:
                continue
            if Application.objects.filter(pk=subject_id, state=Application.State.ACCEPTED).exists():
                decline_funding(actor=actor, application_id=subject_id, reason=source)

    return _transition("approve", actor=actor, list_id=list_id, guard=guard, apply=apply, after=after)
