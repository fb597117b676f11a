"""Demo data for 揭榜挂帅 (issue 4): needs and 榜单 of 杭州 enterprises in every stage, all through the services.

* 分布式轮毂电驱动系统关键技术 (杭州钱江汽车零部件, 赛马制, up to 3 teams): published five months ago, three teams
  bid (one alone, one a consortium of a company and a university, one more alone) and a fourth left its draft,
  voided at the deadline by the sweeper; the bids were reviewed by experts of the pool (机械工程 460), the poster
  confirmed two winners; at the first milestone both reported, the poster judged, one passed and the other
  failed and was stopped (终止).
* 新型环保颜料 (杭州钱塘华彩颜料化工): open for bids until a date in the future, two 答疑 answered and one open,
  one bid draft, one submitted and one withdrawn. The demo ``applicant`` (杭州云栖智能科技) may bid on it.
* 智能传感器 (杭州西溪精测仪器): one need waiting for the officer (已提交), one 论证中.
* 造纸污泥 (杭州富春江环保): 流标 with its only bid voided, then republished (open again, 第2轮).
* 数码印花排产软件 (杭州临平数字纺织): rejected at vetting, with the reason.

The timeline is placed relative to the time of the first run through the services' ``now`` arguments (the demo
has no clock of its own). Idempotent: a challenge found by its poster and title is left alone, so is its story.
"""

from __future__ import annotations

import datetime
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from accounts.models import Organization, User
from experts.models import Assignment, ReviewRound
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeField

from .reviews import ReviewSeeder

CONFIRM_ALL = [code for code, _label in COMMITMENT_ITEMS]
SEED = 20261123
W = Decimal

# new enterprises that post challenges: slug, name, region, admin (name, phone, e-mail), legal representative,
# address, 高企, 科技型中小企业, credit-code seed (apart from the seeds of seed_demo's ORGS)
POSTERS = [
    ("qjqp", "杭州钱江汽车零部件有限公司", "萧山区", ("邵建华", "13905710141", "shaojh@qjqp.example.com"), "钱江",
     "杭州市萧山区经济技术开发区鸿达路 158 号", True, False, 41),
    ("hcyl", "杭州钱塘华彩颜料化工有限公司", "钱塘区", ("柳彩霞", "13905710151", "liucx@hcyl.example.com"), "华彩",
     "杭州市钱塘区临江街道纬十路 399 号", True, True, 42),
    ("jcyq", "杭州西溪精测仪器有限公司", "余杭区", ("程立诚", "13905710161", "chenglc@jcyq.example.com"), "程精",
     "杭州市余杭区五常街道联胜路 10 号", False, True, 43),
]


@dataclass
class BidSpec:
    org: str  # slug of the bidding organisation (its admin writes the bid)
    title: str
    plan: str
    foundation: str
    leader: tuple[str, str, str, str]  # name, title, phone, birth (YYYYMMDD)
    amount: str
    milestones: list[tuple[str, str, int, str]]  # title, targets, due (days after today), amount
    members: list[tuple[str, str, str]] = field(default_factory=list)  # name, title, role (of the lead org)
    partners: list[tuple[str, str]] = field(default_factory=list)  # org slug, role
    keywords: str = ""


@dataclass
class NeedSpec:
    poster: str
    title: str
    field: str
    discipline: str
    keywords: str
    problem: str
    outcome: str
    period: int
    enterprise: str
    subsidy: str
    targets: list[tuple[str, str, str, str]]
    contact: tuple[str, str]
    max_winners: int = 1


