"""The 揭榜挂帅 REST API: the public 榜单, the poster's needs, the bidder's plans, the bureau's desk and the winners'
projects — scoped through the selectors, every write through the services, refusals with their reasons."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeQuestion, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, challenge_program, publish

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def url(name, pk=None, **kwargs):
    if pk is None:
        return reverse(f"api:{name}")
    return reverse(f"api:{name}", kwargs={"pk": pk, **kwargs})


def published(**kwargs):
    return publish(ChallengeFactory(**kwargs))


def awarded_project(now=None):
    """A published challenge with one submitted bid, closed, reviewed and awarded: the winner's project."""
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    bid = BidFactory(challenge=challenge)
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    officer = UserFactory(roles=["officer"], is_staff=True)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={bid.pk: (Decimal("88.00"), 3)})
    [project] = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    return project


# ---- the public 榜单 ---------------------------------------------------------------------------------------


def test_public_list_shows_published_challenges_and_never_drafts_or_needs_under_vetting(client):
    on_board = published(title="轮毂电机榜单")
    ChallengeFactory(title="草稿需求")
    vetting = ChallengeFactory(title="论证中的需求")
    Challenge.objects.filter(pk=vetting.pk).update(state="vetting", submitted_at=timezone.now())

    rows = results(client.get(url("challenge-list")))
    assert [r["title"] for r in rows] == ["轮毂电机榜单"]
    assert rows[0]["bounty"] == "3000000.00" and rows[0]["accepts_bids"] is True
    assert client.get(url("challenge-detail", vetting.pk)).status_code == 404
    assert client.get(url("challenge-detail", on_board.pk)).status_code == 200


def test_public_filters_field_state_and_q(client):
    motor = published(title="轮毂电机", field="manufacturing")
    drug = published(title="抗体药物", field="biomedicine", keywords="单抗")
    Challenge.objects.filter(pk=drug.pk).update(state="closed")

    def ids(**params):
        return {r["id"] for r in results(client.get(url("challenge-list"), params))}

    assert ids(field="biomedicine") == {drug.pk}
    assert ids(state="published") == {motor.pk}
    assert ids(q="单抗") == {drug.pk}
    # a draft state is not a public filter: bad input, not a way to list drafts
    assert client.get(url("challenge-list"), {"state": "draft"}).status_code == 400


def test_public_detail_has_targets_and_only_answered_questions_without_the_asker(client, other_applicant, officer):
    challenge = published()
    answered = jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="是否接受联合体？")
    jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="尚未答复的问题")
    jb.answer_question(actor=officer, question_id=answered.pk, answer="接受。")

    data = client.get(url("challenge-detail", challenge.pk)).json()
    assert [t["name"] for t in data["targets"]] == ["峰值功率密度", "防护等级"]
    assert [(q["question"], q["answer"]) for q in data["questions"]] == [("是否接受联合体？", "接受。")]
    assert set(data["questions"][0]) == {"id", "question", "answer", "answered_at"}
    assert "宁波另一家制造有限公司" not in str(data)


# ---- the bidder --------------------------------------------------------------------------------------------


def test_bidder_creates_fills_in_and_submits_a_bid(client, applicant):
    challenge = published()
    client.force_login(applicant)
    response = post(client, url("my-bid-list"), {"challenge": challenge.pk})
    assert response.status_code == 201, response.content
    bid_id = response.json()["id"]
    assert response.json()["state"] == "draft"

    response = patch(client, url("my-bid-detail", bid_id), {
        "title": "高功率密度轮毂电驱动方案", "plan": "油冷定子与SiC控制器。", "leader_name": "王负责",
        "leader_phone": "13900001111", "leader_id_number": "330106197501010012", "amount": "2400000.00"})
    assert response.status_code == 200, response.content
    assert response.json()["leader_id_number"] == "330106197501010012"  # the own organisation sees it whole

    response = post(client, url("my-bid-members", bid_id), {"members": [
        {"name": "李工", "id_number": "330106198001010011", "title": "高级工程师", "role": "电机设计"}]})
    assert response.status_code == 200 and response.json()["members"][0]["name"] == "李工"

    start = timezone.localdate(challenge.bid_deadline)
    milestones = [
        {"title": "台架验证", "targets": "功率密度≥4.0kW/kg", "due_date": str(start + datetime.timedelta(days=180)),
         "amount": "1200000.00"},
        {"title": "装车验证", "targets": "功率密度≥4.5kW/kg", "due_date": str(start + datetime.timedelta(days=540)),
         "amount": "1200000.00"},
    ]
    response = post(client, url("my-bid-milestones", bid_id), {"milestones": milestones})
    assert response.status_code == 200, response.content
    assert [m["amount"] for m in response.json()["milestones"]] == ["1200000.00", "1200000.00"]
    assert response.json()["problems"] == []

    # without the 军令状: refused with the reason, nothing changes
    response = post(client, url("my-bid-submit", bid_id), {})
    assert response.status_code == 400
    assert "请阅读并签署揭榜军令状。" in response.json()["errors"]
    assert Bid.objects.get(pk=bid_id).state == "draft"

    response = post(client, url("my-bid-submit", bid_id), {"accept_commitment": True})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "submitted" and data["number"].startswith(challenge.number)
    assert data["available_actions"] == ["withdraw"]

    # a submitted bid is not edited any more
    response = patch(client, url("my-bid-detail", bid_id), {"plan": "改了"})
    assert response.status_code == 409
    assert Bid.objects.get(pk=bid_id).plan == "油冷定子与SiC控制器。"


