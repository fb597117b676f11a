"""Demo data for 中期检查, 验收, 延期, 终止 and 追回 (issue 5), all through the services.

The spring special call's projects (demo/funding.py) carry the stories; the sixth project, 杭州云栖智能科技's (the demo
``orgadmin``'s), still waits for its organisation to confirm the 任务书 and has none.

* 之江理工大学 (``zjlg``), the whole course: its period ran from about two years ago to 20 days ago. Tranche 1 paid
  on signing; the 中期检查 opened, filled in (progress, each target, spending by category, the 中期进展报告), submitted,
  scored by a 中期检查评审 round of three pool experts and concluded 通过, so tranche 2 became due and was paid; the
  验收申请 filled in (summary, each target achieved with its evidence, the final spending, the 项目总结报告, 经费决算报告
  and 专项审计报告), submitted after the end date, scored by a 验收评审 round and concluded 通过: the project is
  completed (已结题), the final tranche became due and was paid. All three tranches paid: the fiscal amount, to the fen.
  Every payment is recorded by ``finance`` and approved by ``finance2``.
* 杭州余杭生物医药 (``yhsy``), terminated with a recovery: the 中期检查 (scored in the second 中期检查评审 round) is
  concluded 不通过 *without* the organisation's fault (the pilot-scale process failed for technical reasons), so the
  project is terminated, its unpaid tranches cancelled, and funding opens the recovery order at once under the
  按结余追回 rule (paid less the fiscal spending the report declared). ``finance`` records one partial repayment and
  ``finance2`` approves it: something is left outstanding.
* 杭州滨江光电子 (``bjgd``): a 中期检查 requested and due in 6 days, partly filled in, not submitted; a pending
  延期申请 (its end date is more than 3 months away).
* 杭州市第九人民医院 (``dj9y``): a 中期报告 submitted and waiting for the officer's next 中期检查评审 round.
* 杭州市现代农业研究院 (``xdny``): a 中期检查 in 整改 (scored in the second round, rectification due in 3 months);
  its 延期申请 approved (the end date moved).

Not seeded: a 验收申请 in draft. A draft needs a running project with no open 中期检查, and the five signed projects
are all taken by the stories above (six projects are one short); the whole-course project shows the 验收 pages.

Dates are placed in the past through the services' ``now`` arguments. What the services stamp themselves stays at
the time of the run: the 验收申请's creation, a tranche's 应拨付 time when a conclusion makes it due, and the
recovery order (opened by funding when the 不通过 is concluded, which is therefore dated the day of the run, with the
repayment).

Idempotent: every step is guarded on the state the previous one leaves (a report that is still to be submitted,
scored or concluded; a tranche still due; a round not yet held, found by its name); payments and repayments carry
fixed idempotency keys. In a database seeded by an older demo, where 之江理工大学's project still runs (its period
not in the past), the whole course is skipped.
"""

from __future__ import annotations

import zlib
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from experts.models import Assignment, ReviewRound
from funding import services as fs
from funding.models import RecoveryOrder, TaskAgreement, Tranche
from projects.checkpoints import services as cs
from projects.models import (
    AcceptanceReport,
    CheckpointAttachmentKind,
    ExtensionRequest,
    MidtermReport,
    Project,
)

from .funding import FundingSeeder

SEED = 20261126
AK = CheckpointAttachmentKind
MS, AS = MidtermReport.State, AcceptanceReport.State
CENT = Decimal("0.01")

MIDTERM_ROUND_1 = "春季专项重点研发计划项目中期检查评审（第一组）"
MIDTERM_ROUND_2 = "春季专项重点研发计划项目中期检查评审（第二组）"
ACCEPTANCE_ROUND = "春季专项重点研发计划项目验收评审"

FAIL_NOTE = ("专家组评审及现场核查认为：双特异性抗体高表达细胞株构建未达到任务书要求，中试放大两批次均未达到质量标准，"
             "关键技术路线经论证难以在剩余期限内完成，项目无法继续实施。经核实系技术原因，非承担单位主观过错，"
             "按结余追回财政资金。")
