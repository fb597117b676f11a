"""Demo data for a city 科技局 (杭州市): programmes, organisations, calls and applications in every state.

Organisations, calls and applications are written THROUGH THE SERVICES (registration, 认证, creating
and publishing calls, 申报书 content, attachments, submit, 单位审核, 形式审查, withdraw, close), so the
audit history, submission versions and notifications (inbox and e-mail) are the real ones.

Idempotent: each programme, user, organisation, call and application is looked up by its natural
key first and only created when missing, so running the command twice changes nothing the second
time. Calls are placed relative to the time of the first run.

    python manage.py seed_demo            # create what is missing, then print the demo logins
    python manage.py seed_demo --logins   # only print the demo logins
"""

from __future__ import annotations

import datetime
import unicodedata
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from accounts import services as account_services
from accounts.models import CreditRecord, Organization, User
from accounts.roles import Role
from projects import services
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.models import Application, AttachmentKind, Call, FormalReview, Program

from ...challenges import seed_challenges
from ...checkpoints import seed_checkpoints
from ...deadlines import seed_deadlines
from ...funding import seed_funding
from ...reviews import seed_reviews
from ...subsidy import seed_subsidy

DEMO_PASSWORD = "demo-pass-2026"
ALL_CHECKS_PASS = {code: True for code, _label in FORMAL_REVIEW_CHECKLIST}
Y = Decimal

# 杭州市各区县 and their administrative division codes (positions 3-8 of a 统一社会信用代码)
REGIONS = {
    "上城区": "330102",
    "拱墅区": "330105",
    "西湖区": "330106",
    "滨江区": "330108",
    "萧山区": "330109",
    "余杭区": "330110",
    "富阳区": "330111",
    "临安区": "330112",
    "临平区": "330113",
    "钱塘区": "330114",
    "桐庐县": "330122",
    "淳安县": "330127",
    "建德市": "330182",
}


# ---- identifiers with real check digits ---------------------------------------------------------


def organization_code(seed: int) -> str:
    """A 9-character 组织机构代码 (GB 11714: 8 digits and a check character)."""
    body = f"{(seed * 7919 + 31337) % 10**8:08d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(seed: int, region: str, kind: str) -> str:
    """A valid 统一社会信用代码: registration authority and type by kind, region, org code, check digit."""
    # 9 1 = 工商 / 企业; 1 2 = 机构编制 / 事业单位 (universities, institutes, public hospitals)
    prefix = "91" if kind == Organization.Kind.ENTERPRISE else "12"
    body = prefix + REGIONS[region] + organization_code(seed)
    return body + uscc.calc_check_digit(body)


# birthplace codes of 杭州 counties as they were when the demo leaders were born (余杭区、滨江区 came later)
BIRTHPLACES = ("330102", "330103", "330104", "330105", "330106", "330122", "330127")


def id_number(name: str, birth: str) -> str:
    """A 居民身份证号码 for a demo person (birth as YYYYMMDD) that python-stdnum validates."""
    digest = zlib.crc32(name.encode())
    body = f"{BIRTHPLACES[digest % len(BIRTHPLACES)]}{birth}{100 + digest % 800:03d}"
    number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
    ric.validate(number)
    return number