def test_bid_above_the_bounty_is_refused_with_400_and_the_reason(client, applicant):
    challenge = published()  # bounty 3,000,000
    bid = BidFactory(challenge=challenge, organization=applicant.organization, created_by=applicant,
                     amount=Decimal("3600000.00"))
    bid.milestones.update(amount=Decimal("1800000.00"))
    client.force_login(applicant)

    response = post(client, url("my-bid-submit", bid.pk), {"accept_commitment": True})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "submit_checks"
    assert "揭榜金额 3600000.00 元超过悬赏金额 3000000.00 元。" in body["errors"]
    assert Bid.objects.get(pk=bid.pk).state == "draft"


def test_bad_money_and_dates_are_400_never_500(client, applicant):
    challenge = published()
    bid = BidFactory(challenge=challenge, organization=applicant.organization, created_by=applicant)
    client.force_login(applicant)
    assert patch(client, url("my-bid-detail", bid.pk), {"amount": "1e400"}).status_code == 400
    assert patch(client, url("my-bid-detail", bid.pk), {"amount": "12.345"}).status_code == 400
    response = post(client, url("my-bid-milestones", bid.pk), {"milestones": [
        {"title": "x", "targets": "y", "due_date": "2026-13-45", "amount": "1"}]})
    assert response.status_code == 400
    response = post(client, url("my-bid-partners", bid.pk), {"partners": [{"name": "某大学", "credit_code": "123"}]})
    assert response.status_code == 400 and "统一社会信用代码无效" in response.json()["detail"]
    assert post(client, url("my-bid-list"), {"challenge": 10**30}).status_code == 400


def test_the_poster_cannot_bid_on_its_own_challenge(client):
    challenge = published()
    client.force_login(challenge.created_by)
    response = post(client, url("my-bid-list"), {"challenge": challenge.pk})
    assert response.status_code == 403
    assert response.json()["errors"] == ["发榜单位不能揭自己发布的榜。"]
    assert not Bid.objects.exists()


def test_a_draft_need_cannot_be_bid_on(client, applicant):
    draft = ChallengeFactory()
    client.force_login(applicant)
    assert post(client, url("my-bid-list"), {"challenge": draft.pk}).status_code == 400
    assert not Bid.objects.exists()


def test_second_bid_of_the_same_organisation_is_refused(client, applicant):
    challenge = published()
    client.force_login(applicant)
    assert post(client, url("my-bid-list"), {"challenge": challenge.pk}).status_code == 201
    response = post(client, url("my-bid-list"), {"challenge": challenge.pk})
    assert response.status_code == 400 and response.json()["code"] == "duplicate_bid"


def test_bidder_withdraws_a_draft(client, applicant):
    bid = BidFactory(challenge=published(), organization=applicant.organization, created_by=applicant)
    client.force_login(applicant)
    response = post(client, url("my-bid-withdraw", bid.pk), {"reason": "不做了"})
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"


# ---- the poster --------------------------------------------------------------------------------------------