RECTIFY_NOTE = ("首期财政资金尚未到位，自筹资金支出进度滞后；茶叶品质分级样机尚未完成，绩效指标进展不足。"
                "请落实自筹资金，完成样机研制与产区测试，提交整改报告。")

# how each organisation's report reads to the experts: (share of the maximum score, recommendation, comment)
QUALITY = {
    "zjlg": (Decimal("0.88"), "fund", "阶段目标全部完成，成果真实可信，经费使用规范，建议通过。"),
    "yhsy": (Decimal("0.50"), "reject", "细胞株表达量与中试批次质量均未达到任务书要求，技术路线难以继续，建议不通过。"),
    "xdny": (Decimal("0.68"), "revise", "样机研制与经费支出进度明显滞后，建议限期整改后再行审议。"),
}
ACCEPTANCE_COMMENT = "任务书各项考核指标均已完成，佐证材料充分，决算与预算相符，审计无重大问题，建议通过验收。"

PROGRESS = {
    "zjlg": ("完成小样本缺陷数据集构建（覆盖钱塘区3家电子制造企业12类缺陷），提出基于提示学习的视觉大模型高效微调方法，"
             "在2条产线开展离线验证，检出率达到96.2%；已申请发明专利3件。下一阶段开展缺陷生成方法研究与在线部署。"),
    "yhsy": ("完成候选分子构建与细胞株初筛，但高表达细胞株表达量仅为目标值的42%；两批次中试放大的聚体含量与电荷异构体"
             "均未达到质量标准，工艺开发未能按计划推进。"),
    "xdny": ("完成茶叶近红外光谱采集与分级模型初步构建；视觉分级样机结构设计完成，关键部件采购中。因首期财政资金尚未到位，"
             "样机研制与产区测试有所延后。"),
    "dj9y": ("完成3家合作医院电子病历与生命体征数据的标准化接入（共计1.2万例），构建脓毒症早期预警模型并完成回顾性验证，"
             "AUC达0.87；前瞻性验证方案已通过伦理审查。"),
    "bjgd": "完成硅光调制器芯片设计与首轮流片，高速驱动电路完成仿真验证；封装耦合工艺正在开展。",
}
SUMMARY_ZJLG = (
    "项目围绕工业质检中缺陷样本少、类型多的难题，研究小样本条件下视觉大模型的高效微调与缺陷生成方法，"
    "研制工业视觉质检系统并在钱塘区3家电子制造企业5条产线部署应用，缺陷检出率达到98.1%，误检率低于1.5%。"
    "项目申请发明专利6件（授权2件），形成新产品2项，新增销售收入超过任务书目标，示范应用单位满意度96%。"
    "任务书约定的各项考核指标全部完成。")

# what a report declares, by organisation and stage: (share of each target reached, share of each budget category
# spent from the fiscal funds, and from the self-raised funds)
FIGURES = {
    ("zjlg", "midterm"): (Decimal("0.6"), Decimal("0.5183"), Decimal("0.4627")),
    ("zjlg", "acceptance"): (Decimal("1.2"), Decimal("0.9917"), Decimal("1.0264")),
    ("yhsy", "midterm"): (Decimal("0.2"), Decimal("0.2873"), Decimal("0.3152")),
    ("xdny", "midterm"): (Decimal("0.3"), Decimal("0"), Decimal("0.1846")),
    ("dj9y", "midterm"): (Decimal("0.5"), Decimal("0"), Decimal("0.2531")),
}
EVIDENCE = ["专利申请受理通知书及授权证书（见佐证材料）", "新产品鉴定报告、用户使用报告",
            "示范企业出具的销售合同与财务证明", "示范应用单位满意度调查表"]


def seed_checkpoints(cmd) -> None:
    """Called by seed_demo after seed_funding."""
    CheckpointSeeder(cmd).run()


