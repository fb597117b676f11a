"""Demo data for 任务书 and disbursements (issue 5), all through the services.

The demo's other batches stop before 立项 (the officer approves the first batch's list) or are 揭榜 projects, so
this module adds a batch that went the whole way: the spring special call of the 重点研发计划 (six applications,
accepted, reviewed by three pool experts each, the 立项 list signed off by the 局领导, its 公示 ended, approved by
the officer: six Projects, their draft 任务书 made by the funding receiver). Then, placed in the recent past:

* five of the six agreements signed (the organisation's admin and the officer confirm online), the sixth
  (杭州云栖智能科技, the demo ``orgadmin``'s own) confirmed by the bureau only and waiting for the organisation;
  two of them (之江理工大学's and 杭州余杭生物医药's, ``PERIODS``) started long ago, so that their 中期检查 and 验收
  (demo/checkpoints.py) can lie in the past;
* the first tranche (60% on signing) of three recorded by ``finance`` and approved by ``finance2``;
* of those, one payment returned by the bank (银行退票) and taken back by an approved reversal, so its tranche is
  due again;
* two more first tranches recorded by ``finance`` and waiting in ``finance2``'s approval queue;
* the 揭榜 projects: both teams' agreements signed; the winning team whose first milestone passed has its
  milestone-1 tranche due (signing catches up on the checkpoint); the stopped team's ended with it (terminated,
  its tranches cancelled).

Dates: the call opened 200 days before the first run and its 公示 started 45 days before; confirmations and
payments are placed in the weeks before the first run through the services' ``now`` arguments (for the two
``PERIODS`` projects: at the start of their period, two years and 400 days ago). The 立项 itself
is stamped with the time of the run (``establish_project`` takes no ``now``), so a project's 立项时间 (shown in
the admin only) is later than its agreement's signing.

Any project without an agreement (a database seeded before funding was installed) gets its draft first.
Idempotent: a story is played only while its agreement is still an untouched draft; disbursements carry fixed
idempotency keys.
"""

from __future__ import annotations

import datetime
import zlib
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from experts.models import Assignment, FundingList, ReviewRound
from experts.services import assign, funding, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from funding import services as fs
from funding.models import Disbursement, TaskAgreement, Tranche
from projects import services as project_services
from projects.models import AttachmentKind, Call, Project

from .challenges import HUB

CONFIRM_ALL = [code for code, _label in COMMITMENT_ITEMS]
SEED = 20261124
ROUND_NAME = "春季专项重点研发计划项目会评"
BANK_RETURN = "银行退票：收款账户户名与开户行登记信息不一致，款项已原路退回财政专户，待单位更正账户后重新拨付。"

# what happens to each project's agreement: "paid" (first tranche paid), "returned" (paid, bank return reversed),
# "queued" (recorded, waiting for approval), "office" (confirmed by the bureau only)
STORIES = {"zjlg": "paid", "yhsy": "paid", "bjgd": "returned", "dj9y": "queued", "xdny": "queued",
           "yunqi": "office"}
# agreement periods (days from the first run) of the projects whose 中期检查 and 验收 lie in the past
# (demo/checkpoints.py): signed on the fourth day, first tranche paid on the tenth; the others start 40 days ago,
# run two years and were signed in the last five weeks
PERIODS = {"zjlg": (-760, -20), "yhsy": (-400, 330)}


def spring_call():
    from .management.commands.seed_demo import ENT, HOSP, INST, UNI, CallSpec  # seed_demo imports this module

    return CallSpec(
        "zdyf0", "zdyf", "{y}年度杭州市重点研发计划项目（春季专项）申报指南", -200, -150, "10000000", "1500000", "0.5",
        "一、支持方向：工业软件与数据安全、光电子、生物医药、智慧农业。\n"
        "二、每项财政资助不超过150万元，按任务书约定分期拨付：签订后拨付60%，中期检查通过后30%，验收通过后10%。",
        kinds=[ENT, UNI, INST, HOSP], attachments=[AttachmentKind.FEASIBILITY], max_per_org=2)


