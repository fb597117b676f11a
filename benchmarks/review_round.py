"""Benchmark: one expert review round end to end, through the services and the database, at city scale (issue 3).

    .venv/bin/python benchmarks/review_round.py                 # 300 accepted applications, pool of 1,000 experts
    .venv/bin/python benchmarks/review_round.py 2000 5000       # a province-sized call
    .venv/bin/python benchmarks/review_round.py 2000 5000 --profile   # cProfile steps 2, 3 and the pages, then stop
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kj_bench .venv/bin/python benchmarks/review_round.py

Where it writes: without DATABASE_URL, a new SQLite file in a temporary directory. With a PostgreSQL
DATABASE_URL, only the server is taken from it: the script creates its own database ``kj_review_round_<pid>``
there, works in it and drops it at the end. The database the URL names is never opened. Any other
DATABASE_URL is refused. Celery uses the in-memory broker (the e-mails a worker would send are queued, not
sent), so no task runs inside a timed step: in production a worker does that work.

What it builds (untimed, seeded; bulk_create where the services would take too long to set up):

* 20 first-level disciplines (GB/T 13745 roots) with 4 second-level codes and 12 keywords each; the
  popularity of a discipline follows 1/rank^0.5, the same for applications and experts.
* Applicant organisations: a few universities, institutes and hospitals of the city that send a third of the
  applications and employ a quarter of the experts, and many companies. Each has a staff of researchers with
  ID numbers (18-character 身份证 numbers with a valid check digit) from which the teams are drawn.
* N accepted applications of one call (whose budget is 35% of what they request): a discipline code (a company's
  mostly in its own field), 3-5 keywords, 200,000-1,000,000 元 requested from the city, a team of 4 (the leader
  and 3 members, with ID numbers), 0-2 partner organisations, and for one in ten 1-3 不适宜专家 (experts of the
  same discipline, named by name and workplace).
* A pool of M experts (92% active): 1 discipline code and 0-2 more (mostly in the same field), 4-6 keywords,
  an annual cap of 6, 10 or 15; 30% work at applicant organisations (linked by the organisation, the
  workplace's credit code or only its name); 3% declared a relation (an organisation or a person); 6% are away
  during the review, 10% at other times; 40% already reviewed earlier this year (a few up to their cap).
* Earlier Projects: N/6 projects of companies, most established 1-2.5 years ago and some 4-6 years ago, whose
  teams are drawn from the same staff and in most cases include an expert of the pool: the three-year
  collaboration rule (近三年共同承担项目) fires for the recent ones only.

Then it times what the officer and the experts do, each step through the real services (and the pages through
the Django test client, logged in as the officer):

1. create_round (5 experts per item, the default rubric), add_items, start_round;
2. assign.eligibility for every item (eligible pairs, excluded pairs by kind of reason);
3. run_draw(method="random") for every item; then the draw's invitations, alternates and Draw are deleted
   (untimed) and run_draw(method="optimal") runs on the same state; the reviews go on with the optimal one;
4. every invited expert accepts (承诺书) and submits scores, a comment and a recommendation;
5. selectors.ranking, close_round, build_funding_list (the cut-off that fits the call budget), submit for
   sign-off, sign-off by the supervisor, publish for 公示, approve after it (Projects and 未立项);
6. the 回避 page, the ranking page and the round page (median of 5 requests).

Queries are counted with a ``connection.execute_wrapper`` (every statement, however many: Django's
CaptureQueriesContext keeps at most 9,000, fewer than the review step runs), the pages with
CaptureQueriesContext as in list_pages.py. Peak RSS is the process's maximum resident set size.
"""

