"""Demo data for expert review (issue 3): the expert pool and two review rounds, all through the services.

* The pool: 32 experts in the disciplines the demo applications use, registered and approved (专家库), the
  demo user ``expert`` (周明远) among them.
* 第一批 (the closed call): a finished review. A seeded random draw (随机抽取) of 5 experts per application,
  one expert declines and is replaced from the alternates, everyone accepts with the 承诺书 and scores, the
  round is closed, the 立项 list is built above a cut-off, signed off by the 局领导, published for 公示
  (starting three weeks ago, so it has ended) with one objection, dismissed. What is left for the demo: the
  officer approves the list, and the applications become Projects.
* 第二批 (the open call): a live round. Its accepted application is in it, the demo expert is invited by hand
  (人工指定) and has to accept and score; the officer accepts more applications at 形式审查, adds them to the
  round and runs a draw.
"""

from __future__ import annotations

import datetime
import zlib
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from stdnum.cn import ric

from accounts.models import User
from experts.models import Assignment, Expert, FundingList, ReviewRound
from experts.services import assign, funding, pool, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS

CONFIRM_ALL = [code for code, _label in COMMITMENT_ITEMS]
SEED = 20261122
EXPERT_BIRTHPLACES = ("330122", "330127", "330100")

# username, name, workplace, title, level, disciplines, keywords, birth (YYYYMMDD)
EXPERTS = [
    ("expert", "周明远", "浙江省计算技术研究所", "研究员", "senior", ["520.20", "520.40"], "人工智能，大数据，工业互联网", "19700312"),
    ("exp-wuxf", "吴晓峰", "之江理工大学", "教授", "senior", ["520.10", "520.20"], "操作系统，形式化验证", "19681105"),
    ("exp-zhengym", "郑一鸣", "浙江数字经济研究院", "正高级工程师", "senior", ["520.40"], "数据要素，隐私计算，区块链", "19750621"),
    ("exp-wanghy", "王海燕", "钱塘科技学院", "副教授", "vice_senior", ["520.20"], "大模型，自然语言处理", "19830909"),
    ("exp-chensy", "陈思远", "杭州电子信息职业技术学院", "教授", "senior", ["520.60", "520.40"], "网络安全，边缘计算", "19720228"),
    ("exp-liuwd", "刘卫东", "浙江省标准化研究院", "研究员", "senior", ["520.40"], "工业互联网，标识解析", "19690717"),
    ("exp-shenjn", "沈佳宁", "宁波信息技术研究院", "高级工程师", "vice_senior", ["520.20"], "机器视觉，缺陷检测", "19860403"),
    ("exp-huanglq", "黄立群", "嘉兴学院", "教授", "senior", ["520.10"], "嵌入式系统，实时操作系统", "19710815"),
    ("exp-jiangwb", "蒋文博", "温州大学", "副教授", "vice_senior", ["520.30", "520.40"], "软件工程，软件测试", "19850130"),
    ("exp-xun", "许宁", "浙江省医学科学院", "研究员", "senior", ["350.70"], "抗体药物，生物制药", "19730504"),
    ("exp-hejy", "何嘉怡", "浙江中医药大学", "教授", "senior", ["350.10", "350.70"], "药物制剂，纳米递送", "19760919"),
    ("exp-linzq", "林志强", "宁波大学医学院", "教授", "senior", ["350.70"], "疫苗，mRNA", "19741201"),
    ("exp-weil", "韦丽", "湖州师范学院", "副教授", "vice_senior", ["350.20", "350.70"], "药物分析，质量标准", "19840612"),
    ("exp-shaom", "邵明", "浙江省药品检验研究院", "主任药师", "senior", ["350.70", "350.50"], "质量控制，工艺验证", "19700826"),
    ("exp-max", "马骁", "杭州医学院", "教授", "senior", ["350.70"], "免疫学，疫苗", "19780310"),
    ("exp-gul", "顾磊", "浙江省光电研究所", "研究员", "senior", ["510.30"], "光电子，硅光", "19720707"),
    ("exp-fangj", "方静", "中国计量大学", "教授", "senior", ["510.30", "510.20"], "激光，精密测量", "19770422"),
    ("exp-caoj", "曹建", "杭州电子信息产业研究院", "高级工程师", "vice_senior", ["510.30"], "封装测试，可靠性", "19820119"),
    ("exp-yeq", "叶青", "浙江工业大学", "教授", "senior", ["430.35", "430.20"], "复合材料，碳纤维", "19690930"),
    ("exp-pant", "潘涛", "宁波材料技术研究所", "研究员", "senior", ["430.20"], "铝合金，压铸", "19740516"),
    ("exp-fanh", "范红", "绍兴文理学院", "副教授", "vice_senior", ["430.35"], "高分子材料，复合材料", "19860827"),
    ("exp-yanj", "严军", "浙江省机电设计研究院", "正高级工程师", "senior", ["460.15", "460.40"], "轴承，数控机床", "19680204"),
    ("exp-zhongw", "钟伟", "台州学院", "教授", "senior", ["460.40"], "机器人，力控", "19750308"),
    ("exp-luy", "卢阳", "浙江大学宁波研究院", "研究员", "senior", ["460.15"], "风电装备，可靠性", "19730611"),
    ("exp-wangc", "汪春", "浙江省农业科学院", "研究员", "senior", ["210.40", "210.20"], "茶叶，植物保护", "19710723"),
    ("exp-mengq", "孟秋", "浙江农林职业技术学院", "教授", "senior", ["220.40", "210.20"], "林业生态，水土保持", "19760115"),
    ("exp-taoy", "陶渊", "浙江省淡水水产研究所", "研究员", "senior", ["240.50"], "水产养殖，水质监测", "19690402"),
    ("exp-daim", "戴敏", "浙江省肿瘤医院", "主任医师", "senior", ["320.24"], "肺癌，医学影像", "19720901"),
    ("exp-duanf", "段飞", "浙江医院", "主任医师", "senior", ["320.24", "416.20"], "影像诊断，人工智能", "19741018"),
    ("exp-tanb", "谭波", "浙江省环境科学研究院", "研究员", "senior", ["610.30"], "废水处理，膜分离", "19700620"),
    ("exp-qius", "邱爽", "宁波工程学院", "教授", "senior", ["610.30"], "环境工程，资源化", "19790505"),
    ("exp-dingh", "丁浩", "浙江省产品质量安全检测研究院", "正高级工程师", "senior", ["520.40", "460.40"], "检验检测，智能制造", "19710404"),
]