def spring_apps():
    from .management.commands.seed_demo import STATE_PATHS, AppSpec, S

    accepted = STATE_PATHS[S.ACCEPTED]
    return [
        AppSpec("zdyf0", "yunqi", "工业数据安全分级分类与合规检测平台研发", accepted,
                ("刘洋", "研究员", "13905710003"), "900000", "1100000",
                "研究工业数据自动识别、分级分类与合规风险检测技术，形成可在制造企业部署的数据安全检测平台。",
                "数据安全，分级分类，合规检测", "520.40"),
        AppSpec("zdyf0", "zjlg", "面向工业质检的小样本视觉大模型关键技术研究", accepted,
                ("许衡", "教授", "13905710203"), "1000000", "1000000",
                "研究小样本条件下视觉大模型的高效微调与缺陷生成方法，在钱塘区电子制造企业开展验证。",
                "视觉大模型，小样本学习，工业质检", "520.20"),
        AppSpec("zdyf0", "bjgd", "硅光集成800G高速光模块关键技术研究", accepted,
                ("林光", "正高级工程师", "13905710022"), "1200000", "1800000",
                "突破硅光调制器、高速驱动与封装耦合技术，研制800G硅光集成光模块样品并通过客户验证。",
                "硅光，光模块，光电子集成", "510.30"),
        AppSpec("zdyf0", "yhsy", "新型双特异性抗体药物工艺开发与中试", accepted,
                ("余康", "研究员", "13905710042"), "1500000", "2500000",
                "建立双特异性抗体高表达细胞株与纯化工艺，完成中试放大和质量研究，形成IND申报资料。",
                "双特异性抗体，工艺开发，中试", "350.70"),
        AppSpec("zdyf0", "dj9y", "基于医疗大数据的脓毒症早期预警系统研发", accepted,
                ("金铭", "主任医师", "13905710402"), "800000", "800000",
                "融合电子病历与生命体征数据构建脓毒症早期预警模型，在3家医院开展前瞻性验证。",
                "脓毒症，早期预警，医疗大数据", "520.40"),
        AppSpec("zdyf0", "xdny", "茶叶加工品质在线视觉分级装备研发", accepted,
                ("吕禾", "高级农艺师", "13905710302"), "700000", "700000",
                "研制基于机器视觉与近红外光谱的茶叶在线品质分级装备，在西湖龙井产区示范应用。",
                "茶叶加工，机器视觉，品质分级", "520.20"),
    ]


def fund_review(floor: str, step: int, comment: str):
    """A ``review`` for FundingSeeder.review_round: every criterion scored at ``floor`` to ``floor`` + 0.10 of its
    maximum (varied by item, ``step``, and expert), recommending funding with ``comment``."""

    def review(a: Assignment, criteria: list) -> tuple[dict, str, str]:
        # varied by what the pair is, never by row ids (those differ between databases and runs)
        share = Decimal(floor) + Decimal(zlib.crc32(f"{step}-{a.item.title}-{a.expert.user.username}".encode())
                                         % 11) / 100
        return {str(c.pk): (c.max_score * share).quantize(Decimal("0.1")) for c in criteria}, "fund", comment

    return review


def seed_funding(cmd) -> None:
    """Called by seed_demo after the reviews and the 揭榜挂帅 challenges."""
    FundingSeeder(cmd).run()