HUB = NeedSpec(
    "qjqp", "分布式轮毂电驱动系统关键技术", ChallengeField.MANUFACTURING, "460.40",
    "轮毂电机，分布式驱动，油冷，SiC控制器，热管理",
    "新能源商用车和特种车辆采用分布式轮毂电驱动可取消传动轴与差速器、释放底盘空间，但现有国产轮毂电机峰值功率密度"
    "普遍低于3.5 kW/kg，簧下质量大、持续大扭矩工况下绕组温升快，且缺少满足IP67与整车振动要求的集成方案，关键总成"
    "依赖进口。我公司年配套轮边驱动总成2万台套，急需突破高功率密度轮毂电机设计、油冷散热与电机控制器一体化集成技术。",
    "形成可量产的分布式轮毂电驱动总成（电机、控制器、制动与轮边集成），完成台架试验与不少于2台样车装车验证，"
    "申请发明专利不少于5件，具备年产5000台套的工艺条件。",
    24, "2000000", "1000000",
    [("峰值功率密度", "≥4.5", "kW/kg", "第三方检测机构出具的台架测试报告"),
     ("峰值扭矩", "≥1200", "N·m", "台架测试，持续30 s"),
     ("系统最高效率", "≥94", "%", "按GB/T 18488.2测试"),
     ("防护等级", "IP67", "", "型式试验报告"),
     ("样车验证里程", "≥10000", "km", "发榜企业组织道路试验并出具报告")],
    ("邵建华", "0571-82861588"), max_winners=3,
)
HUB_BIDS = [
    BidSpec("znzz", "油冷扁线轮毂电机与SiC控制器一体化方案",
            "采用扁线绕组与定子直接油冷，碳纤维护套表贴转子降低簧下质量；SiC功率模块与电机壳体一体化集成，"
            "通过多物理场联合仿真优化电磁与热设计，分两阶段完成台架验证与装车验证。",
            "我院已研制两代轮边电机样机（峰值功率密度3.9 kW/kg），拥有300 kW电驱动测试台架和EMC实验室。",
            ("孔捷", "研究员", "13905710312", "19800516"), "1500000",
            [("样机研制与台架验证", "峰值功率密度≥4.0 kW/kg，峰值扭矩≥1000 N·m", -8, "600000"),
             ("装车验证与第三方检测", "峰值功率密度≥4.5 kW/kg，效率≥94%，IP67，样车10000 km", 270, "900000")],
            members=[("鲁一鸣", "高级工程师", "电磁设计"), ("葛晨", "工程师", "热管理与油冷系统"),
                     ("钱多多", "工程师", "控制器与软件")],
            keywords="扁线电机，油冷，SiC"),
    BidSpec("xszb", "轴向磁通轮毂电机与分布式驱动控制联合攻关方案",
            "企业牵头、高校联合：轴向磁通拓扑提高转矩密度，之江理工大学负责电磁设计与多物理场仿真，"
            "我公司负责结构、工艺和小批量试制，联合开展分布式驱动扭矩矢量控制研究。",
            "我公司具备精密机加工与装配产线；之江理工大学电机团队承担过国家重点研发计划课题。",
            ("萧远", "研究员级高工", "13905710032", "19780322"), "1500000",
            [("轴向磁通样机与台架验证", "峰值功率密度≥4.0 kW/kg，峰值扭矩≥1000 N·m", -8, "600000"),
             ("分布式驱动装车验证", "峰值功率密度≥4.5 kW/kg，效率≥94%，IP67，样车10000 km", 270, "900000")],
            members=[("萧宁", "高级工程师", "结构设计与工艺"), ("陆平", "工程师", "控制策略")],
            partners=[("zjlg", "电磁设计、多物理场仿真与台架测试")],
            keywords="轴向磁通，扭矩矢量控制"),
    BidSpec("jdzz", "外转子轮毂电机集成行星减速方案",
            "外转子电机与单级行星减速器集成于轮毂内，以减速增扭降低电机体积，配合风冷-油冷复合散热。",
            "我公司为数控机床电主轴供应商，有电机绕制与精密齿轮加工能力。",
            ("方远航", "高级工程师", "13905710133", "19820909"), "1200000",
            [("集成样机研制", "峰值扭矩≥1200 N·m", -8, "500000"),
             ("样车验证", "峰值功率密度≥4.5 kW/kg", 270, "700000")],
            members=[("严谨", "工程师", "减速器设计")],
            keywords="外转子，行星减速"),
]
# left as a draft and voided when the sweeper closed the challenge
HUB_DRAFT = BidSpec("bjgd", "轮毂电机高可靠位置传感与冗余控制方案", "", "",
                    ("许诺", "工程师", "13905710023", "19900811"), "0", [])