def test_poster_creates_sets_targets_and_submits_a_need(client, applicant, officer):
    client.force_login(applicant)
    response = post(client, url("my-need-list"), {
        "title": "高精度减速器寿命提升", "field": "manufacturing", "problem": "寿命不足。", "expected_outcome": "寿命翻倍。",
        "enterprise_funding": "800000.00", "subsidy_requested": "400000.00", "contact_phone": "0571-88886666"})
    assert response.status_code == 201, response.content
    need = response.json()
    assert need["bounty"] == "1200000.00" and need["state"] == "draft"
    assert "请至少填写一项技术指标（目标值和验证方式）。" in need["problems"]

    # a target needs both its name and its value
    response = post(client, url("my-need-targets", need["id"]), {"targets": [{"name": "寿命", "target_value": ""}]})
    assert response.status_code == 400
    response = post(client, url("my-need-targets", need["id"]), {"targets": [
        {"name": "额定寿命", "target_value": "≥10000", "unit": "h", "verification": "第三方检测"}]})
    assert response.status_code == 200 and response.json()["problems"] == []

    response = post(client, url("my-need-submit", need["id"]), {})
    assert response.status_code == 400 and "请阅读并同意发榜承诺。" in response.json()["errors"]
    response = post(client, url("my-need-submit", need["id"]), {"accept_commitment": True})
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    assert response.json()["available_actions"] == ["withdraw"]

    response = patch(client, url("my-need-detail", need["id"]), {"title": "改名"})
    assert response.status_code == 409
    assert Challenge.objects.get(pk=need["id"]).title == "高精度减速器寿命提升"

    # the bureau now sees it
    client.force_login(officer)
    assert [r["id"] for r in results(client.get(url("office-challenge-list")))] == [need["id"]]


def test_poster_sees_the_bids_only_once_under_review_and_confirms_the_winner(client):
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    poster = challenge.created_by
    bid = BidFactory(challenge=challenge)
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    client.force_login(poster)
    assert results(client.get(url("my-need-bids", challenge.pk))) == []

    officer = UserFactory(roles=["officer"], is_staff=True)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    rows = results(client.get(url("my-need-bids", challenge.pk)))
    assert [r["id"] for r in rows] == [bid.pk]
    assert rows[0]["leader_id_number"] != bid.leader_id_number  # masked for the poster

    # no expert score yet: refused with the reason
    response = post(client, url("my-need-award", challenge.pk), {"bid_ids": [bid.pk]})
    assert response.status_code == 400 and "尚无专家评审结果" in response.json()["detail"]
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={bid.pk: (Decimal("88.00"), 3)})
    response = post(client, url("my-need-award", challenge.pk), {"bid_ids": [bid.pk], "opinion": "方案可行"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "awarded"
    assert Project.objects.get(bid=bid).organization_id == bid.organization_id


def test_poster_fails_a_challenge_under_review_only_with_a_reason(client):
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    bid = BidFactory(challenge=challenge)
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    client.force_login(challenge.created_by)
    # still on the board: the poster may not 流标
    assert post(client, url("my-need-fail", challenge.pk), {"reason": "x"}).status_code == 403
    officer = UserFactory(roles=["officer"], is_staff=True)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    assert post(client, url("my-need-fail", challenge.pk), {}).status_code == 400
    response = post(client, url("my-need-fail", challenge.pk), {"reason": "方案均未达到指标要求"})
    assert response.status_code == 200 and response.json()["state"] == "failed"
    assert Bid.objects.get(pk=bid.pk).state == "void"


# ---- the bureau --------------------------------------------------------------------------------------------


def test_officer_vets_publishes_and_answers_questions(client, officer, other_applicant):
    need = ChallengeFactory()
    jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)
    program = challenge_program()
    client.force_login(officer)

    response = post(client, url("office-challenge-start-vetting", need.pk), {"opinion": "受理"})
    assert response.status_code == 200 and response.json()["state"] == "vetting"
    assert "publish" in response.json()["available_actions"]
    deadline = (timezone.now() + datetime.timedelta(days=20)).isoformat()
    response = post(client, url("office-challenge-publish", need.pk), {"program": 999999, "bid_deadline": deadline})
    assert response.status_code == 400 and response.json()["errors"] == ["请选择一个启用的“揭榜挂帅”类计划。"]
    response = post(client, url("office-challenge-publish", need.pk),
                    {"program": program.pk, "bid_deadline": deadline, "max_winners": 2})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published" and response.json()["is_race"] is True

    # closing before the deadline is refused with the reason
    response = post(client, url("office-challenge-close", need.pk))
    assert response.status_code == 409 and "未到" in response.json()["detail"]

    q = jb.ask_question(actor=other_applicant, challenge_id=need.pk, question="样车由谁提供？")
    data = client.get(url("office-challenge-detail", need.pk)).json()
    assert data["questions"][0]["organization_name"] == "宁波另一家制造有限公司"
    response = post(client, url("office-challenge-answer-question", need.pk, question_id=q.pk),
                    {"answer": "由发榜方提供。"})
    assert response.status_code == 200 and response.json()["state"] == "answered"
    response = post(client, url("office-challenge-dismiss-question", need.pk, question_id=q.pk), {"reason": "x"})
    assert response.status_code == 409
    # a question of another challenge is not reached through this one
    other = published()
    q2 = jb.ask_question(actor=other_applicant, challenge_id=other.pk, question="?")
    assert post(client, url("office-challenge-answer-question", need.pk, question_id=q2.pk),
                {"answer": "a"}).status_code == 404
    assert ChallengeQuestion.objects.get(pk=q2.pk).state == "open"


def test_supervisor_reads_but_may_not_act(client):
    supervisor = UserFactory(roles=["supervisor"])
    need = ChallengeFactory()
    jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)
    client.force_login(supervisor)
    assert client.get(url("office-challenge-detail", need.pk)).status_code == 200
    response = post(client, url("office-challenge-start-vetting", need.pk))
    assert response.status_code == 403
    assert Challenge.objects.get(pk=need.pk).state == "submitted"


