"""Demo data for 期限提醒 and 督办 (issue 6): dated obligations in every stage of the ladder, then one sweep.

The other demo modules leave few deadlines near or past (杭州滨江光电子's 中期检查 due in 6 days is one), so this module
adds a batch whose projects owe something at every stage, all through the services, and then runs the deadline
sweeper once (``activity.sweeper.sweep``), as the beat does every 15 minutes: the inboxes hold the reminders and
the 督办 board (``/office/duban/``) the open items.

The batch: a 社会发展专项 call of the 重点研发计划 taken to 立项 like the spring one (six applications, a review round of
three pool experts each, the list signed off by the 局领导, publicised and approved: six Projects); each agreement
signed by the organisation and the officer and its first tranche paid (``finance`` recorded, ``finance2``
approved), so that nothing but the deadline below is owed. Then, by organisation (``STORIES``):

* five two-year projects that started about 300 days before the first run, whose 中期检查 the officer opened 30 days
  before its due date and which nobody has submitted: due 12 days ago (红牌 under the default policy: red after 10
  days), 5 days ago (黄牌: yellow after 3), yesterday (逾期), in 2 days (3-day reminder) and today (1-day reminder);
* one one-year project that ended 200 days ago without a 中期检查 and whose organisation has not applied for its
  验收 (due 6 months after the end date): 黄牌 when the ``acceptance_due`` kind is registered, and its automatic
  action, a 项目终止建议 for the officer.

The sweep covers every registered kind (``activity.deadlines.registry()``), so whatever other deadlines the demo
holds (a round's review deadline, a payment awaiting approval, an adjustment or a claim awaiting the officer) are
reminded too; a kind that is not registered is simply not swept. The ladder's thresholds are the kinds' policies
(``ReminderPolicy``, editable in the admin); the stages above are those of the defaults.

Dates are placed in the past through the services' ``now`` arguments (``open_midterm`` accepts a due date that is
past today when its ``now`` is earlier). What the services stamp themselves stays at the time of the run, as in
demo/funding.py (the list's sign-off and approval, the 立项, the agreement drafts).

Idempotent: the call, applications and round are found by their titles and name; an agreement is signed only while
it is an untouched draft, a tranche paid only while due without any payment, a 中期检查 opened only when the project
has none; and a second sweep sends nothing twice (a Reminder is unique per obligation, deadline, stage and
recipient), though it does send what has become due since.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from activity.sweeper import SweepResult, sweep
from experts.models import ReviewRound
from funding import services as fs
from funding.models import Tranche
from projects import services as project_services
from projects.checkpoints import services as cs
from projects.models import AttachmentKind, Call, MidtermReport, Project

from .funding import FundingSeeder, fund_review

SEED = 20261123
CALL_KEY = "zdyf-sf"
ROUND_NAME = "社会发展专项重点研发计划项目会评"
TWO_YEARS_START = -300  # the five 中期检查 projects' period starts here (days from the first run)
ONE_YEAR = (-565, -200)  # the short project's period: its 验收申请 was due about 6 months after its end


@dataclass(frozen=True)
class Story:
    stage: str  # what the sweeper sees at the first run (under the default policies)
    midterm_due: int | None = None  # the 中期检查's due date, days from the first run (None: no 中期检查)
    period: tuple[int, int] | None = None  # the agreement's period in days from the first run (default: two years)


STORIES = {
    "qtxc": Story("red", midterm_due=-12),
    "xszb": Story("yellow", midterm_due=-5),
    "wjsj": Story("overdue", midterm_due=-1),
    "qtkj": Story("d3", midterm_due=2),
    "lpzx": Story("d1", midterm_due=0),
    "hzny": Story("acceptance", period=ONE_YEAR),
}


def deadline_call():
    from .management.commands.seed_demo import ENT, HOSP, INST, UNI, CallSpec  # seed_demo imports this module

    return CallSpec(
        CALL_KEY, "zdyf", "杭州市重点研发计划项目（社会发展专项）申报指南", -640, -600, "8000000", "1000000", "0.3",
        "一、支持方向：新材料与绿色低碳、城市安全与智能装备、公共卫生与健康养老、现代农业。\n"
        "二、每项财政资助不超过100万元，按任务书约定分期拨付：签订后拨付60%，中期检查通过后30%，验收通过后10%。\n"
        "三、项目须按期提交中期报告；执行期结束后6个月内申请验收，逾期未申请的按程序终止。",
        kinds=[ENT, UNI, INST, HOSP], attachments=[AttachmentKind.FEASIBILITY], max_per_org=1)


def deadline_apps():
    from .management.commands.seed_demo import STATE_PATHS, AppSpec, S  # seed_demo imports this module

    accepted = STATE_PATHS[S.ACCEPTED]
    return [
        AppSpec(CALL_KEY, "qtxc", "全生物降解聚酯包装材料制备关键技术研究", accepted,
                ("钱大江", "正高级工程师", "13905710012"), "900000", "2100000",
                "研究生物基单体高效聚合与改性技术，研制可替代传统塑料的全生物降解包装材料并实现中试。",
                "生物降解，聚酯，包装材料", "430.30"),
        AppSpec(CALL_KEY, "xszb", "城市地下综合管廊智能巡检机器人研发与示范", accepted,
                ("萧建设", "高级工程师", "13905710032"), "800000", "1600000",
                "研制适应管廊狭长环境的轨道式巡检机器人，融合多传感器实现缺陷识别与隐患预警，在萧山区示范应用。",
                "巡检机器人，综合管廊，隐患预警", "460.40"),
        AppSpec(CALL_KEY, "wjsj", "城市公共卫生事件多源数据监测预警平台研发", accepted,
                ("江望", "高级工程师", "13905710092"), "700000", "900000",
                "汇聚医疗机构、药店与学校缺勤等多源数据，构建传染病早期监测预警模型与平台。",
                "公共卫生，监测预警，多源数据", "520.40"),
        AppSpec(CALL_KEY, "qtkj", "居家老年人慢病智能监测关键技术研究", accepted,
                ("尤明", "教授", "13905710212"), "600000", "600000",
                "研究可穿戴设备的多生理参数融合监测与异常预警方法，在钱塘区社区开展居家养老示范。",
                "智慧养老，可穿戴设备，慢病监测", "520.20"),
        AppSpec(CALL_KEY, "lpzx", "心血管中成药上市后安全性主动监测平台研发", accepted,
                ("陶仁", "主任药师", "13905710412"), "500000", "500000",
                "依托区域医疗数据建立心血管中成药不良反应主动监测与信号挖掘方法，形成监测平台并在临平区应用。",
                "中成药，药物警戒，主动监测", "350.70"),
        AppSpec(CALL_KEY, "hzny", "山核桃林病虫害智能识别与绿色防控决策系统研发", accepted,
                ("施农", "研究员", "13905710222"), "400000", "400000",
                "基于林间图像与气象数据构建山核桃主要病虫害智能识别模型，形成绿色防控决策系统并在临安区示范。",
                "山核桃，病虫害识别，绿色防控", "520.20"),
    ]


def seed_deadlines(cmd, *, run_sweep: bool = True) -> SweepResult | None:
    """Called by seed_demo at the end: the batch, then (unless ``run_sweep`` is false) one sweep of every kind."""
    return DeadlineSeeder(cmd).run(run_sweep=run_sweep)


class DeadlineSeeder:
    def __init__(self, cmd):
        self.cmd = cmd
        self.funds = FundingSeeder(cmd)
        self.at, self.day = self.funds.at, self.funds.day
        self.officer = self.funds.officer

    def run(self, *, run_sweep: bool = True) -> SweepResult | None:
        for key in ("agreements", "disbursements", "checkpoints", "reminders", "escalations"):
            self.cmd.created.setdefault(key, 0)
        for slug, project in self.batch().items():
            story = STORIES[slug]
            if self.sign(project, story) and story.midterm_due is not None:
                self.open_midterm(project, story.midterm_due)
        if not run_sweep:
            return None
        result = sweep(now=timezone.now())
        self.cmd.created["reminders"] += result.reminders
        self.cmd.created["escalations"] += result.escalations_opened + result.escalations_raised
        return result

    def batch(self) -> dict[str, Project]:
        """The call: applications accepted, reviewed, listed, publicised and approved (once); its projects by slug."""
        spec = deadline_call()
        call = self.cmd.calls[spec.key] = self.cmd.call(spec)
        for i, app in enumerate(deadline_apps()):
            self.cmd.application(app, 120 + i)
        call.refresh_from_db()
        if call.state == Call.State.PUBLISHED:
            project_services.close_call(actor=self.officer, call_id=call.pk)
        if not ReviewRound.objects.filter(call=call, name=ROUND_NAME).exists():
            start = -620
            rnd = self.funds.review_round(call, ROUND_NAME, seed=SEED, start=start, review=fund_review(
                "0.79", 11, "立项依据充分，研究内容与考核指标明确，示范应用场景落实，建议立项。"))
            if rnd is not None:
                self.funds.approve_list(rnd, comment="同意按清单立项，按程序公示。", publish=start + 10,
                                        approve=start + 25)
        projects = {}
        for project in Project.objects.filter(call=call).select_related("organization"):
            slug = next((s for s, org in self.cmd.orgs.items() if org.pk == project.organization_id), None)
            if slug in STORIES:
                projects[slug] = project
        return projects

    def sign(self, project: Project, story: Story) -> bool:
        """The 任务书 over the story's period, confirmed by the organisation and the officer four days before it starts,
        and its first tranche paid six days after; True while the agreement is signed and the project running."""
        agreement = fs.draft_agreement(project_id=project.pk, actor=None)
        start_days, end_days = story.period or (TWO_YEARS_START, None)
        if self.funds.untouched(agreement):
            start = self.day(start_days)
            end = self.day(end_days) if end_days is not None else (
                start.replace(year=start.year + 2) - datetime.timedelta(days=1))
            fs.update_agreement(actor=self.officer, agreement_id=agreement.pk,
                                data={"start_date": start, "end_date": end})
            fs.confirm_agreement(actor=self.funds.admin(project.organization_id), agreement_id=agreement.pk,
                                 now=self.at(start_days - 6, 9))
            fs.confirm_agreement(actor=self.officer, agreement_id=agreement.pk, now=self.at(start_days - 4, 16))
            self.cmd.created["agreements"] += 1
            agreement.refresh_from_db()
        first = agreement.tranches.filter(position=1).first()
        if first is not None and first.state == Tranche.State.DUE and not first.disbursements.exists():
            self.funds.pay(first, days=start_days + 2)
        project.refresh_from_db()
        return agreement.signed_at is not None and project.state == Project.State.ESTABLISHED

    def open_midterm(self, project: Project, due: int) -> None:
        """The 中期检查 opened by the officer 30 days before its due date (once), never submitted."""
        if MidtermReport.objects.filter(project=project).exists():
            return
        opened, skipped = cs.open_midterm(actor=self.officer, project_ids=[project.pk], due_date=self.day(due),
                                          now=self.at(due - 30, 9, 30))
        assert not skipped, skipped
        self.cmd.created["checkpoints"] += len(opened)