def demo_pdf(title: str) -> bytes:
    """A small, valid one-page PDF (correct xref offsets) so uploads pass the content check."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 760 Td (" + text + b") Tj 0 -28 Td /F1 11 Tf (kjproject demo attachment) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


ATTACHMENT_FILES = {
    AttachmentKind.FEASIBILITY: ("项目可行性报告.pdf", "Feasibility study"),
    AttachmentKind.BUSINESS_LICENSE: ("营业执照或法人证书.pdf", "Business licence"),
    AttachmentKind.FINANCIAL_STATEMENT: ("上年度财务审计报告.pdf", "Audited financial statement"),
    AttachmentKind.SELF_FUNDING_PROOF: ("自筹资金承诺书.pdf", "Self-funding commitment"),
    AttachmentKind.COOPERATION_AGREEMENT: ("产学研合作协议.pdf", "Cooperation agreement"),
    AttachmentKind.QUALIFICATION: ("高新技术企业证书.pdf", "High-tech enterprise certificate"),
}


# ---- the data -------------------------------------------------------------------------------


PROGRAMS = [
    ("zdyf", "重点研发计划", Program.Kind.ORDINARY, "高新技术处",
     "围绕数字经济、生命健康、新材料等重点产业，支持关键核心技术攻关。"),
    ("jbly", "“尖兵”“领雁”研发攻关计划", Program.Kind.ORDINARY, "产学研合作处",
     "聚焦“卡脖子”技术与前沿引领技术，由企业牵头、产学研联合攻关。"),
    ("kjtpy", "科技特派员项目", Program.Kind.ORDINARY, "农村科技处",
     "选派高校、院所科技人员深入乡镇和农业企业开展技术服务与成果转化。"),
    ("jbgs", "揭榜挂帅项目", Program.Kind.CHALLENGE, "成果转化处",
     "企业出题、政府立题、揭榜攻关，“不论资历、不设门槛、英雄不问出处”。"),
    ("hbz", "企业研发投入后补助", Program.Kind.POST_SUBSIDY, "资源配置与管理处",
     "对上年度研发投入达到规定强度的企业给予后补助。"),
]

STAFF = [
    # username, real name, roles, is_staff, is_superuser, e-mail, what to try
    ("admin", "系统管理员", [], True, True, "admin@kjj.example.gov.cn",
     "管理后台 /admin/：全部数据、审计日志"),
    ("officer", "陈立新", [Role.OFFICER], True, False, "chen.lixin@kjj.example.gov.cn",
     "形式审查（受理 / 退回 / 不予受理）；专家评审：第二批加入受理项目并随机抽取专家，第一批查看排名、公示期满批准立项；专家库；"
     "揭榜挂帅：受理待论证的需求、答复提问、里程碑考核结论；预算调整：审批滨江光电子调增设备费的申请；"
     "后补助：核定富春江环保的申报（研发费用、补助金额按比例与上限计算）"),
    ("leader", "王建国", [Role.SUPERVISOR], False, False, "wang.jianguo@kjj.example.gov.cn",
     "评审与立项：查阅排名与立项清单、审签；/api/applications/ 只读查阅已报送科技局的申报书；"
     "督办 /office/duban/：红牌、黄牌事项（消息中心有红牌督办通知）"),
    ("finance", "钱晓红", [Role.FINANCE], False, False, "qian.xiaohong@kjj.example.gov.cn",
     "拨付：应拨付清单中登记拨付（揭榜项目第1个里程碑、退票后待重拨的首期）；看不到任何申报书（/api/applications/ 为空）"),
    ("finance2", "孙雅琴", [Role.FINANCE], False, False, "sun.yaqin@kjj.example.gov.cn",
     "拨付审核：审核“钱晓红”登记的两笔拨付（登记人不能审核自己登记的拨付）；台账与冲正记录"),
    ("expert", "周明远", [Role.EXPERT], False, False, "zhou.mingyuan@expert.example.com",
     "专家工作台：接受第二批网评邀请（签署承诺书）后阅读材料并打分提交；看不到未分配的申报书"),
]


@dataclass
class OrgSpec:
    slug: str  # username prefix of its users
    name: str
    kind: str
    region: str
    admin: tuple[str, str, str]  # real name, phone, e-mail
    legal_rep: str
    address: str
    high_tech: bool = False
    tech_sme: bool = False
    state: str = Organization.State.VERIFIED
    return_reason: str = ""
    credit: dict | None = None
    users: list[tuple[str, str, str, str]] = field(default_factory=list)  # username, real name, phone, e-mail


ENT, UNI, INST, HOSP = (Organization.Kind.ENTERPRISE, Organization.Kind.UNIVERSITY, Organization.Kind.INSTITUTE,
              Organization.Kind.HOSPITAL)
ORGS = [
    OrgSpec("yunqi", "杭州云栖智能科技有限公司", ENT, "西湖区", ("李敏", "13905710001", "limin@yunqi-ai.example.com"),
            "赵云栖", "杭州市西湖区云栖小镇云栖路 88 号", high_tech=True, tech_sme=True,
            users=[("applicant", "张伟", "13905710002", "zhangwei@yunqi-ai.example.com")]),
    OrgSpec("qtxc", "杭州钱塘新材料科技有限公司", ENT, "钱塘区", ("孙丽", "13905710011", "sunli@qtxc.example.com"),
            "钱大江", "杭州市钱塘区下沙街道 6 号大街 260 号", high_tech=True),
    OrgSpec("bjgd", "杭州滨江光电子有限公司", ENT, "滨江区", ("周强", "13905710021", "zhouqiang@bjgd.example.com"),
            "林光", "杭州市滨江区长河街道江虹路 1750 号", high_tech=True, tech_sme=True),
    OrgSpec("xszb", "杭州萧山智能装备制造有限公司", ENT, "萧山区", ("吴刚", "13905710031", "wugang@xszb.example.com"),
            "萧建设", "杭州市萧山区经济技术开发区建设四路 1000 号", high_tech=True),
    OrgSpec("yhsy", "杭州余杭生物医药有限公司", ENT, "余杭区", ("郑洁", "13905710041", "zhengjie@yhsy.example.com"),
            "余康", "杭州市余杭区仓前街道文一西路 1818 号", high_tech=True),
    OrgSpec("lpfz", "杭州临平数字纺织科技有限公司", ENT, "临平区", ("王芳", "13905710051", "wangfang@lpfz.example.com"),
            "沈织", "杭州市临平区东湖街道兴中路 368 号", tech_sme=True),
    OrgSpec("fcjhb", "杭州富春江环保科技有限公司", ENT, "富阳区", ("冯磊", "13905710061", "fenglei@fcjhb.example.com"),
            "富春", "杭州市富阳区银湖街道富闲路 9 号", tech_sme=True),
    OrgSpec("tmsny", "杭州天目山农业科技有限公司", ENT, "临安区", ("陈静", "13905710071", "chenjing@tmsny.example.com"),
            "山青", "杭州市临安区锦城街道农林大路 88 号", tech_sme=True),
    OrgSpec("gcqrj", "杭州拱宸桥软件有限公司", ENT, "拱墅区", ("褚明", "13905710081", "chuming@gcqrj.example.com"),
            "拱北", "杭州市拱墅区祥符街道莫干山路 1418 号",
            credit={"severity": CreditRecord.Severity.SERIOUS,
                    "reason": "在2024年度市级科技计划项目验收中提供虚假财务凭证，套取财政资金。",
                    "decision_no": "杭科信〔2025〕7号", "start_days": -120, "end_days": 3 * 365}),
    OrgSpec("wjsj", "杭州望江数据服务有限公司", ENT, "上城区", ("卫红", "13905710091", "weihong@wjsj.example.com"),
            "江望", "杭州市上城区望江街道秋涛路 258 号", high_tech=True),
    OrgSpec("zjlz", "杭州之江量子信息技术有限公司", ENT, "西湖区", ("蒋涛", "13905710101", "jiangtao@zjlz.example.com"),
            "钟量", "杭州市西湖区转塘街道之江路 9 号", state=Organization.State.PENDING),
    OrgSpec("tjzy", "杭州桐君中药科技有限公司", ENT, "桐庐县", ("沈燕", "13905710111", "shenyan@tjzy.example.com"),
            "桐君", "杭州市桐庐县城南街道白云源路 1588 号", state=Organization.State.PENDING),
    OrgSpec("qdhsc", "杭州千岛湖水产科技有限公司", ENT, "淳安县", ("韩冰", "13905710121", "hanbing@qdhsc.example.com"),
            "湖渔", "杭州市淳安县千岛湖镇新安东路 1 号", state=Organization.State.RETURNED,
            return_reason="单位名称与营业执照登记名称不一致（营业执照为“淳安千岛湖水产科技有限公司”），请核对后重新提交。"),
    OrgSpec("jdzz", "建德市新安江智能制造有限公司", ENT, "建德市", ("杨帆", "13905710131", "yangfan@jdzz.example.com"),
            "新安", "建德市洋溪街道新安江路 66 号", tech_sme=True),
    OrgSpec("zjlg", "之江理工大学", UNI, "西湖区", ("朱红英", "13905710201", "kjc@zjlg.example.edu.cn"),
            "许校长", "杭州市西湖区留和路 318 号"),
    OrgSpec("qtkj", "钱塘科技学院", UNI, "钱塘区", ("秦海", "13905710211", "kyc@qtkj.example.edu.cn"),
            "尤院长", "杭州市钱塘区学林街 1158 号"),
    OrgSpec("hzny", "杭州农林学院", UNI, "临安区", ("何秀", "13905710221", "kjc@hzny.example.edu.cn"),
            "施院长", "杭州市临安区武肃街 666 号"),
    OrgSpec("xdny", "杭州市现代农业研究院", INST, "西湖区", ("吕梅", "13905710301", "kyb@xdny.example.org.cn"),
            "张院长", "杭州市西湖区石桥路 139 号"),
    OrgSpec("znzz", "杭州市智能制造研究院", INST, "萧山区", ("孔亮", "13905710311", "kyb@znzz.example.org.cn"),
            "曹院长", "杭州市萧山区宁围街道市心北路 857 号"),
    OrgSpec("dj9y", "杭州市第九人民医院", HOSP, "上城区", ("严华", "13905710401", "kjk@hz9y.example.org.cn"),
            "金院长", "杭州市上城区解放路 88 号"),
    OrgSpec("lpzx", "杭州市临平区中西医结合医院", HOSP, "临平区", ("魏宁", "13905710411", "kjk@lpzx.example.org.cn"),
            "陶院长", "杭州市临平区南苑街道迎宾路 369 号"),
]


@dataclass
class CallSpec:
    key: str
    program: str
    title: str
    opens_days: int
    closes_days: int
    total: str
    cap: str
    min_ratio: str
    guide: str
    kinds: list = field(default_factory=list)
    qualifications: list = field(default_factory=list)
    attachments: list = field(default_factory=list)
    max_per_org: int | None = None
    publish: bool = True
    close_after_seeding: bool = False


CALLS = [
    CallSpec("zdyf2", "zdyf", "{y}年度杭州市重点研发计划项目（第二批）申报指南", -12, 25, "30000000", "1000000", "0.5",
             "一、支持方向：人工智能与数字经济、集成电路、生物医药、高端装备、新材料。\n"
             "二、申报条件：申报单位须在杭州市注册、具有独立法人资格；企业自筹资金不低于项目总经费的50%。\n"
             "三、资助方式：每项财政资助不超过100万元，分期拨付。",
             kinds=[ENT, UNI, INST, HOSP], attachments=[AttachmentKind.FEASIBILITY, AttachmentKind.SELF_FUNDING_PROOF],
             max_per_org=3),
    CallSpec("zdyf1", "zdyf", "{y}年度杭州市重点研发计划项目（第一批）申报指南", -70, 1, "25000000", "1500000", "0.5",
             "一、支持方向：数字安全、智能制造、生命健康。\n二、每项财政资助不超过150万元。",
             kinds=[ENT, UNI, INST, HOSP], attachments=[AttachmentKind.FEASIBILITY], close_after_seeding=True),
    CallSpec("jbly", "jbly", "{y}年度“尖兵”“领雁”研发攻关计划（生物医药与高端装备）申报指南", -3, 40, "40000000",
             "3000000", "0.6",
             "由高新技术企业牵头，联合高校、科研院所开展攻关；企业自筹资金与财政资金比例不低于1.5:1。",
             kinds=[ENT], qualifications=[Organization.Qualification.HIGH_TECH],
             attachments=[AttachmentKind.FEASIBILITY, AttachmentKind.FINANCIAL_STATEMENT,
                          AttachmentKind.SELF_FUNDING_PROOF], max_per_org=2),
    CallSpec("kjtpy", "kjtpy", "{y}年度杭州市科技特派员项目申报指南", -20, 18, "3000000", "100000", "0",
             "面向全市乡镇和农业企业，由高校、科研院所选派科技特派员开展技术服务，每项资助10万元。",
             kinds=[UNI, INST], attachments=[AttachmentKind.FEASIBILITY], max_per_org=5),
    CallSpec("jbgs", "jbgs", "{y}年度揭榜挂帅项目（第一批）：高端装备与新材料榜单", -7, 30, "20000000", "5000000", "0.5",
             "发榜企业提出技术需求，揭榜方须在24个月内完成攻关目标；揭榜方自筹资金不低于项目总经费的50%。",
             attachments=[AttachmentKind.FEASIBILITY, AttachmentKind.COOPERATION_AGREEMENT]),
    CallSpec("hbz", "hbz", "{y}年度企业研发投入后补助申报通知（征求意见稿）", 15, 60, "10000000", "500000", "0",
             "对上年度研发费用加计扣除额较前一年增长的企业，按增量的10%给予后补助，最高50万元。",
             kinds=[ENT], qualifications=[Organization.Qualification.TECH_SME], publish=False),
]

# every state an application can be in; "path" is the list of transitions after creation
STATE_PATHS = {
    Application.State.DRAFT: [],
    Application.State.SUBMITTED: ["submit"],
    Application.State.ORG_RETURNED: ["submit", "org_return"],
    Application.State.ENDORSED: ["submit", "endorse"],
    Application.State.ACCEPTED: ["submit", "endorse", "accept"],
    Application.State.RETURNED: ["submit", "endorse", "return"],
    Application.State.REJECTED: ["submit", "endorse", "reject"],
    Application.State.WITHDRAWN: ["submit", "withdraw"],
}
RESUBMITTED_ACCEPTED = ["submit", "endorse", "return", "submit", "endorse", "accept"]

S = Application.State


@dataclass
class AppSpec:
    call: str
    org: str
    title: str
    path: list[str]
    leader: tuple[str, str, str]  # name, title, phone
    fiscal: str
    own: str
    summary: str
    keywords: str
    discipline: str
    by: str = ""  # username of the applicant writing it (default: the org's admin)
    reason: str = ""
    leader_birth: str = ""  # YYYYMMDD: store an ID number (shown masked)
    partners: list[str] = field(default_factory=list)  # org slugs
    complete: bool = True


APPS = [
    # ---- the demo enterprise 杭州云栖智能科技有限公司 (applicant / orgadmin) ----
    AppSpec("zdyf2", "yunqi", "基于多模态大模型的工业视觉缺陷检测关键技术研究", STATE_PATHS[S.DRAFT],
            ("张伟", "高级工程师", "13905710002"), "800000", "1200000",
            "针对3C电子、汽车零部件产线缺陷样本少、类型多的难题，研究多模态大模型小样本缺陷检测方法，"
            "研制工业视觉检测系统并在3家以上企业示范应用。", "多模态大模型，缺陷检测，工业视觉", "520.20", by="applicant",
            leader_birth="19880312", partners=["zjlg"]),
    AppSpec("zdyf2", "yunqi", "面向城市大脑的时空数据治理与融合计算平台研发", STATE_PATHS[S.SUBMITTED],
            ("刘洋", "研究员", "13905710003"), "900000", "1100000",
            "研发城市级多源时空数据治理与隐私计算融合平台，支撑交通、应急等场景的实时分析。",
            "时空数据，隐私计算，城市大脑", "520.40", by="applicant"),
    AppSpec("zdyf2", "yunqi", "智能客服知识图谱自动构建技术研究", STATE_PATHS[S.WITHDRAWN],
            ("黄磊", "工程师", "13905710004"), "300000", "400000",
            "研究面向政务与金融客服的知识图谱自动构建与更新技术。", "知识图谱，智能客服", "520.20", by="applicant",
            reason="项目负责人工作调整，本批次暂不申报。"),
    AppSpec("zdyf1", "yunqi", "边缘计算网关安全可信关键技术研究", STATE_PATHS[S.RETURNED],
            ("张伟", "高级工程师", "13905710002"), "1200000", "1300000",
            "研究边缘计算网关可信启动、远程证明与轻量级加密通信技术，形成国产化安全网关产品。",
            "边缘计算，可信计算，网络安全", "520.60", by="applicant", leader_birth="19880312",
            reason="1. 可行性报告缺少技术路线图与进度安排；2. 设备费测算说明不充分，请补充主要设备询价依据。"),
    AppSpec("zdyf1", "yunqi", "工业互联网标识解析二级节点应用研究", STATE_PATHS[S.ACCEPTED],
            ("刘洋", "研究员", "13905710003"), "1000000", "1500000",
            "建设面向纺织、装备行业的工业互联网标识解析二级节点，接入企业100家以上。",
            "工业互联网，标识解析", "520.40", by="applicant"),
    AppSpec("jbly", "yunqi", "高精度手术导航机器人视觉定位系统研发", STATE_PATHS[S.ENDORSED],
            ("赵敏", "主任医师", "13905710005"), "2500000", "3800000",
            "研制亚毫米级光学定位与配准算法，形成骨科手术导航机器人样机并开展临床验证。",
            "手术机器人，光学定位，医学影像", "416.20", by="applicant", partners=["dj9y"]),
    # ---- other enterprises ----
    AppSpec("zdyf2", "qtxc", "高性能碳纤维复合材料低成本制备技术", STATE_PATHS[S.ENDORSED],
            ("钱程", "教授级高工", "13905710012"), "950000", "1800000",
            "突破大丝束碳纤维低成本预浸与快速固化工艺，复合材料成本降低30%以上。",
            "碳纤维，复合材料", "430.35"),
    AppSpec("jbgs", "qtxc", "新能源汽车一体化压铸铝合金材料揭榜攻关", STATE_PATHS[S.SUBMITTED],
            ("钱程", "教授级高工", "13905710012"), "3000000", "4500000",
            "研发免热处理高强韧压铸铝合金，满足一体化压铸后底板性能要求。", "压铸铝合金，一体化压铸", "430.20"),
    AppSpec("jbly", "bjgd", "硅基光电子芯片晶圆级封装测试关键技术", STATE_PATHS[S.ENDORSED],
            ("林晓", "高级工程师", "13905710022"), "2800000", "4300000",
            "研究硅光芯片晶圆级耦合测试与封装技术，建设中试线。", "硅光芯片，晶圆级封装", "510.30",
            leader_birth="19850706"),
    AppSpec("zdyf2", "bjgd", "车规级激光雷达光学收发模组研发", STATE_PATHS[S.ORG_RETURNED],
            ("许诺", "工程师", "13905710023"), "1000000", "1000000",
            "研发905nm车规级激光雷达收发模组，通过AEC-Q102可靠性认证。", "激光雷达，车规级", "510.30",
            reason="预算中设备费测算依据不足，且合作单位协议尚未盖章，请补充后重新提交。"),
    AppSpec("jbgs", "xszb", "大型风电主轴承国产化设计与制造揭榜攻关", STATE_PATHS[S.ENDORSED],
            ("萧远", "研究员级高工", "13905710032"), "4500000", "5500000",
            "完成10MW级风电主轴承设计、材料与热处理工艺攻关，台架试验寿命满足20年要求。",
            "风电主轴承，国产化", "460.15", partners=["znzz"]),
    AppSpec("zdyf1", "xszb", "餐饮门店连锁经营管理系统升级", STATE_PATHS[S.REJECTED],
            ("吴越", "经济师", "13905710033"), "600000", "600000",
            "对集团下属餐饮门店的收银、进销存系统进行升级改造。", "管理系统，信息化", "630.50",
            reason="申报内容为企业一般性信息化改造，不属于本指南支持的技术攻关方向。"),
    AppSpec("jbly", "yhsy", "新型双特异性抗体药物临床前研究", STATE_PATHS[S.SUBMITTED],
            ("余晨", "研究员", "13905710042"), "3000000", "5200000",
            "完成双特异性抗体候选分子筛选、工艺开发及临床前药效与安全性评价。", "双特异性抗体，创新药", "350.70"),
    AppSpec("zdyf1", "yhsy", "mRNA疫苗递送脂质纳米粒规模化制备工艺", RESUBMITTED_ACCEPTED,
            ("丁一", "副研究员", "13905710043"), "1500000", "2000000",
            "建立LNP微流控规模化制备工艺，包封率不低于90%。", "mRNA，脂质纳米粒", "350.70",
            reason="自筹资金证明材料不清晰，请重新上传加盖公章的承诺书。", leader_birth="19900215"),
    AppSpec("zdyf2", "lpfz", "数字化印染车间智能配色系统", STATE_PATHS[S.DRAFT],
            ("沈丝", "工程师", "13905710052"), "500000", "700000",
            "", "印染，智能配色", "540.30", complete=False),
    AppSpec("zdyf2", "fcjhb", "造纸废水深度处理与回用成套技术", STATE_PATHS[S.ENDORSED],
            ("冯清", "高级工程师", "13905710062"), "700000", "900000",
            "研发造纸废水高级氧化-膜耦合深度处理工艺，回用率达到70%以上。", "废水处理，膜分离", "610.30"),
    AppSpec("zdyf2", "gcqrj", "政务区块链电子证照共享平台研发", STATE_PATHS[S.DRAFT],
            ("褚亮", "高级工程师", "13905710082"), "800000", "800000",
            "研发基于联盟链的电子证照跨部门共享与核验平台。", "区块链，电子证照", "520.40"),
    AppSpec("zdyf2", "wjsj", "城市级数据要素可信流通关键技术", STATE_PATHS[S.ACCEPTED],
            ("江帆", "高级工程师", "13905710092"), "1000000", "1200000",
            "研究数据要素登记、确权与可信流通技术，建设城市数据交易服务平台。", "数据要素，可信流通", "520.40"),
    AppSpec("zdyf2", "zjlz", "量子随机数发生器芯片研制", STATE_PATHS[S.DRAFT],
            ("蒋量", "研究员", "13905710102"), "900000", "1000000",
            "研制基于真空涨落的高速量子随机数发生器芯片。", "量子随机数，芯片", "140.30"),
    AppSpec("jbgs", "jdzz", "高速精密数控机床主轴揭榜攻关", STATE_PATHS[S.WITHDRAWN],
            ("杨工", "高级工程师", "13905710132"), "2000000", "2500000",
            "研制转速30000rpm的电主轴。", "电主轴，数控机床", "460.15",
            reason="经评估攻关周期不足，放弃本次揭榜。"),
    # ---- universities, institutes, hospitals ----
    AppSpec("kjtpy", "zjlg", "西湖龙井茶园病虫害绿色防控技术服务", STATE_PATHS[S.ACCEPTED],
            ("朱茗", "教授", "13905710202"), "100000", "0",
            "在西湖区龙坞茶村开展病虫害绿色防控技术示范与培训。", "茶园，绿色防控，科技特派员", "210.40"),
    AppSpec("zdyf1", "zjlg", "高可靠工业操作系统内核关键技术", STATE_PATHS[S.ACCEPTED],
            ("许衡", "教授", "13905710203"), "1500000", "1500000",
            "研究面向工业控制的实时操作系统内核形式化验证技术。", "操作系统，形式化验证", "520.10"),
    AppSpec("zdyf2", "qtkj", "面向跨境电商的多语种大模型微调技术", STATE_PATHS[S.ENDORSED],
            ("秦越", "副教授", "13905710212"), "600000", "600000",
            "研究低资源语种大模型高效微调与评测方法，服务钱塘区跨境电商企业。", "大模型，多语种", "520.20"),
    AppSpec("kjtpy", "hzny", "临安山核桃林地生态修复技术服务", STATE_PATHS[S.ENDORSED],
            ("何林", "副教授", "13905710222"), "100000", "20000",
            "在临安区岛石镇开展山核桃林地水土流失治理与生草栽培示范。", "山核桃，生态修复", "220.40"),
    AppSpec("kjtpy", "hzny", "淳安千岛湖生态鱼养殖技术服务", STATE_PATHS[S.SUBMITTED],
            ("施渔", "研究员", "13905710223"), "100000", "0",
            "为淳安县渔业合作社提供生态养殖与水质监测技术服务。", "生态养殖，水质监测", "240.50"),
    AppSpec("kjtpy", "xdny", "富阳区水稻机插秧提质增效技术服务", STATE_PATHS[S.ENDORSED],
            ("吕禾", "高级农艺师", "13905710302"), "100000", "10000",
            "在富阳区新登镇推广水稻机插秧与侧深施肥技术。", "水稻，机插秧", "210.20"),
    AppSpec("jbgs", "znzz", "协作机器人高精度力控关节揭榜攻关", STATE_PATHS[S.ENDORSED],
            ("孔捷", "研究员", "13905710312"), "3500000", "3600000",
            "研制集成力矩传感的一体化关节模组，重复定位精度±0.02mm。", "协作机器人，力控关节", "460.40",
            partners=["xszb"]),
    AppSpec("zdyf2", "dj9y", "基于人工智能的早期肺癌筛查辅助诊断系统", STATE_PATHS[S.ENDORSED],
            ("金铭", "主任医师", "13905710402"), "800000", "800000",
            "构建低剂量CT肺结节智能检出与良恶性判别模型，开展多中心临床验证。", "肺癌筛查，人工智能，医学影像",
            "320.24", partners=["yunqi"]),
    AppSpec("zdyf2", "lpzx", "中药足浴对2型糖尿病周围神经病变疗效的临床研究", STATE_PATHS[S.REJECTED],
            ("魏康", "副主任医师", "13905710412"), "400000", "400000",
            "开展随机对照临床试验评价中药足浴疗效。", "中医药，糖尿病", "360.50",
            reason="项目属于临床诊疗常规研究，不符合本批次“关键技术攻关”定位，建议申报卫生健康类科研计划。"),
]


def budget(fiscal: str, own: str) -> dict:
    """Split 财政 and 自筹 over 设备费 / 业务费 / 劳务费 to the fen; the lines add up exactly."""
    fiscal, own = Y(fiscal), Y(own)
    lines = {}
    shares = (("equipment", Y("0.45"), "主要设备：工作站、测试仪器，按询价单测算"),
              ("business", Y("0.37"), "材料费、测试化验加工费、差旅会议费等"),
              ("labour", None, "项目聘用人员劳务费"))
    left_f, left_o = fiscal, own
    for category, share, note in shares:
        if share is None:
            f, o = left_f, left_o
        else:
            f = (fiscal * share).quantize(Y("0.01")) - Y("0.37") if fiscal else Y("0")
            o = (own * share).quantize(Y("0.01")) + Y("0.37") if own else Y("0")
            f, o = max(f, Y("0")), max(o, Y("0"))
            left_f, left_o = left_f - f, left_o - o
        lines[category] = {"fiscal_amount": f, "self_amount": o, "note": note}
    return lines


TEAM_TITLES = ["高级工程师", "工程师", "副教授", "博士研究生", "助理研究员"]
TEAM_NAMES = ["王磊", "李娜", "陈晨", "杨洋", "周婷", "吴昊", "郑爽", "孙浩", "马骏", "胡蝶"]


def team_for(spec: AppSpec, org: Organization, index: int) -> list[dict]:
    members = [{"name": spec.leader[0], "title": spec.leader[1], "organization_name": org.name,
                "role": "项目负责人，总体方案设计", "work_months": 12}]
    for k in range(3):
        members.append({
            "name": TEAM_NAMES[(index * 3 + k) % len(TEAM_NAMES)],
            "title": TEAM_TITLES[(index + k) % len(TEAM_TITLES)],
            "organization_name": org.name,
            "role": ["关键算法研究", "系统开发与集成", "测试验证与示范应用"][k],
            "work_months": [10, 8, 6][k],
        })
    return members


def targets_for(spec: AppSpec) -> list[dict]:
    return [
        {"kind": "output", "indicator": "申请发明专利", "target_value": 5, "unit": "件"},
        {"kind": "output", "indicator": "形成新产品、新工艺或新装置", "target_value": 2, "unit": "项"},
        {"kind": "effect", "indicator": "新增销售收入", "target_value": Y(spec.fiscal) * 3 / 10000, "unit": "万元"},
        {"kind": "satisfaction", "indicator": "示范应用单位满意度", "target_value": 90, "unit": "%"},
    ]


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class Command(BaseCommand):
    help = ("Create demo data (杭州市科技局: programmes, organisations, calls, applications in every state, expert "
            "reviews, 揭榜挂帅 challenges) and print the demo logins.")

    def add_arguments(self, parser):
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")
        parser.add_argument("--no-sweep", action="store_true",
                            help="Do not run the deadline sweep at the end (reminders and 督办 items wait for the beat).")

    def handle(self, *args, logins=False, no_sweep=False, **options):
        self.sweep = not no_sweep
        if not logins:
            validate_password(DEMO_PASSWORD)
            self.now = timezone.now()
            self.created = {"programs": 0, "users": 0, "organizations": 0, "calls": 0, "applications": 0,
                            "experts": 0, "challenges": 0, "bids": 0, "agreements": 0, "disbursements": 0}
            with transaction.atomic():
                self.seed()
            summary = "，".join(f"{k} {v}" for k, v in self.created.items())
            if any(self.created.values()):
                self.stdout.write(self.style.SUCCESS(f"演示数据已创建（新增：{summary}）。"))
            else:
                self.stdout.write("演示数据已存在，未作改动。")
        self.print_logins()

    # ---- steps --------------------------------------------------------------------------------

    def seed(self):
        self.staff = {username: self.staff_user(username, *rest) for username, *rest in STAFF}
        self.officer = self.staff["officer"]
        self.programs = {code: self.program(code, *rest) for code, *rest in PROGRAMS}
        self.orgs = {}
        for i, spec in enumerate(ORGS, start=1):
            self.orgs[spec.slug] = self.organization(spec, i)
        self.calls = {spec.key: self.call(spec) for spec in CALLS}
        for i, spec in enumerate(APPS):
            self.application(spec, i)
        for spec in CALLS:
            call = self.calls[spec.key]
            call.refresh_from_db()
            if spec.close_after_seeding and call.state == Call.State.PUBLISHED:
                # the officer closes the first batch (截止): the window is over, the reviewed stay reviewed
                services.close_call(actor=self.officer, call_id=call.pk)
        seed_reviews(self, password=DEMO_PASSWORD)
        seed_challenges(self, password=DEMO_PASSWORD)
        seed_funding(self)
        seed_checkpoints(self)
        seed_subsidy(self)
        seed_deadlines(self, run_sweep=self.sweep)  # last: the sweep reminds and escalates what all of the above owe

    def staff_user(self, username, real_name, roles, is_staff, is_superuser, email, _try) -> User:
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        user = User(username=username, real_name=real_name, email=email, is_staff=is_staff, is_superuser=is_superuser)
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name__in=[str(r) for r in roles]))
        self.created["users"] += 1
        return user

    def program(self, code, name, kind, office, description) -> Program:
        program, created = Program.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "managing_office": office, "description": description}
        )
        self.created["programs"] += created
        return program

    def organization(self, spec: OrgSpec, seed: int) -> Organization:
        code = credit_code(seed, spec.region, spec.kind)
        org = Organization.objects.filter(credit_code=code).first()
        if org is not None:
            return org
        today = timezone.localdate(self.now)
        profile = {
            "name": spec.name,
            "credit_code": code,
            "kind": spec.kind,
            "region": f"杭州市{spec.region}" if spec.region != "建德市" else "杭州市建德市",
            "address": spec.address,
            "legal_representative": spec.legal_rep,
            "contact_name": spec.admin[0],
            "contact_phone": spec.admin[1],
            "contact_email": spec.admin[2],
        }
        if spec.high_tech:
            profile["high_tech_cert_no"] = f"GR{today.year - 1}3300{seed:05d}"
            profile["high_tech_expires"] = datetime.date(today.year + 2, 12, 1)
        if spec.tech_sme:
            profile["tech_sme_no"] = f"{today.year}{REGIONS[spec.region]}A{seed:07d}"
            profile["tech_sme_year"] = today.year
        admin_username = "orgadmin" if spec.slug == "yunqi" else f"{spec.slug}-admin"
        org, admin = account_services.register_organization(
            organization=profile,
            username=admin_username,
            password=DEMO_PASSWORD,
            email=spec.admin[2],
            real_name=spec.admin[0],
            phone=spec.admin[1],
        )
        self.created["organizations"] += 1
        self.created["users"] += 1
        if spec.state == Organization.State.VERIFIED:
            account_services.verify_organization(actor=self.officer, organization_id=org.pk, reason="材料齐全，信息核实无误。")
        elif spec.state == Organization.State.RETURNED:
            account_services.return_organization(actor=self.officer, organization_id=org.pk, reason=spec.return_reason)
        for username, real_name, phone, email in spec.users:
            account_services.add_organization_user(
                actor=admin, organization_id=org.pk, username=username, password=DEMO_PASSWORD,
                real_name=real_name, email=email, phone=phone,
            )
            self.created["users"] += 1
        if spec.credit:
            c = spec.credit
            account_services.record_credit(actor=self.officer, data={
                "organization": org,
                "severity": c["severity"],
                "reason": c["reason"],
                "decision_no": c["decision_no"],
                "penalty_start": today + datetime.timedelta(days=c["start_days"]),
                "penalty_end": today + datetime.timedelta(days=c["end_days"]),
            })
        org.refresh_from_db()
        return org

    def call(self, spec: CallSpec) -> Call:
        program = self.programs[spec.program]
        year = timezone.localdate(self.now).year
        title = spec.title.format(y=year)
        call = Call.objects.filter(program=program, title=title).first()
        if call is not None:
            return call
        local = timezone.localtime(self.now)
        opens = (local + datetime.timedelta(days=spec.opens_days)).replace(hour=9, minute=0, second=0, microsecond=0)
        closes = (local + datetime.timedelta(days=spec.closes_days)).replace(hour=17, minute=0, second=0, microsecond=0)
        if closes <= self.now:
            closes = self.now + datetime.timedelta(hours=2)
        call = services.create_call(actor=self.officer, data={
            "program": program,
            "year": year,
            "title": title,
            "guide": spec.guide.format(y=year),
            "opens_at": opens,
            "closes_at": closes,
            "total_budget": Y(spec.total),
            "cap_per_project": Y(spec.cap),
            "min_self_funding_ratio": Y(spec.min_ratio),
            "eligible_org_kinds": [str(k) for k in spec.kinds],
            "required_qualifications": [str(q) for q in spec.qualifications],
            "max_applications_per_org": spec.max_per_org,
            "required_attachment_kinds": [str(a) for a in spec.attachments],
        })
        self.created["calls"] += 1
        if spec.publish:
            call = services.publish_call(actor=self.officer, call_id=call.pk)
        return call

    def application(self, spec: AppSpec, index: int) -> None:
        call = self.calls[spec.call]
        org = self.orgs[spec.org]
        if Application.objects.filter(call=call, organization=org, title=spec.title).exists():
            return
        if not call.is_open():
            self.stderr.write(f"跳过《{spec.title}》：{call} 已不在申报期内。")
            return
        writer = User.objects.get(username=spec.by or ("orgadmin" if spec.org == "yunqi" else f"{spec.org}-admin"))
        org_admin = User.objects.get(username="orgadmin" if spec.org == "yunqi" else f"{spec.org}-admin")
        app = services.create_application(actor=writer, call_id=call.pk, title=spec.title)
        self.created["applications"] += 1
        data = {
            "summary": spec.summary,
            "keywords": spec.keywords,
            "discipline_code": spec.discipline,
            "leader_name": spec.leader[0],
            "leader_title": spec.leader[1],
            "leader_phone": spec.leader[2],
            "leader_email": f"{spec.leader[2]}@139.example.com",
        }
        if spec.complete:
            start = datetime.date(timezone.localdate(self.now).year + 1, 1, 1)
            data.update(start_date=start, end_date=datetime.date(start.year + 1, 12, 31))
        if spec.leader_birth:
            data["leader_id_number"] = id_number(spec.leader[0], spec.leader_birth)
        services.update_application(actor=writer, application_id=app.pk, data=data)
        services.set_team(actor=writer, application_id=app.pk, members=team_for(spec, org, index))
        if spec.complete:
            services.set_budget(actor=writer, application_id=app.pk, lines=budget(spec.fiscal, spec.own))
            services.set_targets(actor=writer, application_id=app.pk, targets=targets_for(spec))
            if spec.partners:
                services.set_partners(actor=writer, application_id=app.pk, partners=[
                    {"name": self.orgs[p].name, "credit_code": self.orgs[p].credit_code,
                     "role": "联合攻关，负责试验验证与示范应用"} for p in spec.partners
                ])
            kinds = [*call.required_attachment_kinds, AttachmentKind.BUSINESS_LICENSE]
            for kind in dict.fromkeys(kinds):
                name, label = ATTACHMENT_FILES[kind]
                services.add_attachment(
                    actor=writer, application_id=app.pk, kind=kind,
                    uploaded=SimpleUploadedFile(name, demo_pdf(f"{label} - application {app.pk}"), "application/pdf"),
                )
        previous = None
        for step in spec.path:
            if step == "submit" and previous == "return":
                # the revision the bureau asked for: a stamped commitment replaces the unclear one
                name, label = ATTACHMENT_FILES[AttachmentKind.SELF_FUNDING_PROOF]
                services.add_attachment(
                    actor=writer, application_id=app.pk, kind=AttachmentKind.SELF_FUNDING_PROOF,
                    uploaded=SimpleUploadedFile(f"（盖章版）{name}", demo_pdf(f"{label}, stamped - application {app.pk}"),
                                                "application/pdf"),
                )
            self.transition(step, app, writer=writer, org_admin=org_admin, reason=spec.reason)
            previous = step

    def transition(self, step: str, app: Application, *, writer: User, org_admin: User, reason: str) -> None:
        if step == "submit":
            services.submit_application(actor=writer, application_id=app.pk)
        elif step == "endorse":
            services.endorse_application(actor=org_admin, application_id=app.pk, reason="内容属实，同意推荐。")
        elif step == "org_return":
            services.org_return_application(actor=org_admin, application_id=app.pk, reason=reason)
        elif step == "accept":
            services.formal_review(actor=self.officer, application_id=app.pk, decision=FormalReview.Decision.ACCEPT,
                                   checklist=ALL_CHECKS_PASS)
        elif step == "return":
            services.formal_review(actor=self.officer, application_id=app.pk, decision=FormalReview.Decision.RETURN,
                                   reason=reason, checklist={**ALL_CHECKS_PASS, "attachments": False})
        elif step == "reject":
            services.formal_review(actor=self.officer, application_id=app.pk, decision=FormalReview.Decision.REJECT,
                                   reason=reason, checklist={**ALL_CHECKS_PASS, "scope": False})
        elif step == "withdraw":
            services.withdraw_application(actor=writer, application_id=app.pk, reason=reason)
        else:  # pragma: no cover - a typo in the data above
            raise ValueError(step)

    # ---- output ------------------------------------------------------------------------------------

    def print_logins(self):
        rows = [(str(Role(r[2][0]).label) if r[2] else "超级管理员", r[0], r[6]) for r in STAFF]
        rows += [
            ("申报单位用户（杭州云栖智能科技有限公司）", "applicant",
             "提交草稿《基于多模态大模型…》；修改被退回的申报书后重新提交；查看历史与消息；"
             "揭榜挂帅：在榜单《新型环保颜料…》上提问、起草并提交揭榜方案"),
            ("单位管理员（杭州云栖智能科技有限公司）", "orgadmin",
             "单位审核队列：审核通过或退回；管理本单位用户；确认科技局已确认的任务书《工业数据安全分级分类…》（确认即签订）"),
            ("单位管理员（存在失信记录的单位）", "gcqrj-admin", "提交草稿被拒：惩戒期内不得申报"),
            ("单位管理员（待认证单位）", "zjlz-admin", "提交草稿被拒：单位尚未通过认证"),
            ("发榜企业（杭州钱江汽车零部件有限公司）", "qjqp-admin",
             "赛马制榜单《分布式轮毂电驱动系统…》：两个团队入选，一个第一阶段考核未通过已终止"),
            ("发榜企业（杭州钱塘华彩颜料化工有限公司）", "hcyl-admin", "揭榜中的《新型环保颜料…》：答复待答复的提问"),
            ("发榜企业（杭州西溪精测仪器有限公司）", "jcyq-admin", "智能传感器需求：一项待科技局受理，一项论证中；起草新需求"),
            ("揭榜团队（杭州市智能制造研究院）", "znzz-admin", "入选的揭榜项目：第一个里程碑已通过，继续提交第二个里程碑报告"),
            ("单位管理员（之江理工大学）", "zjlg-admin", "全过程项目：中期检查、验收均已通过（专家评分），三期拨款已拨付，已结题"),
            ("单位管理员（杭州滨江光电子有限公司）", "bjgd-admin", "中期检查6天后到期：补全中期报告并提交；延期申请、设备费调增的预算调整待科技局审批"),
            ("单位管理员（杭州市现代农业研究院）", "xdny-admin", "中期检查整改中：上传整改报告后重新提交；延期申请已批准"),
            ("单位管理员（杭州余杭生物医药有限公司）", "yhsy-admin", "中期检查不通过、项目终止：查看追回单（已缴回一笔，余款待缴）"),
            ("单位管理员（杭州市第九人民医院）", "dj9y-admin", "预算调整：业务费调剂至劳务费，在单位自主调整权限内，已备案生效"),
            ("单位管理员（杭州临平数字纺织科技有限公司）", "lpfz-admin", "后补助：研发费用已核定，按10%核定的补助已拨付"),
            ("单位管理员（杭州富春江环保科技有限公司）", "fcjhb-admin", "后补助：申报已提交，待科技局核定（按比例超过50万元上限）"),
            ("单位管理员（建德市新安江智能制造有限公司）", "jdzz-admin", "后补助：申报被退回补正，补充材料后重新提交"),
            ("单位管理员（杭州钱塘新材料科技有限公司）", "qtxc-admin", "中期检查逾期12天未提交：消息中心的逾期提醒、黄牌（已报局领导红牌督办）"),
            ("单位管理员（杭州萧山智能装备制造有限公司）", "xszb-admin", "中期检查逾期5天：消息中心的逾期提醒与黄牌警示"),
            ("单位管理员（钱塘科技学院）", "qtkj-admin", "中期检查2天后到期：消息中心的期限提醒"),
        ]
        headers = ("角色", "用户名", "密码", "可以试试")
        widths = [
            max(display_width(x) for x in [headers[0], *(r[0] for r in rows)]),
            max(display_width(x) for x in [headers[1], *(r[1] for r in rows)]),
            display_width(DEMO_PASSWORD),
        ]
        line = "  ".join(pad(h, w) for h, w in zip(headers[:3], widths, strict=True)) + "  " + headers[3]
        self.stdout.write("")
        self.stdout.write("演示账号（登录地址 http://127.0.0.1:8000/accounts/login/ ，管理后台 /admin/）：")
        self.stdout.write(line)
        self.stdout.write("-" * min(display_width(line) + 40, 140))
        for role, username, hint in rows:
            self.stdout.write("  ".join([pad(role, widths[0]), pad(username, widths[1]), pad(DEMO_PASSWORD, widths[2]),
                                         hint]))
        self.stdout.write("其余单位的管理员为“<单位简称>-admin”（如 qtxc-admin、zjlg-admin），密码相同。")
        self.stdout.write("")