PIGMENT = NeedSpec(
    "hcyl", "新型环保颜料（无重金属高耐候无机颜料）关键技术", ChallengeField.MATERIALS, "430.35",
    "环保颜料，铋黄，无重金属，耐候性，包膜改性",
    "铅铬黄、镉系颜料因含重金属正被欧盟REACH和国内涂料有害物质限量标准逐步淘汰，汽车修补漆、户外卷材涂料急需"
    "无重金属、色彩鲜艳且耐候耐热的替代颜料。国产钒酸铋等替代品耐候性仅500 h左右、耐热温度低于200 ℃，高端市场"
    "基本被国外企业垄断。我公司现有颜料产能1.2万吨/年，需在现有砂磨、煅烧和喷雾干燥产线上实现替代产品量产。",
    "形成1～2种无重金属高耐候黄色、橙色无机颜料的配方与包膜改性工艺，完成百吨级中试并在2家以上涂料企业应用验证。",
    18, "1400000", "600000",
    [("耐候性（氙灯老化）", "≥1000", "h", "GB/T 1865 氙灯老化后ΔE*ab≤2.0，第三方检测"),
     ("耐热性", "≥280", "℃", "GB/T 1706 保温5 min色差ΔE≤3"),
     ("重金属含量（铅、镉、汞、六价铬）", "≤10", "mg/kg", "GB/T 23991，CMA第三方检测"),
     ("着色力", "≥100", "%", "与进口标样对比，GB/T 5211.19"),
     ("中试规模", "≥100", "t/年", "发榜企业现场核查")],
    ("柳彩霞", "0571-86903322"),
)
PIGMENT_SUBMITTED = BidSpec(
    "qtkj", "铋钒酸盐-氧化硅核壳包膜高耐候颜料制备与中试方案",
    "以钒酸铋为核、致密无定形二氧化硅和氧化铝双层包膜提高耐候和耐热性；采用共沉淀-梯度煅烧工艺控制晶型，"
    "在发榜企业现有产线上完成百吨级中试。",
    "课题组在无机功能粉体包覆领域有10年积累，已获相关发明专利6件。",
    ("秦越", "副教授", "13905710212", "19860707"), "1800000",
    [("实验室配方与包膜工艺", "耐候性≥800 h，耐热性≥260 ℃，重金属未检出", 210, "700000"),
     ("百吨级中试与应用验证", "耐候性≥1000 h，耐热性≥280 ℃，中试≥100 t/年", 480, "1100000")],
    members=[("尤佳", "讲师", "粉体合成"), ("施雨", "博士研究生", "性能表征")],
    keywords="钒酸铋，核壳包膜",
)
PIGMENT_DRAFT = BidSpec(
    "qtxc", "复合包核铋黄颜料低成本制备技术方案",
    "以廉价硅酸盐为核、钒酸铋为壳降低铋用量，控制成本在进口产品的80%以内。", "",
    ("钱程", "教授级高工", "13905710012", "19760218"), "1600000",
    [("小试配方", "耐候性≥800 h", 200, "600000")],
)
PIGMENT_WITHDRAWN = BidSpec(
    "fcjhb", "环保颜料生产废水零排放配套方案", "以颜料合成母液回收为切入点配套攻关。", "",
    ("冯清", "高级工程师", "13905710062", "19790101"), "900000", [],
)
PIGMENT_QUESTIONS = [
    # asking org, question, answered by ("poster" / "officer" / None), answer
    ("qtxc", "榜单要求耐候性≥1000 h氙灯老化，请问按GB/T 1865还是ISO 16474-2执行？色差的判定基准是什么？",
     "poster", "按GB/T 1865—2009方法1（循环A）执行，试板采用丙烯酸氨基烘漆体系，老化1000 h后与未老化板比较，"
               "ΔE*ab≤2.0为合格；检测由具有CMA资质的第三方机构完成，费用由揭榜方承担。"),
    ("fcjhb", "高校能否作为牵头单位揭榜？联合体成员的数量有没有限制？",
     "officer", "揭榜单位不限性质，企业、高校、科研院所均可牵头，鼓励产学研联合揭榜；联合体成员不超过10家，"
                "须在方案中写明分工。发榜企业不得作为揭榜方或联合体成员。"),
    ("qtkj", "中试阶段能否使用发榜企业现有的砂磨和喷雾干燥产线？相关费用是否计入揭榜金额？", None, ""),
]