def test_officer_records_defence_scores_and_bad_keys_are_400(client, officer):
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1),
                        defence_weight=Decimal("0.40"))
    bid = BidFactory(challenge=challenge)
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    client.force_login(officer)
    response = post(client, url("office-challenge-start-review", challenge.pk))
    assert response.status_code == 200 and "defence_scores" in response.json()["available_actions"]
    assert post(client, url("office-challenge-defence-scores", challenge.pk),
                {"scores": {"abc": "80"}}).status_code == 400
    assert post(client, url("office-challenge-defence-scores", challenge.pk),
                {"scores": {str(bid.pk): "101"}}).status_code == 400
    response = post(client, url("office-challenge-defence-scores", challenge.pk), {"scores": {str(bid.pk): "86.5"}})
    assert response.status_code == 200
    assert Bid.objects.get(pk=bid.pk).defence_score == Decimal("86.50")
    bids = results(client.get(url("office-challenge-bids", challenge.pk)))
    assert [b["defence_score"] for b in bids] == ["86.50"]


# ---- the winners' projects ---------------------------------------------------------------------------------


def test_milestone_report_judge_conclude_and_acceptance_through_the_api(client, officer):
    project = awarded_project()
    team = project.bid.created_by
    poster = project.challenge.created_by
    m1, m2 = project.milestones.order_by("position")

    client.force_login(team)
    assert [r["id"] for r in results(client.get(url("challenge-project-list")))] == [project.pk]
    # in order: the second milestone waits for the first
    response = post(client, url("challenge-project-report-milestone", project.pk, milestone_id=m2.pk), {"report": "x"})
    assert response.status_code == 409
    response = post(client, url("challenge-project-report-milestone", project.pk, milestone_id=m1.pk),
                    {"report": "台架测试 4.1 kW/kg"})
    assert response.status_code == 200 and response.json()["milestones"][0]["state"] == "reported"
    # the team does not judge its own milestone
    assert post(client, url("challenge-project-judge-milestone", project.pk, milestone_id=m1.pk),
                {"verdict": "pass", "opinion": "好"}).status_code == 403

    client.force_login(officer)
    response = post(client, url("challenge-project-conclude-milestone", project.pk, milestone_id=m1.pk),
                    {"passed": True})
    assert response.status_code == 400 and response.json()["errors"] == ["发榜方尚未评价该里程碑。"]

    client.force_login(poster)
    assert [r["id"] for r in results(client.get(url("challenge-project-list")))] == [project.pk]
    response = post(client, url("challenge-project-judge-milestone", project.pk, milestone_id=m1.pk),
                    {"verdict": "pass", "opinion": "达到阶段指标"})
    assert response.status_code == 200 and response.json()["milestones"][0]["poster_verdict"] == "pass"

    client.force_login(officer)
    for m in (m1, m2):
        if m == m2:
            jb.report_milestone(actor=team, milestone_id=m2.pk, report="装车完成")
            jb.judge_milestone(actor=poster, milestone_id=m2.pk, verdict="pass", opinion="好")
        response = post(client, url("challenge-project-conclude-milestone", project.pk, milestone_id=m.pk),
                        {"passed": True, "conclusion": "通过"})
        assert response.status_code == 200, response.content
    # a single team cannot be stopped as in 赛马制
    response = post(client, url("challenge-project-stop", project.pk), {"milestone": m1.pk, "reason": "x"})
    assert response.status_code == 409

    targets = list(project.challenge.targets.all())
    client.force_login(team)
    response = post(client, url("challenge-project-acceptance", project.pk), {"report": "完成", "results": {
        str(targets[0].pk): {"achieved": "4.7"}}})
    assert response.status_code == 400 and "防护等级" in response.json()["detail"]
    response = post(client, url("challenge-project-acceptance", project.pk), {"report": "完成", "results": {
        str(t.pk): {"achieved": "达到", "evidence": "检测报告"} for t in targets}})
    assert response.status_code == 200 and response.json()["acceptance"]["state"] == "applied"

    client.force_login(poster)
    response = post(client, url("challenge-project-judge-acceptance", project.pk),
                    {"met": {str(t.pk): True for t in targets}, "opinion": "达到榜单要求"})
    assert response.status_code == 200 and response.json()["acceptance"]["targets_met"] == 2

    client.force_login(officer)
    response = post(client, url("challenge-project-conclude-acceptance", project.pk),
                    {"passed": True, "conclusion": "验收通过"})
    assert response.status_code == 200
    assert response.json()["state"] == "completed" and response.json()["acceptance"]["state"] == "passed"


