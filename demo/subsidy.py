"""Demo data for 预算调整 and 后补助, all through the services.

预算调整, on two of the spring special call's signed, running projects (demo/funding.py):

* 杭州市第九人民医院 (``dj9y``): an adjustment within the delegation, recorded (备案) and in force at once: part of the
  业务费 moved to 劳务费 (as much as both categories' delegated share allows, in whole thousands of 元: the 重点研发计划
  has no 拨付方案, so the default 10% applies);
* 杭州滨江光电子 (``bjgd``): 120,000 元 moved from 业务费 to 设备费, beyond the delegation (设备费 is never increased
  without the bureau), waiting for the officer's approval.

后补助 (事前立项、事后补助): the programme 企业研发投入后补助 (``hbz``, kind post_subsidy) gets its 拨付方案 (10% of the
verified R&D expense, at most 500,000 元), and a call under it goes the whole way: three 科技型中小企业 apply
(500,000 元 each), the applications are accepted, reviewed by three pool experts each, listed, signed off by the 局领导,
publicised and approved: three Projects whose 任务书 carry the single "后补助" tranche (after verification). All three
are signed; the R&D period ended 20 days ago, and the organisations claimed with their 专项审计报告 (a small PDF):

* 杭州临平数字纺织 (``lpfz``): verified below the claim; the subsidy is 10% of the verified expense (under the cap and
  the grant), the agreement's fiscal amount follows it, and the tranche was paid (recorded by ``finance``, approved by
  ``finance2``);
* 杭州富春江环保 (``fcjhb``): submitted, waiting for the officer (10% of the claim is above the cap: 500,000 元);
* 建德市新安江智能制造 (``jdzz``): returned for correction, to be corrected and resubmitted by the organisation.

Dates are placed in the past through the services' ``now`` arguments (the call opened about 200 days before the first
run, the round 160 days before, the agreements signed 126 days before); the funding list's sign-off and approval and
the 立项 itself are stamped with the time of the run, as in demo/funding.py.

Idempotent: the scheme is created once (found by its programme), the round once (found by its name), an agreement's
story is played only while it is an untouched draft, a claim only when the agreement has none, an adjustment only
when the agreement has none; the payment carries a fixed idempotency key.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.workflow import record_audit
from experts.models import ReviewRound
from funding import budget as fb
from funding import services as fs
from funding import subsidy as sub
from funding.models import BudgetAdjustment, Condition, FundingScheme, PostSubsidyClaim, SchemeTranche, Tranche
from projects import services as project_services
from projects.models import AttachmentKind, BudgetLine, Call, Project

from .funding import FundingSeeder, fund_review

SEED = 20261126
ROUND_NAME = "企业研发投入后补助项目评审"
SCHEME_NAME = "企业研发投入后补助拨付方案"
PERCENT, CAP = Decimal("10.00"), Decimal("500000.00")
EQUIPMENT, BUSINESS, LABOUR = (BudgetLine.Category.EQUIPMENT, BudgetLine.Category.BUSINESS,
                               BudgetLine.Category.LABOUR)

# the 后补助 stories by organisation: (what happens to the claim, claimed R&D expense, verified expense)
CLAIMS = {
    "lpfz": ("paid", Decimal("4286500.00"), Decimal("4123456.78")),
    "fcjhb": ("submitted", Decimal("6850000.00"), None),
    "jdzz": ("returned", Decimal("3120000.00"), None),
}
CLAIM_NOTES = {
    "lpfz": "研发费用经会计师事务所专项审计，含研发人员人工、直接投入、折旧及委托研发费用，附研发费用辅助账。",
    "fcjhb": "研发费用经会计师事务所专项审计，其中委托之江理工大学研发费用68万元，附研发费用辅助账及委托合同。",
    "jdzz": "研发费用经会计师事务所专项审计。",
}
VERIFY_NOTE = ("经核查专项审计报告及研发费用辅助账，核减与研发活动无直接关系的设备维修费、不符合归集口径的人工费用共计"
               "163,043.22元，按核定研发费用的10%核定后补助。")
RETURN_REASON = ("专项审计报告未附研发费用辅助账及分项目归集明细，委托研发费用未附技术合同登记证明，无法核定。"
                 "请补充上述材料，由审计机构出具补充说明后重新提交。")
RECORDED_REASON = ("前瞻性验证入组进度快于计划，需增聘1名临床研究协调员（CRC）负责病例随访与数据录入；"
                   "业务费中数据存储服务采购经比价后有所节余，拟将节余部分调剂用于劳务费。")
PENDING_REASON = ("第二轮流片后须对800G光模块样品开展眼图与误码测试，原计划外协测试排期无法满足进度，"
                  "拟购置一台高速采样示波器（询价约12万元），相应从业务费中的测试化验加工费调减12万元。")
PENDING_MOVE = Decimal("120000.00")


def subsidy_call():
    from .management.commands.seed_demo import ENT, CallSpec  # seed_demo imports this module

    return CallSpec(
        "hbz0", "hbz", "{y}年度企业研发投入后补助项目申报指南", -200, -170, "3000000", "500000", "0",
        "一、支持对象：在杭州市注册的科技型中小企业，围绕主营产品开展研发活动。\n"
        "二、支持方式：事前立项、事后补助。立项后签订任务书，研发完成后凭会计师事务所出具的研发费用专项审计报告申报，"
        "按核定研发费用的10%给予后补助，单个项目最高50万元，核定后一次性拨付。",
        kinds=[ENT], attachments=[AttachmentKind.FEASIBILITY, AttachmentKind.FINANCIAL_STATEMENT], max_per_org=1)


def subsidy_apps():
    from .management.commands.seed_demo import STATE_PATHS, AppSpec, S  # seed_demo imports this module

    accepted = STATE_PATHS[S.ACCEPTED]
    return [
        AppSpec("hbz0", "lpfz", "数码印花智能排产与色彩管理系统研发", accepted,
                ("沈织", "高级工程师", "13905710052"), "500000", "4000000",
                "研发面向小批量多品种订单的数码印花智能排产与色彩管理系统，打通订单、打样与生产数据，缩短交期。",
                "数码印花，智能排产，色彩管理", "520.20"),
        AppSpec("hbz0", "fcjhb", "造纸废水膜法深度处理装备研发", accepted,
                ("富春", "正高级工程师", "13905710062"), "500000", "6000000",
                "研发抗污染复合膜组件与智能清洗控制系统，形成造纸废水深度处理与回用成套装备。",
                "膜分离，造纸废水，智能控制", "520.40"),
        AppSpec("hbz0", "jdzz", "数控机床主轴热误差智能补偿系统研发", accepted,
                ("杨帆", "高级工程师", "13905710132"), "500000", "2500000",
                "研究主轴温度场在线感知与热误差预测模型，开发可嵌入数控系统的热误差实时补偿模块。",
                "数控机床，热误差补偿，智能制造", "520.20"),
    ]


def seed_subsidy(cmd) -> None:
    """Called by seed_demo after seed_checkpoints."""
    SubsidySeeder(cmd).run()


class SubsidySeeder:
    def __init__(self, cmd):
        self.cmd = cmd
        self.funds = FundingSeeder(cmd)
        self.at, self.day = self.funds.at, self.funds.day
        self.officer, self.leader = self.funds.officer, self.funds.leader

    def run(self) -> None:
        for key in ("agreements", "disbursements", "adjustments", "subsidy_claims"):
            self.cmd.created.setdefault(key, 0)
        self.adjustments()
        self.scheme()
        for slug, project in self.batch().items():
            agreement = self.sign(project)
            if agreement is not None:
                self.claim(slug, agreement)

    # ---- 预算调整 ------------------------------------------------------------------------------------------

    def spring(self, slug: str) -> Project | None:
        call = self.cmd.calls.get("zdyf0")
        if call is None:
            return None
        return (Project.objects.filter(call=call, organization=self.cmd.orgs[slug], state=Project.State.ESTABLISHED,
                                       agreement__signed_at__isnull=False).select_related("agreement").first())

    def adjustments(self) -> None:
        recorded, pending = self.spring("dj9y"), self.spring("bjgd")
        if recorded is not None and not BudgetAdjustment.objects.filter(agreement=recorded.agreement).exists():
            lines = fs.budget_of(recorded.agreement)
            (bf, bs), (lf, ls) = lines[BUSINESS], lines[LABOUR]
            delegation = fb.Delegation.of(recorded)
            move = (min(delegation.limit(bf), delegation.limit(lf)) / 1000).to_integral_value(ROUND_DOWN) * 1000
            if move > 0:
                fb.request_adjustment(
                    actor=self.funds.admin(recorded.organization_id), agreement_id=recorded.agreement.pk,
                    lines={BUSINESS: {"fiscal": str(bf - move), "self": str(bs)},
                           LABOUR: {"fiscal": str(lf + move), "self": str(ls)}},
                    reason=RECORDED_REASON, now=self.at(-5, 10))
                self.cmd.created["adjustments"] += 1
        if pending is not None and not BudgetAdjustment.objects.filter(agreement=pending.agreement).exists():
            lines = fs.budget_of(pending.agreement)
            (ef, es), (bf, bs) = lines[EQUIPMENT], lines[BUSINESS]
            if bf >= PENDING_MOVE:
                fb.request_adjustment(
                    actor=self.funds.admin(pending.organization_id), agreement_id=pending.agreement.pk,
                    lines={EQUIPMENT: {"fiscal": str(ef + PENDING_MOVE), "self": str(es)},
                           BUSINESS: {"fiscal": str(bf - PENDING_MOVE), "self": str(bs)}},
                    reason=PENDING_REASON, now=self.at(-2, 15))
                self.cmd.created["adjustments"] += 1

    # ---- 后补助: the programme's rule and the batch --------------------------------------------------------------

    def scheme(self) -> None:
        """The programme's 拨付方案 with its subsidy rule (what the admin's 拨付方案 page writes, audited alike)."""
        program = self.cmd.programs["hbz"]
        if FundingScheme.objects.filter(program=program).exists():
            return
        scheme = FundingScheme.objects.create(program=program, name=SCHEME_NAME, subsidy_percent=PERCENT,
                                              subsidy_cap=CAP)
        SchemeTranche.objects.create(scheme=scheme, position=1, name="后补助", percent=Decimal("100"),
                                     condition=Condition.VERIFIED)
        record_audit(actor=User.objects.get(username="admin"), verb="create", target=scheme,
                     data={"program": program.pk, "call": None, "adjust_percent": str(scheme.adjust_percent),
                           "adjust_equipment_up": scheme.adjust_equipment_up, "subsidy_percent": str(PERCENT),
                           "subsidy_cap": str(CAP), "steps": [["后补助", "100", Condition.VERIFIED, ""]]})

    def batch(self) -> dict[str, Project]:
        """The call: applications accepted, reviewed, listed, publicised and approved (once); its projects by slug."""
        spec = subsidy_call()
        call = self.cmd.calls[spec.key] = self.cmd.call(spec)
        for i, app in enumerate(subsidy_apps()):
            self.cmd.application(app, 110 + i)
        call.refresh_from_db()
        if call.state == Call.State.PUBLISHED:
            project_services.close_call(actor=self.officer, call_id=call.pk)
        if not ReviewRound.objects.filter(call=call, name=ROUND_NAME).exists():
            start = -160
            rnd = self.funds.review_round(call, ROUND_NAME, seed=SEED, start=start, review=fund_review(
                "0.78", 5, "企业研发投入强度较高，研发项目目标明确，具备实施基础，建议立项，研发完成后按核定费用补助。"))
            if rnd is not None:
                self.funds.approve_list(rnd, comment="同意按清单立项，研发完成后按核定研发费用给予后补助。",
                                        publish=start + 10, approve=start + 25)
        projects = {}
        for slug in CLAIMS:
            project = Project.objects.filter(call=call, organization=self.cmd.orgs[slug]).first()
            if project is not None:
                projects[slug] = project
        return projects

    # ---- 后补助: the agreements and the claims -------------------------------------------------------------------

    def sign(self, project: Project):
        """The 任务书 (drafted on 立项, or now for an older database): the R&D period from 130 to 20 days ago, confirmed
        by the organisation and the officer; returns the signed agreement (None if it is no longer signed)."""
        agreement = fs.draft_agreement(project_id=project.pk, actor=None)
        if self.funds.untouched(agreement):
            fs.update_agreement(actor=self.officer, agreement_id=agreement.pk, data={
                "start_date": self.day(-130), "end_date": self.day(-20)})
            fs.confirm_agreement(actor=self.funds.admin(project.organization_id), agreement_id=agreement.pk,
                                 now=self.at(-128, 9))
            fs.confirm_agreement(actor=self.officer, agreement_id=agreement.pk, now=self.at(-126, 16))
            self.cmd.created["agreements"] += 1
            agreement.refresh_from_db()
        return agreement if agreement.signed_at is not None and agreement.state == agreement.State.SIGNED else None

    def claim(self, slug: str, agreement) -> None:
        from .management.commands.seed_demo import demo_pdf  # seed_demo imports this module

        if PostSubsidyClaim.objects.filter(agreement=agreement).exists():
            return
        story, claimed, verified = CLAIMS[slug]
        submitted = {"paid": -16, "submitted": -3, "returned": -12}[story]
        report = SimpleUploadedFile("研发费用专项审计报告.pdf",
                                    demo_pdf(f"R&D expense special audit report - {agreement.number}"),
                                    "application/pdf")
        claim = sub.submit_claim(actor=self.funds.admin(agreement.project.organization_id), agreement_id=agreement.pk,
                                 claimed_expense=claimed, audit_report=report, note=CLAIM_NOTES[slug],
                                 now=self.at(submitted, 16))
        self.cmd.created["subsidy_claims"] += 1
        if story == "returned":
            sub.return_claim(actor=self.officer, claim_id=claim.pk, reason=RETURN_REASON, now=self.at(-7, 15))
        elif story == "paid":
            sub.verify_claim(actor=self.officer, claim_id=claim.pk, verified_expense=verified, note=VERIFY_NOTE,
                             now=self.at(-9, 11))
            tranche = Tranche.objects.get(agreement=agreement, condition=Condition.VERIFIED)
            if tranche.state == Tranche.State.DUE and not tranche.disbursements.exists():
                self.funds.pay(tranche, days=-6, note="后补助已核定，按核定金额一次性拨付。")