SLUDGE = NeedSpec(
    "fcjhb", "造纸污泥低碳干化与资源化利用成套技术", ChallengeField.ENERGY, "610.30",
    "造纸污泥，低温干化，资源化，碳减排",
    "富阳区造纸企业每年产生含水率80%的造纸污泥约40万吨，现有板框压滤加焚烧工艺能耗高、碳排放大，"
    "污泥中的纤维和无机填料未能回收利用。",
    "形成日处理100吨的造纸污泥低温干化与纤维、填料回收成套装备，并在富阳区造纸园区示范运行。",
    24, "1500000", "1000000",
    [("干化单位能耗", "≤0.75", "kWh/kg水", "连续运行72 h第三方能效测试"),
     ("干化后含水率", "≤30", "%", "第三方检测"),
     ("纤维回收率", "≥60", "%", "物料衡算，发榜企业核查")],
    ("冯磊", "0571-63358899"),
)
SLUDGE_BID = BidSpec(
    "zjlg", "造纸污泥热泵低温干化与纤维回收方案",
    "采用闭式热泵除湿干化回收潜热，配合水力分级回收纤维。", "课题组开展过市政污泥热泵干化中试。",
    ("许衡", "教授", "13905710203", "19720415"), "2200000",
    [("中试装置建设", "单位能耗≤0.9 kWh/kg水", 150, "1000000"),
     ("示范线运行", "单位能耗≤0.75 kWh/kg水，含水率≤30%", 600, "1200000")],
    members=[("许多", "讲师", "热泵系统")],
)
PRINTING = NeedSpec(
    "lpfz", "纺织品数码印花小批量订单排产管理软件升级", ChallengeField.ELECTRONICS, "520.40",
    "数码印花，排产，管理软件",
    "企业现有排产软件不支持小批量多品种订单的自动排产，需要升级。", "完成排产管理软件升级并上线运行。",
    12, "300000", "300000",
    [("排产效率提升", "≥30", "%", "上线前后对比")],
    ("王芳", "0571-86201234"),
)
PRINTING_REASON = ("该需求属于企业常规信息化软件升级，不涉及制约产业发展的关键核心技术，技术难度和创新性不足，"
                   "不符合揭榜挂帅榜单定位；建议申报企业数字化改造相关扶持政策。")