# quality of each first-batch application (by title fragment): its experts score around this share of the maximum
QUALITY = {"工业互联网标识解析": Decimal("0.86"), "高可靠工业操作系统": Decimal("0.81"), "mRNA疫苗": Decimal("0.66")}
COMMENTS = {
    "fund": "技术路线清晰，研究基础扎实，考核指标可量化，预算基本合理，建议立项。",
    "revise": "创新点有一定价值，但实施方案和预算测算需进一步细化，建议修改后立项。",
    "reject": "研究内容与指南方向契合度不高，关键技术指标不明确，预期效益难以评估，不建议立项。",
}


def seed_reviews(cmd, *, password: str) -> None:
    """Called by seed_demo after the applications exist. Idempotent: each round is created once."""
    seeder = ReviewSeeder(cmd, password=password)
    seeder.pool()
    seeder.first_batch()
    seeder.second_batch()


class ReviewSeeder:
    def __init__(self, cmd, *, password):
        self.cmd = cmd
        self.password = password
        self.officer = User.objects.get(username="officer")
        self.leader = User.objects.get(username="leader")
        self.calls = cmd.calls

    @staticmethod
    def id_number(name: str, birth: str) -> str:
        """A 身份证号码 python-stdnum accepts: birthplace codes of 杭州 that existed before 1985 (桐庐县, 淳安县,
        杭州市), since most experts were born earlier than the districts the applicants' leaders use."""
        digest = zlib.crc32(name.encode())
        body = f"{EXPERT_BIRTHPLACES[digest % len(EXPERT_BIRTHPLACES)]}{birth}{100 + digest % 800:03d}"
        number = body + ric.calc_check_digit(body + "0")
        ric.validate(number)
        return number

    def pool(self) -> None:
        for i, (username, name, workplace, title, level, codes, keywords, birth) in enumerate(EXPERTS):
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, real_name=name, email=f"{username}@expert.example.com",
                            phone=f"1390571{9000 + i:04d}")
                user.set_password(self.password)
                user.save()
                self.cmd.created["users"] += 1
            if Expert.objects.filter(user=user).exists():
                continue
            expert = pool.register_expert(user=user, data={
                "name": name, "id_number": self.id_number(name, birth), "workplace": workplace, "title": title,
                "title_level": level, "discipline_codes": codes, "keywords": keywords, "region": "浙江省",
                "phone": user.phone or f"1390571{9000 + i:04d}", "annual_cap": 10,
            })
            pool.approve_expert(actor=self.officer, expert_id=expert.pk, reason="资格审核通过，准予入库。")
            self.cmd.created["experts"] += 1

    def _round(self, call_key: str, name: str, **data):
        call = self.calls[call_key]
        existing = ReviewRound.objects.filter(call=call, name=name).first()
        if existing is not None:
            return existing, False
        now = timezone.localtime()
        rnd = rounds.create_round(actor=self.officer, call_id=call.pk, data={
            "name": name,
            "response_deadline": (now + datetime.timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0),
            "review_deadline": (now + datetime.timedelta(days=14)).replace(hour=17, minute=0, second=0, microsecond=0),
            **data,
        })
        return rnd, True

    def first_batch(self) -> None:
        rnd, created = self._round("zdyf1", "第一批重点研发计划项目会评", experts_per_item=5, blind=True,
                                   aggregation=ReviewRound.Aggregation.TRIMMED_MEAN)
        if not created:
            return
        rounds.add_items(actor=self.officer, round_id=rnd.pk)
        rounds.start_round(actor=self.officer, round_id=rnd.pk)
        assign.run_draw(actor=self.officer, round_id=rnd.pk, method="random", seed=SEED)
        # one expert is away and declines; the first eligible alternate takes the place
        first = Assignment.objects.filter(round=rnd).select_related("expert__user").order_by("id").first()
        reviews.decline_invitation(actor=first.expert.user, assignment_id=first.pk,
                                   reason="评审期间在外地出差，无法按期完成评审。")
        assign.replace_assignment(assignment_id=first.pk)
        criteria = list(rnd.criteria.all())
        for a in (Assignment.objects.filter(round=rnd, state=Assignment.State.INVITED)
                  .select_related("expert__user", "item").order_by("id")):
            user = a.expert.user
            reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=CONFIRM_ALL, ip="10.12.3.45",
                                      user_agent="Mozilla/5.0 (demo)")
            quality = next((q for frag, q in QUALITY.items() if frag in a.item.title), Decimal("0.75"))
            # -0.10 .. +0.10, from what the pair is (never from row ids: those differ between databases and runs)
            noise = Decimal(zlib.crc32(f"{a.item.title}-{user.username}".encode()) % 21 - 10) / 100
            scores = {}
            for c in criteria:
                value = (c.max_score * (quality + noise)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                scores[str(c.pk)] = min(c.max_score, max(Decimal("0"), value))
            total = sum(scores.values(), Decimal(0))
            recommendation = "fund" if total >= 80 else "revise" if total >= 65 else "reject"
            reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores, comment=COMMENTS[recommendation],
                                  recommendation=recommendation)
        rounds.close_round(actor=self.officer, round_id=rnd.pk)
        fl = funding.build_funding_list(actor=self.officer, round_id=rnd.pk, cutoff_score="75", publicity_workdays=5)
        entries = list(fl.entries.order_by("rank"))
        if len(entries) > 1:  # the bureau grants the second project less than it asked for
            second = entries[1]
            funding.set_granted_amount(actor=self.officer, entry_id=second.pk,
                                       amount=(second.requested_amount * Decimal("0.8")).quantize(Decimal("1000")))
        funding.submit_for_signoff(actor=self.officer, list_id=fl.pk)
        funding.sign_off(actor=self.leader, list_id=fl.pk, comment="同意按清单立项，按程序公示。")
        start = timezone.localdate() - datetime.timedelta(days=21)
        fl = funding.publish_list(actor=self.officer, list_id=fl.pk, start=start)
        during = timezone.make_aware(datetime.datetime.combine(start + datetime.timedelta(days=1), datetime.time(10)))
        objection = funding.record_objection(
            list_id=fl.pk, entry_id=entries[0].pk, name="某科技公司", contact="0571-86000000",
            content="该项目与申报单位此前承担的市级项目研究内容存在重叠，请核查是否重复资助。", now=during)
        funding.resolve_objection(actor=self.officer, objection_id=objection.pk, upheld=False,
                                  resolution="经核查，两项目研究对象和考核指标不同，不属于重复资助，异议不成立。")
        assert FundingList.objects.get(pk=fl.pk).state == FundingList.State.PUBLICIZING

    def second_batch(self) -> None:
        rnd, created = self._round("zdyf2", "第二批重点研发计划项目网评", experts_per_item=5, blind=False,
                                   aggregation=ReviewRound.Aggregation.MEAN)
        if not created:
            return
        if rounds.add_items(actor=self.officer, round_id=rnd.pk) == 0:
            return
        rounds.start_round(actor=self.officer, round_id=rnd.pk)
        expert = Expert.objects.get(user__username="expert")
        for item in rnd.items.order_by("id"):
            if not assign.why_not(rnd, item, expert):
                assign.assign_manually(actor=self.officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)