class CheckpointSeeder:
    def __init__(self, cmd):
        self.cmd = cmd
        self.funds = FundingSeeder(cmd)
        self.at, self.day = self.funds.at, self.funds.day
        self.officer = User.objects.get(username="officer")
        self.clerk, self.approver = self.funds.clerk, self.funds.approver
        self.call = cmd.calls["zdyf0"]

    def run(self) -> None:
        for key in ("checkpoints", "disbursements"):
            self.cmd.created.setdefault(key, 0)
        projects = {slug: self.project(slug) for slug in ("zjlg", "yhsy", "bjgd", "dj9y", "xdny")}
        if any(p is None for p in projects.values()):
            return
        self.whole_course(projects["zjlg"])
        self.midterms(projects)
        self.extensions(projects["bjgd"], projects["xdny"])

    def project(self, slug: str) -> Project | None:
        project = (Project.objects.filter(call=self.call, organization=self.cmd.orgs[slug])
                   .select_related("agreement").first())
        if project is None or project.agreement.signed_at is None:
            return None
        return project

    def writer(self, project: Project) -> User:
        return self.funds.admin(project.organization_id)

    def slug(self, project: Project) -> str:
        return next(slug for slug, org in self.cmd.orgs.items() if org.pk == project.organization_id)

    # ---- story 1: the whole course --------------------------------------------------------------------

    def whole_course(self, project: Project) -> None:
        today = self.day(0)
        if project.end_date is None or project.end_date >= today:
            return  # signed by an older demo with a running period: no course to replay
        writer = self.writer(project)
        report = self.open_midterm([project], days=-400, due=-370).get(project.pk)
        if report is not None and report.state == MS.REQUESTED:
            self.fill_midterm(report, writer, submit=-372)
        self.review(ReviewRound.Kind.MIDTERM, MIDTERM_ROUND_1, start=-371)
        report = MidtermReport.objects.get(project=project)
        if report.state == MS.SUBMITTED:
            cs.conclude_midterm(actor=self.officer, report_id=report.pk, conclusion="pass",
                                note="中期检查通过，按任务书拨付第二期财政资金。", now=self.at(-358, 15))
            self.cmd.created["checkpoints"] += 1
        self.pay_due(project, position=2, days=-350, note="中期检查通过，按任务书拨付第二期财政资金。")

        project.refresh_from_db()
        if project.state == Project.State.ESTABLISHED:
            acceptance = cs.start_acceptance(actor=writer, project_id=project.pk)
            if acceptance.state == AS.DRAFT:
                self.fill_acceptance(acceptance, writer, submit=-12)
        self.review(ReviewRound.Kind.ACCEPTANCE, ACCEPTANCE_ROUND, start=-11)
        acceptance = AcceptanceReport.objects.filter(project=project).first()
        if acceptance is not None and acceptance.state == AS.SUBMITTED:
            cs.conclude_acceptance(actor=self.officer, report_id=acceptance.pk, conclusion="pass",
                                   note="任务书各项考核指标全部完成，同意通过验收。", now=self.at(-3, 15))
            self.cmd.created["checkpoints"] += 1
        self.pay_due(project, position=3, days=-2, note="验收通过，按任务书拨付尾款。")

    # ---- stories 2 and 3: mid-terms of the running projects -------------------------------------------

    def midterms(self, projects: dict[str, Project]) -> None:
        yhsy, bjgd, dj9y, xdny = (projects[s] for s in ("yhsy", "bjgd", "dj9y", "xdny"))
        opened = self.open_midterm([yhsy], days=-60, due=-30)
        opened.update(self.open_midterm([bjgd, dj9y, xdny], days=-24, due=6))
        for project, submit in ((yhsy, -33), (xdny, -18)):
            report = opened.get(project.pk)
            if report is not None and report.state == MS.REQUESTED:
                self.fill_midterm(report, self.writer(project), submit=submit)
        self.review(ReviewRound.Kind.MIDTERM, MIDTERM_ROUND_2, start=-17)

        report = MidtermReport.objects.get(project=xdny)
        if report.state == MS.SUBMITTED:
            cs.conclude_midterm(actor=self.officer, report_id=report.pk, conclusion="rectify", note=RECTIFY_NOTE,
                                now=self.at(-8, 15))
            self.cmd.created["checkpoints"] += 1
        # after the round: dj9y's report waits for the next one; bjgd's is only begun
        report = MidtermReport.objects.get(project=dj9y)
        if report.state == MS.REQUESTED:
            self.fill_midterm(report, self.writer(dj9y), submit=-2)
        report = MidtermReport.objects.get(project=bjgd)
        if report.state == MS.REQUESTED and not report.progress:
            targets = [{"value": "", "evidence": ""} for _row in report.targets]
            targets[0] = {"value": "1", "evidence": "发明专利申请受理通知书"}
            cs.save_midterm(actor=self.writer(bjgd), report_id=report.pk, progress=PROGRESS["bjgd"], targets=targets)

        report = MidtermReport.objects.get(project=yhsy)
        if report.state == MS.SUBMITTED:
            # concluded on the day of the run, when funding opens the recovery order
            cs.conclude_midterm(actor=self.officer, report_id=report.pk, conclusion="fail", note=FAIL_NOTE,
                                fault=False, now=self.cmd.now)
            self.cmd.created["checkpoints"] += 1
        self.repay_part(yhsy)

    def extensions(self, pending: Project, approved: Project) -> None:
        if not ExtensionRequest.objects.filter(project=approved).exists():
            ext = cs.request_extension(
                actor=self.writer(approved), project_id=approved.pk, months=6, now=self.at(-20, 10),
                reason="茶叶品质分级装备须经春茶、夏秋茶两个生产季的产区测试，首期资金到位较晚，申请延期6个月。")
            cs.decide_extension(actor=self.officer, request_id=ext.pk, approve=True, now=self.at(-15, 16),
                                note="理由充分，同意延期6个月，请按调整后的进度完成验收准备。")
            self.cmd.created["checkpoints"] += 1
        if not ExtensionRequest.objects.filter(project=pending).exists():
            cs.request_extension(
                actor=self.writer(pending), project_id=pending.pk, months=9, now=self.at(-3, 11),
                reason="代工厂硅光工艺平台产能调整，第二轮流片排期推迟约半年，封装耦合与客户验证相应顺延，申请延期9个月。")
            self.cmd.created["checkpoints"] += 1

    # ---- steps ----------------------------------------------------------------------------------------

    def open_midterm(self, projects: list[Project], *, days: int, due: int) -> dict[int, MidtermReport]:
        """The projects' mid-terms: opened in one batch unless already opened."""
        have = {r.project_id: r for r in MidtermReport.objects.filter(project__in=projects)}
        missing = [p.pk for p in projects if p.pk not in have]
        if missing:
            opened, skipped = cs.open_midterm(actor=self.officer, project_ids=missing, due_date=self.day(due),
                                              now=self.at(days, 9, 30))
            assert not skipped, skipped
            have.update({r.project_id: r for r in opened})
            self.cmd.created["checkpoints"] += len(opened)
        return have

    def figures(self, report, stage: str) -> tuple[list[dict], dict]:
        """Each target's reached value with its evidence, and the spending by budget category, to the fen."""
        reached, fiscal, own = FIGURES[(self.slug(report.project), stage)]
        targets = []
        for i, row in enumerate(report.targets):
            target = Decimal(row["target_value"])
            value = min(target + 6, Decimal("100")) if row.get("unit") == "%" else target * reached
            targets.append({"value": str(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)),
                            "evidence": EVIDENCE[i % len(EVIDENCE)]})
        spending = {row["category"]: {"fiscal": str((Decimal(row["budget_fiscal"]) * fiscal).quantize(CENT)),
                                      "self": str((Decimal(row["budget_self"]) * own).quantize(CENT))}
                    for row in report.spending}
        return targets, spending

    def upload(self, report, kind: str, report_kind: str, actor: User, name: str, label: str) -> None:
        from .management.commands.seed_demo import demo_pdf  # seed_demo imports this module

        cs.add_attachment(actor=actor, report_kind=report_kind, report_id=report.pk, kind=kind,
                          uploaded=SimpleUploadedFile(name, demo_pdf(f"{label} - {report.project.number}"),
                                                      "application/pdf"))

    def fill_midterm(self, report: MidtermReport, writer: User, *, submit: int) -> None:
        targets, spending = self.figures(report, "midterm")
        cs.save_midterm(actor=writer, report_id=report.pk, progress=PROGRESS[self.slug(report.project)],
                        targets=targets, spending=spending)
        self.upload(report, AK.PROGRESS_REPORT, "midterm", writer, "中期进展报告.pdf", "Mid-term progress report")
        cs.submit_midterm(actor=writer, report_id=report.pk, now=self.at(submit, 16))

    def fill_acceptance(self, report: AcceptanceReport, writer: User, *, submit: int) -> None:
        targets, spending = self.figures(report, "acceptance")
        cs.save_acceptance(actor=writer, report_id=report.pk, summary=SUMMARY_ZJLG, targets=targets,
                           spending=spending)
        for kind, name, label in ((AK.FINAL_REPORT, "项目总结报告.pdf", "Final report"),
                                  (AK.SPENDING_REPORT, "经费决算报告.pdf", "Final accounts"),
                                  (AK.AUDIT_REPORT, "专项审计报告.pdf", "Special audit report"),
                                  (AK.EVIDENCE, "专利授权证书及应用证明.pdf", "Patents and user reports")):
            self.upload(report, kind, "acceptance", writer, name, label)
        cs.submit_acceptance(actor=writer, report_id=report.pk, now=self.at(submit, 16))

    def review(self, kind: str, name: str, *, start: int) -> None:
        """A round of three pool experts per report of the call waiting for one, drawn with a fixed seed and placed
        in the past; closing it hands each report its score."""
        if ReviewRound.objects.filter(call=self.call, kind=kind, name=name).exists():
            return
        model = MidtermReport if kind == ReviewRound.Kind.MIDTERM else AcceptanceReport
        orgs = dict(model.objects.filter(project__call=self.call).values_list("pk", "project__organization_id"))
        slugs = {org.pk: slug for slug, org in self.cmd.orgs.items()}

        def review(a: Assignment, criteria: list) -> tuple[dict, str, str]:
            quality, recommendation, comment = QUALITY[slugs[orgs[a.item.subject_id]]]
            if kind == ReviewRound.Kind.ACCEPTANCE:
                comment = ACCEPTANCE_COMMENT
            noise = Decimal(zlib.crc32(f"{a.item_id}-{a.expert_id}".encode()) % 7 - 3) / 100  # -0.03 .. +0.03
            return ({str(c.pk): min(c.max_score, (c.max_score * (quality + noise)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP)) for c in criteria}, recommendation, comment)

        self.funds.review_round(self.call, name, seed=SEED, review=review, kind=kind, blind=False, start=start)

    def pay_due(self, project: Project, *, position: int, days: int, note: str) -> None:
        tranche = Tranche.objects.get(agreement__project=project, position=position)
        if tranche.state == Tranche.State.DUE and not tranche.disbursements.exists():
            self.funds.pay(tranche, days=days, note=note)

    def repay_part(self, project: Project) -> None:
        """One partial repayment of the recovery order, recorded by finance and approved by finance2."""
        order = RecoveryOrder.objects.filter(agreement__project=project).first()
        if order is None or order.repayments.exists():
            return
        amount = (order.amount_due * Decimal("0.4") / 1000).to_integral_value(rounding=ROUND_DOWN) * 1000
        agreement = TaskAgreement.objects.get(pk=order.agreement_id)
        today = self.day(0)
        repayment = fs.record_repayment(
            actor=self.clerk, order_id=order.pk, amount=amount.quantize(CENT), received_on=today,
            voucher_no=f"ZJNX{today:%Y%m%d}{order.pk * 41 % 100000:05d}",
            idempotency_key=f"demo-repay-{agreement.number}-1")
        fs.approve_repayment(actor=self.approver, repayment_id=repayment.pk,
                             note="已核对缴款凭证，首笔缴回已到账，余款请单位按期缴回。")