SENSOR_WAITING = NeedSpec(
    "jcyq", "高精度智能压力传感器芯片及变送器关键技术", ChallengeField.ELECTRONICS, "510.30",
    "MEMS压力传感器，温度补偿，智能变送器",
    "流程工业用高精度压力变送器的核心MEMS芯片依赖进口，国产芯片在-40～85 ℃全温区内温漂大、长期稳定性差，"
    "测量精度只能达到±0.25%FS。",
    "研制硅压阻MEMS压力传感器芯片与智能温度补偿算法，形成0.1级智能压力变送器产品并通过型式评价。",
    24, "1200000", "800000",
    [("测量精度", "±0.1", "%FS", "依据JJG 882在法定计量机构检定"),
     ("全温区温漂", "≤0.01", "%FS/℃", "-40～85 ℃温度循环试验"),
     ("年稳定性", "≤0.1", "%FS/年", "加速老化试验"),
     ("防爆等级", "Ex ia IIC T4", "", "防爆合格证")],
    ("程立诚", "0571-88760021"),
)
SENSOR_VETTING = NeedSpec(
    "jcyq", "超声波燃气表计量传感器国产化", ChallengeField.ELECTRONICS, "510.30",
    "超声波流量，燃气计量，换能器",
    "超声波燃气表换能器和计量芯片依赖进口，小流量段计量误差大，难以满足新版计量检定规程。",
    "研制超声波换能器与计量模组，实现燃气表小批量应用。",
    18, "900000", "600000",
    [("计量准确度", "1.0级（qt～qmax误差±1.0%）", "", "法定计量机构型式评价"),
     ("始动流量", "≤0.003", "m³/h", "型式评价"),
     ("电池寿命", "≥10", "年", "功耗测试推算")],
    ("程立诚", "0571-88760021"),
)
SENSOR_VETTING_OPINION = "需求材料齐全，已受理，拟组织计量、仪器仪表领域专家开展需求论证。"

QUALITY = {"znzz": Decimal("0.88"), "xszb": Decimal("0.82"), "jdzz": Decimal("0.68")}
COMMENTS = {
    "fund": "技术路线清晰，研究基础扎实，里程碑指标可考核，经费安排合理，建议入选。",
    "revise": "方案有一定创新，但关键指标的实现路径和验证安排需细化。",
    "reject": "方案与榜单指标差距较大，研究基础不足，不建议入选。",
}


def seed_challenges(cmd, *, password: str) -> None:
    """Called by seed_demo after the organisations and the expert pool exist."""
    ChallengeSeeder(cmd, password=password).run()