def test_a_milestone_of_another_project_is_404(client):
    a, b = awarded_project(), awarded_project()
    client.force_login(a.bid.created_by)
    m = b.milestones.get(position=1)
    response = post(client, url("challenge-project-report-milestone", a.pk, milestone_id=m.pk), {"report": "x"})
    assert response.status_code == 404
    assert ProjectMilestone.objects.get(pk=m.pk).state == "pending"


# ---- scoping: another organisation, an expert --------------------------------------------------------------


@pytest.fixture
def world():
    """One of everything, none of it belonging to ``other_applicant``'s organisation."""
    project = awarded_project()
    need = ChallengeFactory()
    bid = BidFactory(challenge=published())
    question = jb.ask_question(actor=bid.created_by, challenge_id=bid.challenge_id, question="?")
    return {"need": need.pk, "bid": bid.pk, "project": project.pk, "challenge": project.challenge_id,
            "milestone": project.milestones.get(position=1).pk, "question": question.pk,
            "question_challenge": bid.challenge_id}


NEED_ENDPOINTS = [("get", "my-need-detail"), ("patch", "my-need-detail"), ("post", "my-need-targets"),
                  ("post", "my-need-submit"), ("post", "my-need-withdraw"), ("post", "my-need-award"),
                  ("post", "my-need-fail"), ("get", "my-need-bids")]
BID_ENDPOINTS = [("get", "my-bid-detail"), ("patch", "my-bid-detail"), ("post", "my-bid-partners"),
                 ("post", "my-bid-members"), ("post", "my-bid-milestones"), ("post", "my-bid-submit"),
                 ("post", "my-bid-withdraw")]
PROJECT_ENDPOINTS = [("get", "challenge-project-detail"), ("post", "challenge-project-stop"),
                     ("post", "challenge-project-acceptance"), ("post", "challenge-project-judge-acceptance"),
                     ("post", "challenge-project-conclude-acceptance")]
MILESTONE_ENDPOINTS = ["challenge-project-report-milestone", "challenge-project-judge-milestone",
                       "challenge-project-conclude-milestone"]
OFFICE_ENDPOINTS = [("get", "office-challenge-detail"), ("get", "office-challenge-bids")] + [
    ("post", f"office-challenge-{name}") for name in (
        "start-vetting", "return", "reject", "publish", "extend", "close", "start-review", "defence-scores", "fail",
        "cancel", "republish")]
QUESTION_ENDPOINTS = ["office-challenge-answer-question", "office-challenge-dismiss-question"]


def every_object_endpoint(world):
    for method, name in NEED_ENDPOINTS:
        yield method, url(name, world["need"])
    for method, name in BID_ENDPOINTS:
        yield method, url(name, world["bid"])
    for method, name in PROJECT_ENDPOINTS:
        yield method, url(name, world["project"])
    for name in MILESTONE_ENDPOINTS:
        yield "post", url(name, world["project"], milestone_id=world["milestone"])
    for method, name in OFFICE_ENDPOINTS:
        yield method, url(name, world["challenge"])
    for name in QUESTION_ENDPOINTS:
        yield "post", url(name, world["question_challenge"], question_id=world["question"])