class FundingSeeder:
    def __init__(self, cmd):
        self.cmd = cmd
        self.local = timezone.localtime(cmd.now)
        self.officer = User.objects.get(username="officer")
        self.leader = User.objects.get(username="leader")
        self.clerk = User.objects.get(username="finance")
        self.approver = User.objects.get(username="finance2")

    def at(self, days: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
        return (self.local + datetime.timedelta(days=days)).replace(hour=hour, minute=minute, second=0,
                                                                    microsecond=0)

    def day(self, days: int) -> datetime.date:
        return self.local.date() + datetime.timedelta(days=days)

    def admin(self, org_id: int) -> User:
        slug = next(slug for slug, org in self.cmd.orgs.items() if org.pk == org_id)
        return User.objects.get(username="orgadmin" if slug == "yunqi" else f"{slug}-admin")

    # ---- steps ----------------------------------------------------------------------------------------

    def run(self) -> None:
        for key in ("agreements", "disbursements"):
            self.cmd.created.setdefault(key, 0)
        self.spring_batch()
        for project in Project.objects.filter(agreement__isnull=True).order_by("pk"):
            fs.draft_agreement(project_id=project.pk, actor=None)
            self.cmd.created["agreements"] += 1
        self.spring_agreements()
        self.challenge_agreements()

    def spring_batch(self) -> None:
        """The spring call: applications accepted, reviewed, listed, publicised and approved (once)."""
        spec = spring_call()
        call = self.cmd.calls[spec.key] = self.cmd.call(spec)
        for i, app in enumerate(spring_apps()):
            self.cmd.application(app, 100 + i)
        call.refresh_from_db()
        if call.state == Call.State.PUBLISHED:
            project_services.close_call(actor=self.officer, call_id=call.pk)
        if ReviewRound.objects.filter(call=call, name=ROUND_NAME).exists():
            return
        rnd = self.review_round(call, ROUND_NAME, seed=SEED, review=fund_review(
            "0.80", 7, "研究目标明确，技术路线可行，考核指标可量化，经费预算合理，建议立项。"))
        if rnd is not None:
            self.approve_list(rnd, comment="同意按清单立项，按程序公示。", publish=-45)

    def review_round(self, call: Call, name: str, *, seed: int, review, kind: str = ReviewRound.Kind.APPLICATION,
                     blind: bool = True, start: int | None = None) -> ReviewRound | None:
        """A round of three pool experts per subject of the call waiting for one (its accepted applications, or its
        projects' submitted reports of ``kind``), drawn at random with ``seed``. Every expert drawn accepts and
        submits ``review(assignment, criteria)``: (scores by criterion pk, recommendation, comment); then the round
        is closed, handing each subject its score. Held ``start`` days from the run (deadlines 3 and 7 days later,
        every step placed in the past), or without ``start`` at the time of the run (deadlines 3 and 14 days away).
        None if nothing waits for review."""
        if start is None:
            local = timezone.localtime()
            respond_by, review_by = ((local + datetime.timedelta(days=days)).replace(
                hour=17, minute=0, second=0, microsecond=0) for days in (3, 14))
        else:
            respond_by, review_by = self.at(start + 3, 17), self.at(start + 7, 17)

        def when(days: int, hour: int, minute: int = 0) -> datetime.datetime | None:
            return None if start is None else self.at(start + days, hour, minute)

        rnd = rounds.create_round(actor=self.officer, call_id=call.pk, kind=kind, data={
            "name": name, "experts_per_item": 3, "blind": blind, "aggregation": ReviewRound.Aggregation.MEAN,
            "response_deadline": respond_by, "review_deadline": review_by,
        })
        if not rounds.add_items(actor=self.officer, round_id=rnd.pk):  # pragma: no cover - nothing to review
            return None
        rounds.start_round(actor=self.officer, round_id=rnd.pk, now=when(0, 10))
        assign.run_draw(actor=self.officer, round_id=rnd.pk, method="random", seed=seed, now=when(0, 10, 5))
        criteria = list(rnd.criteria.all())
        for a in (Assignment.objects.filter(round=rnd, state=Assignment.State.INVITED)
                  .select_related("expert__user", "item").order_by("id")):
            user = a.expert.user
            reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=CONFIRM_ALL, ip="10.12.3.46",
                                      user_agent="Mozilla/5.0 (demo)", now=when(1, 9))
            scores, recommendation, comment = review(a, criteria)
            reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores, recommendation=recommendation,
                                  comment=comment, now=when(4, 15))
        rounds.close_round(actor=self.officer, round_id=rnd.pk, now=when(7, 17, 30))
        return rnd

    def approve_list(self, rnd: ReviewRound, *, comment: str, publish: int, approve: int | None = None) -> None:
        """The round's 立项 list (cut-off 70 points, 5 working days of 公示): signed off by the 局领导 with ``comment``,
        publicised from ``publish`` days from the run and approved by the officer (``approve`` days from the run,
        or at the time of the run)."""
        fl = funding.build_funding_list(actor=self.officer, round_id=rnd.pk, cutoff_score="70", publicity_workdays=5)
        funding.submit_for_signoff(actor=self.officer, list_id=fl.pk)
        funding.sign_off(actor=self.leader, list_id=fl.pk, comment=comment)
        funding.publish_list(actor=self.officer, list_id=fl.pk, start=self.day(publish))
        fl = funding.approve_list(actor=self.officer, list_id=fl.pk,
                                  now=None if approve is None else self.at(approve, 15))
        assert fl.state == FundingList.State.APPROVED

    def spring_agreements(self) -> None:
        call = self.cmd.calls["zdyf0"]
        for offset, (slug, story) in enumerate(STORIES.items()):
            org = self.cmd.orgs[slug]
            project = Project.objects.filter(call=call, organization=org).select_related("agreement").first()
            if project is None:
                continue
            agreement = project.agreement
            if not self.untouched(agreement):
                continue
            if slug in PERIODS:
                start_days, end_days = PERIODS[slug]
                start, end, signed = self.day(start_days), self.day(end_days), start_days + 4
            else:
                start, signed = self.day(-40), -36 + offset
                end = start.replace(year=start.year + 2) - datetime.timedelta(days=1)
            fs.update_agreement(actor=self.officer, agreement_id=agreement.pk, data={
                "start_date": start, "end_date": end})
            if story == "office":
                fs.confirm_agreement(actor=self.officer, agreement_id=agreement.pk, now=self.at(-3, 15))
                continue
            fs.confirm_agreement(actor=self.admin(org.pk), agreement_id=agreement.pk, now=self.at(signed - 2, 9))
            fs.confirm_agreement(actor=self.officer, agreement_id=agreement.pk, now=self.at(signed, 16))
            self.cmd.created["agreements"] += 1
            first = agreement.tranches.get(position=1)
            if story == "queued":
                self.pay(first, days=-2 - offset % 2, approve=False)
                continue
            payment = self.pay(first, days=signed + 6)
            if story == "returned":
                reversal = fs.reverse_disbursement(
                    actor=self.clerk, disbursement_id=payment.pk, voucher_no=self.voucher(-25, first, "R"),
                    paid_on=self.day(-25), idempotency_key=f"demo-reverse-{agreement.number}-1", note=BANK_RETURN,
                    now=self.at(-25, 11))
                fs.approve_disbursement(actor=self.approver, disbursement_id=reversal.pk,
                                        note="已核对银行退票通知书，同意冲正。", now=self.at(-24, 10))
                self.cmd.created["disbursements"] += 1

    def challenge_agreements(self) -> None:
        """The running team's agreement signed after its first milestone passed (signing catches up on the passed
        checkpoint: the milestone-1 tranche becomes due). The stopped team's agreement ended when the team was
        stopped (terminated, its tranches cancelled), so it is left as it is."""
        for project in Project.objects.filter(challenge__title=HUB.title).select_related("agreement").order_by("pk"):
            agreement = project.agreement
            if not self.untouched(agreement):
                continue
            fs.confirm_agreement(actor=self.admin(project.organization_id), agreement_id=agreement.pk,
                                 now=self.at(-20, 9))
            fs.confirm_agreement(actor=self.officer, agreement_id=agreement.pk, now=self.at(-2, 16))
            self.cmd.created["agreements"] += 1

    # ---- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def untouched(agreement: TaskAgreement) -> bool:
        return (agreement.state == TaskAgreement.State.DRAFT and agreement.org_confirmed_by_id is None
                and agreement.office_confirmed_by_id is None and not agreement.disbursements.exists())

    def voucher(self, days: int, tranche: Tranche, suffix: str = "") -> str:
        """A 浙江农信 bank voucher number: ZJNX, the payment date, five digits."""
        return f"ZJNX{self.day(days):%Y%m%d}{(tranche.pk * 37 + (7 if suffix else 0)) % 100000:05d}"

    def pay(self, tranche: Tranche, *, days: int, approve: bool = True,
            note: str = "按任务书约定拨付首期财政资金。") -> Disbursement:
        d = fs.record_disbursement(
            actor=self.clerk, tranche_id=tranche.pk, amount=tranche.amount, voucher_no=self.voucher(days, tranche),
            paid_on=self.day(days), idempotency_key=f"demo-pay-{tranche.agreement.number}-{tranche.position}",
            note=note, now=self.at(days, 14))
        self.cmd.created["disbursements"] += 1
        if approve:
            d = fs.approve_disbursement(actor=self.approver, disbursement_id=d.pk, note="凭证齐全，金额无误。",
                                        now=self.at(days + 1, 10))
        return d