class ChallengeSeeder:
    def __init__(self, cmd, *, password):
        self.cmd = cmd
        self.password = password
        self.now = cmd.now
        self.local = timezone.localtime(cmd.now)
        self.officer = User.objects.get(username="officer")
        self.program = cmd.programs["jbgs"]

    # ---- helpers ------------------------------------------------------------------------------------------

    def at(self, days: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
        """A moment ``days`` from the first run (negative: before), at a working hour."""
        return (self.local + datetime.timedelta(days=days)).replace(hour=hour, minute=minute, second=0,
                                                                    microsecond=0)

    def day(self, days: int) -> datetime.date:
        return self.local.date() + datetime.timedelta(days=days)

    def admin(self, slug: str) -> User:
        return User.objects.get(username="orgadmin" if slug == "yunqi" else f"{slug}-admin")

    def org(self, slug: str) -> Organization:
        return self.cmd.orgs[slug]

    # ---- steps --------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.cmd.created.setdefault("challenges", 0)
        self.cmd.created.setdefault("bids", 0)
        self.posters()
        self.hub()
        self.pigment()
        self.sludge()
        self.printing()
        self.sensors()

    def posters(self) -> None:
        from .management.commands.seed_demo import ENT, OrgSpec  # seed_demo imports this module

        for slug, name, region, admin, legal, address, high_tech, tech_sme, seed in POSTERS:
            spec = OrgSpec(slug, name, ENT, region, admin, legal, address, high_tech=high_tech, tech_sme=tech_sme)
            self.cmd.orgs[slug] = self.cmd.organization(spec, seed)

    def need(self, spec: NeedSpec, *, submitted: int | None) -> Challenge | None:
        """The need drafted and (``submitted`` days from now) submitted by its poster; None if it exists."""
        org = self.org(spec.poster)
        if Challenge.objects.filter(organization=org, title=spec.title).exists():
            return None
        poster = self.admin(spec.poster)
        challenge = jb.create_challenge(actor=poster, data={
            "title": spec.title, "field": spec.field, "discipline_code": spec.discipline, "keywords": spec.keywords,
            "problem": spec.problem, "expected_outcome": spec.outcome, "period_months": spec.period,
            "enterprise_funding": W(spec.enterprise), "subsidy_requested": W(spec.subsidy),
            "max_winners": spec.max_winners, "contact_name": spec.contact[0], "contact_phone": spec.contact[1],
        })
        jb.set_challenge_targets(actor=poster, challenge_id=challenge.pk, targets=[
            {"name": n, "target_value": v, "unit": u, "verification": ver} for n, v, u, ver in spec.targets])
        self.cmd.created["challenges"] += 1
        if submitted is not None:
            challenge = jb.submit_challenge(actor=poster, challenge_id=challenge.pk, accept_commitment=True,
                                            now=self.at(submitted, 15))
        return challenge

    def published(self, spec: NeedSpec, *, submitted: int, published: int, deadline: int,
                  opinion: str) -> Challenge | None:
        challenge = self.need(spec, submitted=submitted)
        if challenge is None:
            return None
        jb.start_vetting(actor=self.officer, challenge_id=challenge.pk)
        return jb.publish_challenge(actor=self.officer, challenge_id=challenge.pk, program_id=self.program.pk,
                                    bid_deadline=self.at(deadline, 17), max_winners=spec.max_winners,
                                    opinion=opinion, now=self.at(published, 9, 30))

    def bid(self, challenge: Challenge, spec: BidSpec, *, created: int, submitted: int | None = None) -> Bid:
        writer = self.admin(spec.org)
        org = self.org(spec.org)
        bid = jb.create_bid(actor=writer, challenge_id=challenge.pk, now=self.at(created, 11))
        self.cmd.created["bids"] += 1
        name, title, phone, birth = spec.leader
        jb.update_bid(actor=writer, bid_id=bid.pk, data={
            "title": spec.title, "plan": spec.plan, "foundation": spec.foundation,
            "keywords": spec.keywords or challenge.keywords, "leader_name": name,
            "leader_id_number": ReviewSeeder.id_number(name, birth), "leader_title": title, "leader_phone": phone,
            "amount": W(spec.amount),
        })
        if spec.members:
            jb.set_bid_members(actor=writer, bid_id=bid.pk, members=[
                {"name": name, "title": title, "organization_name": org.name, "role": "团队负责人，总体方案"},
                *({"name": n, "title": t, "organization_name": org.name, "role": r} for n, t, r in spec.members),
            ])
        if spec.partners:
            jb.set_bid_partners(actor=writer, bid_id=bid.pk, partners=[
                {"name": self.org(slug).name, "credit_code": self.org(slug).credit_code, "kind": self.org(slug).kind,
                 "role": role} for slug, role in spec.partners])
        if spec.milestones:
            jb.set_bid_milestones(actor=writer, bid_id=bid.pk, milestones=[
                {"title": t, "targets": tg, "due_date": self.day(due), "amount": W(a)}
                for t, tg, due, a in spec.milestones])
        if submitted is not None:
            bid = jb.submit_bid(actor=writer, bid_id=bid.pk, accept_commitment=True, now=self.at(submitted, 16))
        return bid

    # ---- the stories ------------------------------------------------------------------------------------------

    def hub(self) -> None:
        """赛马制 from publication to a team stopped at the first milestone."""
        challenge = self.published(HUB, submitted=-160, published=-150, deadline=-120,
                                   opinion="需求来自企业真实技术瓶颈，技术指标先进且可考核，企业出资到位；"
                                           "同意以赛马制发榜，最多3个团队并行攻关，按里程碑考核择优支持。")
        if challenge is None:
            return
        poster = self.admin(HUB.poster)
        bids = [self.bid(challenge, spec, created=-145 + i, submitted=-125 + i) for i, spec in enumerate(HUB_BIDS)]
        self.bid(challenge, HUB_DRAFT, created=-130)
        # the sweeper closes it a few minutes after the deadline (no person acts) and voids the draft
        jb.close_challenge(actor=None, challenge_id=challenge.pk, now=self.at(-120, 17, 5))
        jb.start_review(actor=self.officer, challenge_id=challenge.pk)
        self.review_bids(challenge, start=-118)
        projects = jb.award_challenge(
            actor=poster, challenge_id=challenge.pk, bid_ids=[bids[0].pk, bids[1].pk], now=self.at(-105),
            opinion="经专家评审，选择综合得分前两名的团队以赛马制并行攻关，按第一阶段台架考核结果择优继续支持。")
        team_a, team_b = sorted(projects, key=lambda p: p.bid_id)
        reports = {
            team_a.pk: ("样机台架测试：峰值功率密度4.2 kW/kg，峰值扭矩1080 N·m，连续30 s无降额；第三方检测报告见附件。",
                        "pass", "台架数据真实，达到第一阶段指标，同意通过。", "第一阶段考核通过。"),
            team_b.pk: ("样机台架测试：峰值功率密度3.3 kW/kg，峰值扭矩860 N·m；轴向磁通样机轴承温升超限，"
                        "持续扭矩未达标，拟在下一阶段改进冷却结构。",
                        "fail", "峰值功率密度仅3.3 kW/kg、峰值扭矩860 N·m，均未达到第一阶段指标，不同意通过。",
                        "未达到第一阶段考核指标（峰值功率密度、峰值扭矩）。"),
        }
        for project in (team_a, team_b):
            m1 = project.milestones.get(position=1)
            report, verdict, opinion, conclusion = reports[project.pk]
            jb.report_milestone(actor=self.admin(self.slug_of(project)),
                                milestone_id=m1.pk, report=report, now=self.at(-10))
            jb.judge_milestone(actor=poster, milestone_id=m1.pk, verdict=verdict, opinion=opinion, now=self.at(-6))
            jb.conclude_milestone(actor=self.officer, milestone_id=m1.pk, passed=verdict == "pass",
                                  conclusion=conclusion, now=self.at(-4))
        jb.stop_project(actor=self.officer, project_id=team_b.pk, milestone_id=team_b.milestones.get(position=1).pk,
                        reason="赛马制第一阶段考核未通过，按榜单约定终止该团队攻关，已拨付经费按规定结算。",
                        now=self.at(-3))

    def slug_of(self, project) -> str:
        return next(slug for slug, org in self.cmd.orgs.items() if org.pk == project.organization_id)

    def review_bids(self, challenge: Challenge, *, start: int) -> None:
        """揭榜方案评审 by three experts of the pool per bid, drawn with a fixed seed, placed in the past."""
        rnd = rounds.create_round(actor=self.officer, challenge_id=challenge.pk, kind=ReviewRound.Kind.BID, data={
            "name": f"{challenge.title} 揭榜方案评审", "experts_per_item": 3,
            "response_deadline": self.at(start + 3, 17), "review_deadline": self.at(start + 8, 17),
        })
        rounds.add_items(actor=self.officer, round_id=rnd.pk)
        rounds.start_round(actor=self.officer, round_id=rnd.pk, now=self.at(start))
        assign.run_draw(actor=self.officer, round_id=rnd.pk, method="random", seed=SEED, now=self.at(start, 10, 5))
        criteria = list(rnd.criteria.all())
        slugs = {org.pk: slug for slug, org in self.cmd.orgs.items()}
        bids = {b.pk: b for b in Bid.objects.filter(challenge=challenge)}
        for a in (Assignment.objects.filter(round=rnd, state=Assignment.State.INVITED)
                  .select_related("expert__user", "item").order_by("id")):
            user = a.expert.user
            reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=CONFIRM_ALL, ip="10.12.3.46",
                                      user_agent="Mozilla/5.0 (demo)", now=self.at(start + 1, 9))
            quality = QUALITY[slugs[bids[a.item.subject_id].organization_id]]
            noise = Decimal(zlib.crc32(f"{a.item_id}-{a.expert_id}".encode()) % 11 - 5) / 100  # -0.05 .. +0.05
            scores = {str(c.pk): min(c.max_score, (c.max_score * (quality + noise)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP)) for c in criteria}
            total = sum(scores.values(), Decimal(0))
            recommendation = "fund" if total >= 80 else "revise" if total >= 65 else "reject"
            reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores, comment=COMMENTS[recommendation],
                                  recommendation=recommendation, now=self.at(start + 5, 15))
        rounds.close_round(actor=self.officer, round_id=rnd.pk, now=self.at(start + 8, 17, 30))

    def pigment(self) -> None:
        """Open for bids: 答疑 and bids in several states; the demo applicant's company can still bid."""
        challenge = self.published(PIGMENT, submitted=-40, published=-21, deadline=25,
                                   opinion="需求符合绿色化工和新材料产业方向，指标明确、验证方式可行，同意发榜。")
        if challenge is None:
            return
        poster = self.admin(PIGMENT.poster)
        for i, (slug, question, by, answer) in enumerate(PIGMENT_QUESTIONS):
            q = jb.ask_question(actor=self.admin(slug), challenge_id=challenge.pk, question=question,
                                now=self.at(-18 + 7 * i))
            if by:
                jb.answer_question(actor=poster if by == "poster" else self.officer, question_id=q.pk, answer=answer,
                                   now=self.at(-17 + 7 * i, 14))
        self.bid(challenge, PIGMENT_SUBMITTED, created=-16, submitted=-2)
        self.bid(challenge, PIGMENT_DRAFT, created=-6)
        withdrawn = self.bid(challenge, PIGMENT_WITHDRAWN, created=-12)
        jb.withdraw_bid(actor=self.admin(PIGMENT_WITHDRAWN.org), bid_id=withdrawn.pk, now=self.at(-9),
                        reason="经评估我公司在无机颜料合成方面缺少中试条件，放弃本次揭榜。")

    def sludge(self) -> None:
        """流标 (the only bid fell short) and republished: open again in its second round."""
        challenge = self.published(SLUDGE, submitted=-100, published=-90, deadline=-60,
                                   opinion="需求符合减污降碳方向，同意发榜。")
        if challenge is None:
            return
        self.bid(challenge, SLUDGE_BID, created=-80, submitted=-62)
        jb.close_challenge(actor=None, challenge_id=challenge.pk, now=self.at(-60, 17, 5))
        jb.start_review(actor=self.officer, challenge_id=challenge.pk)
        jb.fail_challenge(actor=self.officer, challenge_id=challenge.pk,
                          reason="截止时仅收到1份揭榜方案，经专家评议，其干化单位能耗指标（0.9 kWh/kg水）未达到榜单要求，"
                                 "且缺少中试数据支撑，按规定流标。")
        jb.republish_challenge(actor=self.officer, challenge_id=challenge.pk, bid_deadline=self.at(40, 17),
                               opinion="经与发榜企业沟通，榜单指标不变，延长揭榜期重新发榜，欢迎此前揭榜单位完善方案后再次揭榜。",
                               now=self.now)

    def printing(self) -> None:
        challenge = self.need(PRINTING, submitted=-30)
        if challenge is None:
            return
        jb.start_vetting(actor=self.officer, challenge_id=challenge.pk)
        jb.reject_challenge(actor=self.officer, challenge_id=challenge.pk, reason=PRINTING_REASON)

    def sensors(self) -> None:
        self.need(SENSOR_WAITING, submitted=-3)  # in the officer's queue
        challenge = self.need(SENSOR_VETTING, submitted=-12)
        if challenge is not None:
            jb.start_vetting(actor=self.officer, challenge_id=challenge.pk, opinion=SENSOR_VETTING_OPINION)