def snapshot():
    return (list(Challenge.objects.order_by("pk").values_list("state", "title", "bid_deadline")),
            list(Bid.objects.order_by("pk").values_list("state", "title", "amount")),
            list(ProjectMilestone.objects.order_by("pk").values_list("state", "report")),
            list(Project.objects.order_by("pk").values_list("state", flat=True)),
            list(ChallengeQuestion.objects.order_by("pk").values_list("state", "answer")))


BODY = {"title": "x", "reason": "x", "report": "x", "opinion": "x", "verdict": "pass", "passed": True,
        "answer": "x", "targets": [], "partners": [], "members": [], "milestones": [], "bid_ids": [1],
        "accept_commitment": True, "milestone": 1, "results": {}, "met": {}, "scores": {},
        "program": 1, "bid_deadline": "2099-01-01T00:00:00+08:00"}


@pytest.mark.parametrize("who", ["other_applicant", "expert_user"])
def test_every_object_endpoint_is_404_for_another_organisation_or_an_expert(client, request, world, who):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    for method, target in every_object_endpoint(world):
        response = getattr(client, method)(target, BODY, content_type="application/json") if method != "get" \
            else client.get(target)
        assert response.status_code == 404, (method, target, response.status_code, response.content[:200])
    assert snapshot() == before


def test_an_expert_sees_nothing_and_creates_nothing(client, world, expert_user):
    client.force_login(expert_user)
    for name in ("my-need-list", "my-bid-list", "office-challenge-list", "challenge-project-list"):
        assert results(client.get(url(name))) == [], name
    assert post(client, url("my-need-list"), {"title": "x"}).status_code == 403
    challenge = Challenge.objects.filter(state="published").first()
    assert post(client, url("my-bid-list"), {"challenge": challenge.pk}).status_code == 403
    assert Challenge.objects.count() == 3 and Bid.objects.count() == 2


def test_anonymous_gets_only_the_public_board(client, world):
    assert client.get(url("challenge-list")).status_code == 200
    for name in ("my-need-list", "my-bid-list", "office-challenge-list", "challenge-project-list"):
        assert client.get(url(name)).status_code == 403


def test_org_users_see_only_their_own_needs_and_bids(client, world, other_applicant):
    mine = ChallengeFactory(organization=other_applicant.organization, created_by=other_applicant)
    client.force_login(other_applicant)
    assert [r["id"] for r in results(client.get(url("my-need-list")))] == [mine.pk]
    assert results(client.get(url("my-bid-list"))) == []
    assert results(client.get(url("office-challenge-list"))) == []
    assert results(client.get(url("challenge-project-list"))) == []


def test_huge_ids_are_404_not_500(client, applicant):
    client.force_login(applicant)
    assert client.get(url("my-bid-detail", 10**25)).status_code == 404
    assert client.get(url("challenge-detail", 10**25)).status_code == 404


# ---- lists run a fixed number of queries -------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 12])
def test_lists_run_a_fixed_number_of_queries(client, django_assert_max_num_queries, officer, rows):
    poster_org = OrganizationFactory()
    poster = UserFactory(organization=poster_org, roles=["applicant"])
    bidder_org = OrganizationFactory()
    bidder = UserFactory(organization=bidder_org, roles=["applicant"])
    for _ in range(rows):
        challenge = published(organization=poster_org, created_by=poster)
        BidFactory(challenge=challenge, organization=bidder_org, created_by=bidder)
    for _ in range(min(rows, 3)):
        awarded_project()

    client.force_login(poster)
    with django_assert_max_num_queries(6):
        assert len(results(client.get(url("challenge-list")))) == rows + min(rows, 3)
    with django_assert_max_num_queries(6):
        assert len(results(client.get(url("my-need-list")))) == rows
    client.force_login(bidder)
    with django_assert_max_num_queries(6):
        assert len(results(client.get(url("my-bid-list")))) == rows
    client.force_login(officer)
    with django_assert_max_num_queries(6):
        assert len(results(client.get(url("office-challenge-list")))) == rows + min(rows, 3)
    with django_assert_max_num_queries(6):
        assert len(results(client.get(url("challenge-project-list")))) == min(rows, 3)


def test_schema_lists_the_challenge_endpoints(client):
    paths = client.get(reverse("api:schema"), {"format": "json"}).json()["paths"]
    for path in ("/api/challenges/", "/api/my/needs/{id}/award/", "/api/my/bids/{id}/milestones/",
                 "/api/office/challenges/{id}/publish/",
                 "/api/challenge-projects/{id}/milestones/{milestone_id}/conclude/"):
        assert path in paths