import argparse
import cProfile
import datetime
import io
import json
import os
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Never the working database: a fresh directory for SQLite, the broker, uploads and logs.
os.environ["KJ_VAR_DIR"] = tempfile.mkdtemp(prefix="kj-bench-review-")
os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
os.environ.setdefault("AXES_ENABLED", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")


def scratch_postgres() -> tuple[str, str] | None:
    """With a PostgreSQL DATABASE_URL: create ``kj_review_round_<pid>`` on that server and point DATABASE_URL at
    it. Returns (maintenance URL, database name) for dropping it, or None for SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL: only a PostgreSQL server is accepted (unset it for a temporary SQLite database)")
    import psycopg

    name = f"kj_review_round_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    return admin, name


def drop_postgres(scratch) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    admin, name = scratch
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SCRATCH = scratch_postgres()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from accounts.models import Organization, User  # noqa: E402
from accounts.tests.factories import UserFactory, make_credit_code  # noqa: E402
from experts import selectors  # noqa: E402
from experts.models import (  # noqa: E402
    Alternate,
    Assignment,
    DeclaredRelation,
    Draw,
    Expert,
    ReviewItem,
    ReviewRound,
    Unavailability,
)
from experts.services import assign, funding, reviews, rounds  # noqa: E402
from experts.services.reviews import COMMITMENT_ITEMS  # noqa: E402
from projects.models import (  # noqa: E402
    Application,
    AvoidanceRequest,
    BudgetLine,
    Call,
    Partner,
    Program,
    Project,
    TeamMember,
)

settings.ALLOWED_HOSTS = ["*"]
settings.DEBUG = False
# no collectstatic here: plain static storage instead of the manifest one
settings.STORAGES = {**settings.STORAGES,
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

EXPERTS_PER_ITEM = 5
PAGE_REPEAT = 5
BATCH = 2000

# first-level disciplines (GB/T 13745), most popular first, with 12 keywords each
DISCIPLINES = [
    ("520", "计算机科学技术", "人工智能 机器视觉 大模型 自然语言处理 数据库 网络安全 云计算 区块链 知识图谱 边缘计算 工业互联网 隐私计算"),
    ("510", "电子与通信技术", "5G 射频 集成电路 物联网 传感器 光通信 芯片设计 天线 毫米波 嵌入式 北斗导航 功率器件"),
    ("320", "临床医学", "心血管 影像诊断 微创手术 康复 儿科 眼科 肿瘤放疗 重症监护 麻醉 中西医结合 骨科 精准医疗"),
    ("460", "机械工程", "数控机床 精密加工 机器人 液压 传动 增材制造 智能装备 检测装备 减振降噪 焊接 工业机器人 轴承"),
    ("430", "材料科学", "复合材料 金属材料 陶瓷 功能薄膜 锂电池材料 石墨烯 高温合金 生物材料 稀土 涂层 3D打印 磁性材料"),
    ("470", "动力与电气工程", "电机 电力电子 储能 智能电网 新能源汽车 充电桩 变频器 热管理 燃料电池 电机控制 电能质量 配电网"),
    ("350", "药学", "新药研发 制剂 中药 药物递送 生物药 一致性评价 药代动力学 抗体药物 疫苗 质量控制 天然产物 创新药"),
    ("180", "生物学", "基因编辑 合成生物学 蛋白质工程 微生物 细胞培养 分子育种 生物信息 发酵工程 酶工程 免疫学 干细胞 代谢工程"),
    ("610", "环境科学技术", "大气污染 水污染治理 固废处理 土壤修复 环境监测 碳排放 垃圾分类 污泥处置 生态修复 VOCs治理 噪声控制 资源化利用"),
    ("480", "能源科学技术", "光伏 氢能 风电 储能系统 节能 生物质能 综合能源 碳捕集 余热利用 核能 微电网 能效管理"),
    ("530", "化学工程", "反应工程 分离技术 精细化工 膜分离 过程强化 化工安全 催化剂 结晶 萃取 流程模拟 废水处理 连续流"),
    ("310", "基础医学", "肿瘤 病理 药理 免疫治疗 神经科学 分子诊断 干细胞治疗 表观遗传 细胞凋亡 炎症 代谢疾病 动物模型"),
    ("413", "信息与系统科学相关工程与技术", "控制系统 系统工程 智能决策 仿真 故障诊断 数字孪生 优化调度 机器人控制 多智能体 预测维护 工业控制 自适应控制"),
    ("150", "化学", "催化 有机合成 电化学 高分子 分析检测 绿色化学 纳米材料 配位化学 表面化学 色谱分析 光催化 药物化学"),
    ("210", "农学", "水稻育种 茶叶 植物保护 土壤改良 设施农业 智慧农业 病虫害防治 种质资源 果蔬保鲜 农产品加工 节水灌溉 生物农药"),
    ("140", "物理学", "光学 凝聚态 量子信息 激光技术 超导 声学 等离子体 半导体物理 光电探测 精密测量 太赫兹 自旋电子"),
    ("620", "安全科学技术", "消防 应急管理 安全监测 危化品 矿山安全 风险评估 火灾预警 公共安全 视频监控 安全生产 防爆 结构健康监测"),
    ("580", "水利工程", "水资源 防洪 水环境 河道治理 水文监测 海塘 灌区 水利信息化 水土保持 泵站 地下水 海绵城市"),
    ("630", "管理学", "科技管理 创新政策 供应链 数字经济 产业规划 知识产权 技术转移 企业管理 城市治理 公共管理 绩效评价 金融科技"),
    ("110", "数学", "偏微分方程 最优化 随机过程 数值计算 图论 统计推断 运筹学 密码学 动力系统 组合数学 数据科学 不确定性量化"),
]
SUBFIELDS = 4  # second-level codes per root: 520.10 … 520.40
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志红玉萍文斌宇浩凯鹏辉晨阳雪琳婷颖欣怡涵思远博俊嘉豪宏亮海峰立新振永德春梅晓东龙彬睿哲瑶琪"
REGIONS = ["330102", "330105", "330106", "330108", "330109", "330110", "330122", "320102", "310104", "110108"]
CITIES = ["上海", "南京", "苏州", "合肥", "宁波", "武汉", "北京", "广州", "深圳", "西安", "成都", "长沙"]
EXTERNAL_KINDS = ["大学", "理工大学", "工业大学", "医科大学", "农业大学", "工业技术研究院", "中心医院", "科学院研究所"]
LOCAL_INSTITUTIONS = [
    ("杭州理工大学", Organization.Kind.UNIVERSITY), ("杭州医科大学", Organization.Kind.UNIVERSITY),
    ("杭州农林大学", Organization.Kind.UNIVERSITY), ("杭州电子信息学院", Organization.Kind.UNIVERSITY),
    ("杭州市工业技术研究院", Organization.Kind.INSTITUTE), ("杭州市第一人民医院", Organization.Kind.HOSPITAL),
    ("杭州市中医院", Organization.Kind.HOSPITAL), ("杭州市计量测试研究院", Organization.Kind.INSTITUTE),
    ("杭州师范学院", Organization.Kind.UNIVERSITY), ("杭州市农业科学研究院", Organization.Kind.INSTITUTE),
    ("杭州市环境科学研究院", Organization.Kind.INSTITUTE), ("杭州市儿童医院", Organization.Kind.HOSPITAL),
]
COMPANY_WORDS = ("华新智博恒创天中瑞远", "锐科达源宇信泰联芯海", ["智能科技", "生物医药", "新材料", "电子", "机械",
                                                    "能源科技", "环保科技", "信息技术", "精密制造", "化工"])
TITLES = [("教授", Expert.TitleLevel.SENIOR), ("研究员", Expert.TitleLevel.SENIOR),
          ("教授级高级工程师", Expert.TitleLevel.SENIOR), ("主任医师", Expert.TitleLevel.SENIOR),
          ("副教授", Expert.TitleLevel.VICE_SENIOR), ("高级工程师", Expert.TitleLevel.VICE_SENIOR),
          ("副研究员", Expert.TitleLevel.VICE_SENIOR)]
COMMENTS_GOOD = ["技术路线清晰，创新点明确，团队基础扎实，建议支持。", "研究目标明确，预期成果可考核，产业化前景较好。",
                 "前期工作基础较好，实施方案可行，经费预算基本合理。"]
COMMENTS_MID = ["创新性一般，考核指标偏少，建议细化实施方案后立项。", "研究内容较多，进度安排偏紧，预算中设备费比例偏高。"]
COMMENTS_LOW = ["创新性不足，与已有技术区别不明显；实施方案不够具体，考核指标难以量化，不建议立项。",
                "团队与研究内容匹配度不高，前期基础薄弱，经费预算依据不足。"]
ALL_COMMITMENTS = [code for code, _label in COMMITMENT_ITEMS]


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a CJK character takes two)."""
    return text + " " * max(0, width - sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class QueryCounter:
    """Counts every statement the connection runs (an execute wrapper: no cap, no SQL kept)."""

    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


COUNTER = QueryCounter()


class Results:
    def __init__(self):
        self.rows: list[tuple[str, float, int, str]] = []

    def timed(self, label: str, fn, *, per: tuple[str, int] | None = None, profile: cProfile.Profile | None = None):
        q0 = COUNTER.n
        t = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            out = fn()
        finally:
            if profile is not None:
                profile.disable()
        seconds = time.perf_counter() - t
        queries = COUNTER.n - q0
        ratio = ""
        if per and per[1]:
            unit, n = per
            ratio = f"{seconds * 1000 / n:.2f} ms, {queries / n:.1f} q per {unit}"
        self.rows.append((label, seconds, queries, ratio))
        return out

    def print(self) -> None:
        print(f"{'step':<48}{'seconds':>10}{'queries':>10}   ratio")
        for label, seconds, queries, ratio in self.rows:
            print(f"{pad(label, 48)}{seconds:>10.2f}{queries:>10,}   {ratio}")


# ---- building the data (untimed) ------------------------------------------------------------------------


class People:
    """Unique names and 身份证 numbers (valid check digit)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ids: set[str] = set()

    def name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def id_number(self) -> str:
        r = self.rng
        while True:
            born = datetime.date(1958, 1, 1) + datetime.timedelta(days=r.randrange(38 * 365))
            body = f"{r.choice(REGIONS)}{born:%Y%m%d}{r.randrange(1000):03d}"
            number = body + ric.calc_check_digit(body)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def person(self) -> tuple[str, str]:
        return self.name(), self.id_number()


def weighted_root(rng: random.Random) -> int:
    return rng.choices(range(len(DISCIPLINES)), weights=[1 / (i + 1) ** 0.5 for i in range(len(DISCIPLINES))])[0]


def subfield_code(root: int, sub: int) -> str:
    return f"{DISCIPLINES[root][0]}.{(sub + 1) * 10}"


def keywords_for(rng: random.Random, root: int, sub: int, n: int) -> list[str]:
    """``n`` keywords of the root's 12, most of them from the six its subfield favours."""
    vocab = DISCIPLINES[root][2].split()
    near = [vocab[(sub * 3 + k) % len(vocab)] for k in range(6)]
    out: list[str] = []
    while len(out) < n:
        k = rng.choice(near) if rng.random() < 0.75 else rng.choice(vocab)
        if k not in out:
            out.append(k)
    return out


def build(n_apps: int, n_experts: int, seed: int) -> dict:
    rng = random.Random(seed)
    people = People(rng)
    now = timezone.now()
    today = timezone.localdate(now)
    year = today.year
    call_command("migrate", verbosity=0)
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ("applicant", "org_admin", "expert")}
    officer = UserFactory(username="bench-officer", roles=["officer"], is_staff=True, real_name="陈处长")
    supervisor = UserFactory(username="bench-supervisor", roles=["supervisor"], real_name="刘局长")

    # -- organisations and their researchers
    n_local = min(len(LOCAL_INSTITUTIONS), max(6, n_apps // 40))
    n_companies = max(30, n_apps // 3)
    orgs = [Organization(name=name, credit_code=make_credit_code(100_000 + i), kind=kind, region="杭州市",
                         contact_name=people.name(), contact_phone=f"0571-8{i:07d}", state=Organization.State.VERIFIED,
                         verified_at=now)
            for i, (name, kind) in enumerate(LOCAL_INSTITUTIONS[:n_local])]
    seen = set()
    for i in range(n_companies):
        a, b, c = COMPANY_WORDS
        name = f"杭州{rng.choice(a)}{rng.choice(b)}{rng.choice(c)}{rng.choice(['有限公司', '股份有限公司'])}"
        if name in seen:
            name = name.replace("杭州", f"杭州{rng.choice(['滨江', '余杭', '萧山', '西湖', '拱墅'])}", 1)
        if name in seen:
            name = f"{name[:-4]}{i}有限公司"
        seen.add(name)
        orgs.append(Organization(name=name, credit_code=make_credit_code(200_000 + i),
                                 kind=Organization.Kind.ENTERPRISE,
                                 region="杭州市", contact_name=people.name(), contact_phone=f"138{i:08d}",
                                 state=Organization.State.VERIFIED, verified_at=now))
    orgs = Organization.objects.bulk_create(orgs, batch_size=BATCH)
    local, companies = orgs[:n_local], orgs[n_local:]
    staff = {o.pk: [people.person() for _ in range(60 if o in local else 8)] for o in orgs}
    home = {o.pk: weighted_root(rng) for o in companies}  # a company works in one field, mostly
    owners = User.objects.bulk_create(
        [User(username=f"applicant{o.pk}", real_name=people.name(), email=f"applicant{o.pk}@bench.example",
              organization=o, password="!") for o in orgs], batch_size=BATCH)
    owner_of = {u.organization_id: u for u in owners}
    Through = User.groups.through
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=groups[g].pk) for u in owners
                                 for g in ("applicant", "org_admin")], batch_size=BATCH)

    program = Program.objects.create(name="重点研发计划", code="zdyf", managing_office="高新技术处")

    def new_call(y: int, title: str, opens: datetime.datetime) -> Call:
        return Call.objects.create(program=program, year=y, title=title, opens_at=opens,
                                   closes_at=opens + datetime.timedelta(days=30), total_budget=Decimal("1.00"),
                                   cap_per_project=Decimal("1000000.00"), min_self_funding_ratio=Decimal("0.5"),
                                   state=Call.State.CLOSED, published_at=opens)

    def applications(call, count, prefix, state, submitted, pick_org):
        """``count`` applications of ``call`` with teams, budgets, partners; returns (apps, teams by app)."""
        apps, teams, extra = [], {}, []
        for i in range(count):
            org = pick_org()
            root = home[org.pk] if org.pk in home and rng.random() < 0.8 else weighted_root(rng)
            sub = rng.randrange(SUBFIELDS)
            leader = rng.choice(staff[org.pk])
            kw = keywords_for(rng, root, sub, rng.choice((3, 4, 4, 5)))
            apps.append(Application(
                call=call, organization=org, created_by=owner_of[org.pk], number=f"{prefix}-{i + 1:05d}",
                title=f"{kw[0]}与{kw[1]}关键技术研究及应用示范", summary=f"面向{DISCIPLINES[root][1]}领域的{kw[0]}研究。",
                keywords="，".join(kw), discipline_code=subfield_code(root, sub),
                start_date=datetime.date(call.year + 1, 1, 1), end_date=datetime.date(call.year + 2, 12, 31),
                leader_name=leader[0], leader_title="高级工程师", leader_phone=f"139{i:08d}",
                leader_id_number=leader[1], state=state, revision=1, submitted_at=submitted,
                reached_bureau_at=submitted, decided_at=submitted + datetime.timedelta(days=10),
            ))
            extra.append((org, leader))
        apps = Application.objects.bulk_create(apps, batch_size=BATCH)
        members, lines, partners = [], [], []
        for app, (org, leader) in zip(apps, extra, strict=True):
            others = [p for p in staff[org.pk] if p != leader]
            team = rng.sample(others, 3)
            chosen = rng.choices((0, 1, 2), weights=(50, 35, 15))[0]
            partner_orgs = rng.sample([o for o in (local if rng.random() < 0.6 else companies) if o != org], chosen)
            for pos, p in enumerate(partner_orgs):
                partners.append(Partner(application=app, organization=p, name=p.name, credit_code=p.credit_code,
                                        role="联合研发与示范应用", position=pos))
            if partner_orgs:  # one member of the team comes from the first partner
                team[-1] = rng.choice(staff[partner_orgs[0].pk])
            for pos, (name, id_number) in enumerate(team):
                members.append(TeamMember(application=app, name=name, id_number=id_number, title="工程师",
                                          organization_name=org.name, role="研究骨干", work_months=12, position=pos))
            teams[app.pk] = [leader, *team]
            fiscal = Decimal(rng.randrange(20, 101) * 10_000)
            split = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
            for cat, share in zip(("equipment", "business", "labour"), split, strict=True):
                amount = (fiscal * share).quantize(Decimal("0.01"))
                lines.append(BudgetLine(application=app, category=cat, fiscal_amount=amount,
                                        self_amount=amount * rng.choice((1, 2, 3))))
        TeamMember.objects.bulk_create(members, batch_size=BATCH)
        BudgetLine.objects.bulk_create(lines, batch_size=BATCH)
        Partner.objects.bulk_create(partners, batch_size=BATCH)
        return apps, teams

    def pick_current():
        return rng.choice(local) if rng.random() < 0.35 else companies[int(len(companies) * rng.random() ** 1.6)]

    # -- the call under review: N accepted applications
    call = new_call(year, f"{year}年度重点研发计划项目申报指南", now - datetime.timedelta(days=70))
    apps, teams = applications(call, n_apps, f"ZDYF-{year}", Application.State.ACCEPTED,
                               now - datetime.timedelta(days=45), pick_current)

    # -- the expert pool
    externals = [f"{c}{k}" for c in CITIES for k in EXTERNAL_KINDS]
    users, experts, taken = [], [], set()
    statuses = [Expert.Status.ACTIVE] * 92 + [Expert.Status.SUSPENDED] * 4 + [Expert.Status.RETIRED] * 2 + [
        Expert.Status.PENDING] * 2
    for i in range(n_experts):
        r = rng.random()
        org = rng.choice(local) if r < 0.25 else rng.choice(companies) if r < 0.30 else None
        free = [p for p in staff[org.pk] if p[1] not in taken] if org is not None else []
        if free and rng.random() < 0.5:
            name, id_number = rng.choice(free)  # one of its researchers: may be on a team of the call
            taken.add(id_number)
        else:
            name, id_number = people.person()
        root = weighted_root(rng)
        sub = rng.randrange(SUBFIELDS)
        codes = [subfield_code(root, sub)]
        for _ in range(rng.choice((0, 1, 1, 2))):
            other = root if rng.random() < 0.7 else weighted_root(rng)
            code = subfield_code(other, rng.randrange(SUBFIELDS))
            if code not in codes:
                codes.append(code)
        title, level = rng.choice(TITLES)
        link = rng.random()
        users.append(User(username=f"expert{i}", real_name=name, email=f"expert{i}@bench.example", password="!",
                          organization=org if org is not None and link < 0.25 else None))
        experts.append(Expert(
            name=name, id_number=id_number, workplace=org.name if org else rng.choice(externals),
            organization=org if org is not None and link < 0.5 else None,
            workplace_credit_code=org.credit_code if org is not None and 0.5 <= link < 0.75 else "",
            title=title, title_level=level, discipline_codes=codes,
            keywords="，".join(keywords_for(rng, root, sub, rng.choice((4, 5, 6)))), region=rng.choice(CITIES),
            phone=f"137{i:08d}", annual_cap=rng.choices((10, 15, 6), weights=(85, 10, 5))[0],
            status=(status := rng.choice(statuses)),
            approved_at=(None if status == Expert.Status.PENDING
                         else now - datetime.timedelta(days=rng.randrange(30, 1500))),
        ))
    users = User.objects.bulk_create(users, batch_size=BATCH)
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=groups["expert"].pk) for u in users], batch_size=BATCH)
    for u, e in zip(users, experts, strict=True):
        e.user = u
    experts = Expert.objects.bulk_create(experts, batch_size=BATCH)
    active = [e for e in experts if e.status == Expert.Status.ACTIVE]

    # -- declared relations, unavailability
    relations, away = [], []
    for e in experts:
        if rng.random() < 0.03:
            if rng.random() < 0.5:
                o = rng.choice(orgs)
                relations.append(DeclaredRelation(expert=e, kind=DeclaredRelation.Kind.ORGANIZATION,
                                                  organization_name=o.name, credit_code=o.credit_code,
                                                  relation="兼职技术顾问"))
            else:
                app = rng.choice(apps)
                name, id_number = rng.choice(teams[app.pk])
                relations.append(DeclaredRelation(expert=e, kind=DeclaredRelation.Kind.PERSON, person_name=name,
                                                  person_id_number=id_number if rng.random() < 0.7 else "",
                                                  relation=rng.choice(["师生关系", "近亲属", "曾共同指导研究生"])))
        r = rng.random()
        if r < 0.06:  # away during the review
            start = today + datetime.timedelta(days=rng.randrange(0, 10))
            away.append(Unavailability(expert=e, start_date=start, end_date=start + datetime.timedelta(days=14),
                                       reason="出国访问"))
        elif r < 0.16:  # away some other time
            start = today + datetime.timedelta(days=rng.choice((-90, -40, 40, 90)))
            away.append(Unavailability(expert=e, start_date=start, end_date=start + datetime.timedelta(days=7),
                                       reason="出差"))
    DeclaredRelation.objects.bulk_create(relations, batch_size=BATCH)
    Unavailability.objects.bulk_create(away, batch_size=BATCH)

    # -- 不适宜专家: one application in ten names 1-3 experts of its own field
    by_root = defaultdict(list)
    for e in active:
        by_root[e.discipline_codes[0][:3]].append(e)
    avoid = []
    for app in apps:
        if rng.random() < 0.10:
            pool = by_root.get(app.discipline_code[:3]) or active
            for pos, e in enumerate(rng.sample(pool, min(len(pool), rng.choice((1, 1, 2, 3))))):
                avoid.append(AvoidanceRequest(application=app, name=e.name, organization_name=e.workplace,
                                              reason="存在学术竞争关系", position=pos))
    AvoidanceRequest.objects.bulk_create(avoid, batch_size=BATCH)

    # -- earlier Projects of the companies, teams from the same staff and most with a pool expert on them
    old_count = max(20, n_apps // 6)
    old_call = new_call(year - 3, f"{year - 3}年度重点研发计划项目申报指南", now - datetime.timedelta(days=3 * 365))
    old_apps, old_teams = applications(old_call, old_count, f"ZDYF-{year - 3}", Application.State.APPROVED,
                                       now - datetime.timedelta(days=3 * 365 - 40), lambda: rng.choice(companies))
    swaps = []
    for app in old_apps:  # a collaborator of the same field, from a university mostly
        if rng.random() < 0.8:
            swaps.append((app.pk, rng.choice(by_root.get(app.discipline_code[:3]) or active)))
    for app_id, e in swaps:  # the expert took the place of the last team member
        TeamMember.objects.filter(application_id=app_id, position=2).update(name=e.name, id_number=e.id_number,
                                                                            organization_name=e.workplace)
    projects = []
    for i, app in enumerate(old_apps):
        recent = rng.random() < 0.8
        established = now - datetime.timedelta(days=rng.randrange(365, 900) if recent else rng.randrange(1500, 2100))
        projects.append(Project(application=app, call=old_call, organization=app.organization,
                                number=f"{year - 3}ZDYF{i + 1:04d}", title=app.title, leader_name=app.leader_name,
                                requested_amount=Decimal("500000.00"), granted_amount=Decimal("400000.00"),
                                established_at=established, source="往年立项"))
    Project.objects.bulk_create(projects, batch_size=BATCH)

    # -- reviews experts already did this year (a closed round of an earlier call): their annual load
    year_start = datetime.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())
    earlier = year_start + (now - year_start) * 0.3
    spring = new_call(year, f"{year}年度第一批科技计划项目申报指南", earlier - datetime.timedelta(days=60))
    spring_apps, _teams = applications(spring, max(20, n_apps // 5), f"ZDYFA-{year}", Application.State.NOT_APPROVED,
                                       earlier - datetime.timedelta(days=20), pick_current)
    prior = ReviewRound.objects.create(call=spring, name=f"{spring.title} 专家评审", experts_per_item=5,
                                       response_deadline=earlier + datetime.timedelta(days=3),
                                       review_deadline=earlier + datetime.timedelta(days=14),
                                       state=ReviewRound.State.CLOSED, created_by=officer, started_at=earlier,
                                       closed_at=earlier + datetime.timedelta(days=15))
    ct = ContentType.objects.get_for_model(Application)
    prior_items = ReviewItem.objects.bulk_create(
        [ReviewItem(round=prior, subject_type=ct, subject_id=a.pk, number=a.number, title=a.title,
                    discipline_code=a.discipline_code) for a in spring_apps], batch_size=BATCH)
    done = []
    for e in active:
        if rng.random() < 0.4:
            load = rng.choices((1, 2, 3, 5, 8, e.annual_cap), weights=(30, 25, 15, 15, 10, 5))[0]
            for item in rng.sample(prior_items, min(load, len(prior_items))):
                done.append(Assignment(round=prior, item=item, expert=e, state=Assignment.State.SUBMITTED,
                                       invited_at=earlier, respond_by=earlier + datetime.timedelta(days=3),
                                       responded_at=earlier, submitted_at=earlier + datetime.timedelta(days=10)))
    Assignment.objects.bulk_create(done, batch_size=BATCH)

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have by then
        cursor.execute("ANALYZE")
    return {
        "call": call, "officer": officer, "supervisor": supervisor, "apps": apps, "experts": experts,
        "active": len(active), "orgs": len(orgs), "local": n_local, "relations": len(relations),
        "away": sum(1 for u in away if u.reason == "出国访问"), "avoid": len(avoid), "old_projects": len(projects),
        "with_expert": len(swaps), "prior_reviews": len(done), "partners": Partner.objects.filter(
            application__call=call).count(),
        "rng": rng,
    }


def set_budget(call: Call, share: float) -> Decimal:
    """The call's budget: ``share`` of what its applications request, in whole 10,000 元."""
    requested = sum(
        (bl.fiscal_amount for bl in BudgetLine.objects.filter(application__call=call)), Decimal(0))
    budget = (requested * Decimal(str(share)) / 10_000).quantize(Decimal(1), ROUND_HALF_UP) * 10_000
    Call.objects.filter(pk=call.pk).update(total_budget=budget)
    return budget


# ---- what people do -------------------------------------------------------------------------------------

REASON_KINDS = [
    ("同一单位", ("与申报单位或合作单位", "工作单位与申报单位或合作单位同名")),
    ("项目组成员", ("本人为该项目负责人或项目组成员",)),
    ("申报的利益关系", ("本人申报的利益关系",)),
    ("不适宜专家", ("申报单位申请回避",)),
    ("近三年合作", ("近三年与项目组成员共同承担项目",)),
    ("已邀请过", ("已邀请过该专家评审此项",)),
    ("年度上限", ("本年度评审任务已达上限",)),
    ("不可参评时段", ("不可参评",)),
]


def reason_kind(reason: str) -> str:
    for kind, needles in REASON_KINDS:
        if any(n in reason for n in needles):
            return kind
    return "other: " + reason[:20]


def scores_for(rng: random.Random, criteria, quality: float, bias: float) -> tuple[dict, Decimal]:
    target = max(20.0, min(98.0, quality + bias + rng.gauss(0, 4)))
    scores, total = {}, Decimal(0)
    for c in criteria:
        frac = max(0.0, min(1.0, target / 100 + rng.gauss(0, 0.05)))
        value = (Decimal(str(float(c.max_score) * frac)) * 2).quantize(Decimal(1), ROUND_HALF_UP) / 2
        scores[str(c.pk)] = str(value)
        total += value
    return scores, total


def cutoff_within(rows, budget: Decimal) -> Decimal:
    """The lowest cut-off whose list (every ranked item scoring at least it) stays within ``budget``."""
    ranked = [r for r in rows if r.rank is not None and not r.insufficient]
    scores = sorted({r.result.score for r in ranked}, reverse=True)
    best = scores[0]
    for s in scores:
        if sum((r.requested for r in ranked if r.result.score >= s), Decimal(0)) > budget:
            break
        best = s
    return best


def profile_report(prof: cProfile.Profile, title: str, limit: int = 14) -> None:
    ours = r"(experts|projects|accounts|activity)/[a-z_/]*\.py"
    for order, what, only in (("tottime", "own time", ()), ("cumulative", "cumulative time, project code", (ours,))):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(*only, limit)
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        print(f"\n--- cProfile: {title}, by {what} ---")
        print("\n".join(line.replace(str(ROOT) + "/", "") for line in lines[start:] if line.strip()))


def officer_pages(rnd) -> list[tuple[str, str]]:
    return [("回避 page (conflicts, page 1 of 20 items)", f"/review/rounds/{rnd.pk}/conflicts/"),
            ("ranking page", f"/review/rounds/{rnd.pk}/ranking/"),
            ("round page", f"/review/rounds/{rnd.pk}/")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("applications", nargs="?", type=int, default=300)
    parser.add_argument("experts", nargs="?", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20260315)
    parser.add_argument("--profile", action="store_true",
                        help="diagnosis: cProfile eligibility, the two draws and the three pages, then stop")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        if SCRATCH is not None:
            drop_postgres(SCRATCH)


def run(args) -> None:
    vendor = connection.vendor
    print(f"database: {vendor}{' (scratch database ' + SCRATCH[1] + ')' if SCRATCH else ''}; "
          f"{args.applications:,} applications, pool of {args.experts:,} experts, {EXPERTS_PER_ITEM} per item")
    t = time.perf_counter()
    data = build(args.applications, args.experts, args.seed)
    rng: random.Random = data["rng"]
    budget = set_budget(data["call"], 0.35)
    print(f"built in {time.perf_counter() - t:.1f} s (untimed): {data['orgs']} organisations ({data['local']} "
          f"universities, institutes, hospitals), {len(data['apps']):,} accepted applications with "
          f"{TeamMember.objects.filter(application__call=data['call']).count():,} team members, {data['partners']:,} "
          f"partners, {data['avoid']} 不适宜专家; {len(data['experts']):,} experts ({data['active']:,} active), "
          f"{data['relations']} declared relations, {data['away']} away during the review, {data['prior_reviews']:,} "
          f"reviews done earlier this year; {data['old_projects']} earlier projects ({data['with_expert']} with a pool "
          f"expert on the team); call budget {budget:,} 元; peak RSS {peak_rss_mib():.0f} MiB")

    officer, supervisor, call = data["officer"], data["supervisor"], data["call"]
    res = Results()
    prof = cProfile.Profile() if args.profile else None
    n = len(data["apps"])
    with connection.execute_wrapper(COUNTER):
        # 1. the round
        rnd = res.timed("1 create_round", lambda: rounds.create_round(
            actor=officer, call_id=call.pk, data={"experts_per_item": EXPERTS_PER_ITEM}))
        added = res.timed("1 add_items", lambda: rounds.add_items(actor=officer, round_id=rnd.pk), per=("item", n))
        res.timed("1 start_round", lambda: rounds.start_round(actor=officer, round_id=rnd.pk))
        rnd.refresh_from_db()
        items = list(rnd.items.order_by("id"))
        assert added == n == len(items), (added, n)

        # 2. who may review what
        el = res.timed("2 eligibility (all items)", lambda: assign.eligibility(rnd, items), per=("item", n),
                       profile=prof)
        if prof is not None:
            profile_report(prof, "assign.eligibility, all items")
            prof = cProfile.Profile()
        eligible = sum(len(c) for c in el.candidates.values())
        pair_kinds: Counter = Counter()
        excluded_pairs = 0
        for per_item in el.excluded.values():
            for reasons in per_item.values():
                excluded_pairs += 1
                for kind in {reason_kind(r) for r in reasons}:
                    pair_kinds[kind] += 1
        short = sum(1 for c in el.candidates.values() if len(c) < EXPERTS_PER_ITEM)
        del el

        # 3. the draws
        outcomes = {}
        for method in ("random", "optimal"):
            outcomes[method] = res.timed(f"3 run_draw {method}", lambda m=method: assign.run_draw(
                actor=officer, round_id=rnd.pk, method=m), per=("item", n), profile=prof)
            if prof is not None:
                profile_report(prof, f"run_draw(method={method!r})")
                prof = cProfile.Profile()
            draw = outcomes[method].draw
            loads = Counter(draw.assignments.values_list("expert_id", flat=True))
            outcomes[method] = (outcomes[method], len(loads), max(loads.values()),
                                draw.summary["total_affinity"] / max(1, outcomes[method].invited),
                                Alternate.objects.filter(draw=draw).count(), len(json.dumps(draw.candidates)))
            if method == "random":  # back to the state before the draw (untimed)
                Alternate.objects.filter(item__round=rnd).delete()
                Assignment.objects.filter(round=rnd).delete()
                Draw.objects.filter(round=rnd).delete()

        if prof is not None:  # diagnosis: the officer's pages as they are now, then stop
            client = Client()
            client.force_login(officer)
            for label, url in officer_pages(rnd):
                client.get(url)  # warm
                prof = cProfile.Profile()
                res.timed(f"6 {label}", lambda u=url: client.get(u), profile=prof)
                profile_report(prof, f"GET {url} ({label}, before the reviews)")
            print()
            res.print()
            return

        # 4. every invited expert accepts and reviews
        invitations = list(Assignment.objects.filter(round=rnd).select_related("expert__user", "item")
                           .order_by("expert_id", "id"))
        criteria = list(rnd.criteria.all())
        quality = {item.pk: rng.gauss(72, 9) for item in items}
        bias = {e.pk: rng.gauss(0, 4) for e in data["experts"]}
        per_review = []

        def accept_all():
            for a in invitations:
                reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL_COMMITMENTS,
                                          ip=f"192.0.2.{a.expert_id % 250 + 1}",
                                          user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0")

        def submit_all():
            for a in invitations:
                scores, total = scores_for(rng, criteria, quality[a.item_id], bias[a.expert_id])
                rec = "fund" if total >= 80 else "revise" if total >= 65 else "reject"
                comment = rng.choice(COMMENTS_GOOD if total >= 80 else COMMENTS_MID if total >= 60 else COMMENTS_LOW)
                t0 = time.perf_counter()
                reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, scores=scores, comment=comment,
                                      recommendation=rec)
                per_review.append(time.perf_counter() - t0)

        k = len(invitations)
        res.timed("4 accept_invitation (承诺书), every invitation", accept_all, per=("invitation", k))
        res.timed("4 submit_review, every invitation", submit_all, per=("review", k))

        # 5. ranking to Projects
        rows = res.timed("5 selectors.ranking", lambda: selectors.ranking(rnd), per=("item", n))
        cutoff = cutoff_within(rows, budget)
        res.timed("5 close_round", lambda: rounds.close_round(actor=officer, round_id=rnd.pk), per=("item", n))
        fl = res.timed("5 build_funding_list", lambda: funding.build_funding_list(
            actor=officer, round_id=rnd.pk, cutoff_score=str(cutoff)), per=("item", n))
        listed = fl.entries.count()
        res.timed("5 submit_for_signoff", lambda: funding.submit_for_signoff(actor=officer, list_id=fl.pk))
        res.timed("5 sign_off (supervisor)", lambda: funding.sign_off(actor=supervisor, list_id=fl.pk, comment="同意"))
        fl = res.timed("5 publish_list", lambda: funding.publish_list(actor=officer, list_id=fl.pk))
        after = datetime.datetime.combine(fl.publicity_end + datetime.timedelta(days=1), datetime.time(10),
                                          tzinfo=timezone.get_current_timezone())
        res.timed("5 approve_list (Projects, 未立项)", lambda: funding.approve_list(
            actor=officer, list_id=fl.pk, now=after), per=("application", n))
        created = Project.objects.filter(call=call).count()
        not_approved = Application.objects.filter(call=call, state=Application.State.NOT_APPROVED).count()

        # 6. the officer's pages
        client = Client()
        client.force_login(officer)
        pages = {}
        for label, url in officer_pages(rnd):
            assert client.get(url).status_code == 200, url  # warm
            times = []
            for _ in range(PAGE_REPEAT):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, (url, response.status_code)
            with CaptureQueriesContext(connection) as ctx:
                client.get(url)
            pages[label] = (statistics.median(times), len(ctx.captured_queries), len(response.content))

    print()
    res.print()
    print()
    print(f"eligibility: {eligible:,} eligible pairs ({eligible / n:.0f} per item, {short} items with fewer than "
          f"{EXPERTS_PER_ITEM}); {excluded_pairs:,} excluded pairs in the items' disciplines, by reason (a pair "
          "can have several):")
    print("  " + ", ".join(f"{kind} {count:,}" for kind, count in pair_kinds.most_common()))
    for method, (o, used, top, mean_aff, alts, snap) in outcomes.items():
        print(f"run_draw {method:<8}: {o.invited:,} invitations of {o.needed:,} needed, shortfall "
              f"{sum(o.shortfall.values())} on {len(o.shortfall)} items, {used:,} experts (max {top} each), mean "
              f"affinity {mean_aff:.3f}, {alts:,} alternates, candidate snapshot {snap / 1024:,.0f} KiB")
    per_review.sort()
    print(f"reviews: {k:,} submitted; submit_review median {statistics.median(per_review) * 1000:.1f} ms, p95 "
          f"{per_review[int(0.95 * (len(per_review) - 1))] * 1000:.1f} ms")
    print(f"立项: cut-off {cutoff}, {listed} on the list, {created} Projects created, {not_approved} applications "
          "未立项")
    print(f"\n{'page (officer, median of ' + str(PAGE_REPEAT) + ')':<48}{'ms':>10}{'queries':>10}{'KiB':>8}")
    for label, (seconds, queries, size) in pages.items():
        print(f"{pad(label, 48)}{seconds * 1000:>10.1f}{queries:>10}{size / 1024:>8.0f}")
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB (whole process, setup included); load average at the end "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (1.0 = this benchmark alone on one)")


if __name__ == "__main__":
    main()
