"""The bureau's 揭榜挂帅 pages (projects.challenges.views.office): who may see and act, every action (done and
refused), 答辩 scores, 答疑, and the winners' projects (milestone conclusions, 赛马制 stops, final acceptance)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeAcceptance, ChallengeQuestion, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, challenge_program, publish
from projects.tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db

LIST = reverse("jiebang_office:list")
TZ = timezone.get_current_timezone()


def body(response) -> str:
    return response.content.decode()


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def detail(c) -> str:
    return reverse("jiebang_office:detail", args=[c.pk])


def action(c, name) -> str:
    return reverse("jiebang_office:action", args=[c.pk, name])


def state_of(c) -> str:
    return Challenge.objects.get(pk=c.pk).state


def future(days=30) -> str:
    return (timezone.localtime() + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def submitted(**kwargs) -> Challenge:
    c = ChallengeFactory(**kwargs)
    return jb.submit_challenge(actor=c.created_by, challenge_id=c.pk, accept_commitment=True)


def vetting(officer, **kwargs) -> Challenge:
    c = submitted(**kwargs)
    return jb.start_vetting(actor=officer, challenge_id=c.pk)


def with_bids(officer, n=2, *, max_winners=1, defence_weight=Decimal("0"), review=True, amount=None):
    """A published challenge with ``n`` submitted bids, closed (and put under review)."""
    c = publish(ChallengeFactory(), max_winners=max_winners, defence_weight=defence_weight)
    bids = []
    for _ in range(n):
        kw = {}
        if amount:
            half = amount / 2
            kw = {"amount": amount, "milestones": [
                ("样机设计与台架验证", "功率密度≥4.0kW/kg", datetime.date(2027, 6, 30), half),
                ("装车验证与定型", "功率密度≥4.5kW/kg，IP67", datetime.date(2028, 3, 31), half)]}
        draft = BidFactory(challenge=c, **kw)
        jb.submit_bid(actor=draft.created_by, bid_id=draft.pk, accept_commitment=True)
        bids.append(Bid.objects.get(pk=draft.pk))
    Challenge.objects.filter(pk=c.pk).update(bid_deadline=timezone.now() - datetime.timedelta(hours=1))
    jb.close_challenge(actor=officer, challenge_id=c.pk)
    if review:
        jb.start_review(actor=officer, challenge_id=c.pk)
    c.refresh_from_db()
    return c, bids


def awarded(officer, teams=2):
    """A 赛马制 challenge awarded to ``teams`` teams: the challenge, the poster and the projects."""
    c, bids = with_bids(officer, teams, max_winners=teams, amount=Decimal("1000000.00"))
    Bid.objects.filter(pk__in=[b.pk for b in bids]).update(review_score=Decimal("85.00"))
    projects = jb.award_challenge(actor=c.created_by, challenge_id=c.pk, bid_ids=[b.pk for b in bids])
    c.refresh_from_db()
    return c, c.created_by, projects


def report_and_judge(project, poster, position=1, verdict="pass"):
    m = project.milestones.get(position=position)
    jb.report_milestone(actor=project.bid.created_by, milestone_id=m.pk, report="台架测试完成。")
    jb.judge_milestone(actor=poster, milestone_id=m.pk, verdict=verdict, opinion="发榜方意见")
    return m


# ---- access ------------------------------------------------------------------------------------------------


def every_office_url(c, q, project, m):
    gets = [LIST, detail(c), reverse("jiebang_office:project", args=[project.pk])]
    posts = [action(c, name) for name in ("start_vetting", "return", "reject", "publish", "extend", "close",
                                          "start_review", "fail", "cancel", "republish")]
    posts += [reverse("jiebang_office:defence", args=[c.pk]),
              reverse("jiebang_office:question_answer", args=[q.pk]),
              reverse("jiebang_office:question_dismiss", args=[q.pk]),
              reverse("jiebang_office:milestone_conclude", args=[m.pk]),
              reverse("jiebang_office:project_stop", args=[project.pk]),
              reverse("jiebang_office:acceptance_conclude", args=[project.pk])]
    return gets, posts


@pytest.fixture
def world(officer, applicant):
    c, poster, projects = awarded(officer)
    project = projects[0]
    m = report_and_judge(project, poster)
    other = publish(ChallengeFactory())
    q = jb.ask_question(actor=applicant, challenge_id=other.pk, question="问题？")
    return c, q, project, m, poster


def test_nobody_outside_the_bureau_sees_or_acts(client, world, applicant, expert_user, finance_user):
    c, q, project, m, poster = world
    gets, posts = every_office_url(c, q, project, m)
    team = project.bid.created_by
    for user in (applicant, expert_user, poster, team, finance_user):
        client.force_login(user)
        for url in gets:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"reason": "x", "passed": "yes", "answer": "x"}).status_code == 404, (user, url)
    client.logout()
    for url in gets + posts:
        response = client.post(url) if url in posts else client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"], url
    assert ChallengeQuestion.objects.get(pk=q.pk).state == "open"
    assert ProjectMilestone.objects.get(pk=m.pk).state == "reported"


def test_supervisor_reads_but_cannot_act(client, world, supervisor):
    c, q, project, m, poster = world
    gets, posts = every_office_url(c, q, project, m)
    client.force_login(supervisor)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "data-action=" not in body(response) and 'data-testid="conclude-form"' not in body(response)
    for url in posts:
        assert client.post(url, {"reason": "x", "passed": "yes", "answer": "x"}).status_code == 404, url
    assert ProjectMilestone.objects.get(pk=m.pk).state == "reported"
    assert Project.objects.get(pk=project.pk).state == "established"


def test_unknown_action_is_404(client, officer):
    c = submitted()
    client.force_login(officer)
    assert client.post(action(c, "award"), {}).status_code == 404
    assert client.get(action(c, "start_vetting")).status_code == 405


# ---- the list ------------------------------------------------------------------------------------------------


def test_list_counts_filters_and_hides_unsubmitted_drafts(client, officer):
    a = submitted(title="待受理需求甲", field="energy")
    b = vetting(officer, title="论证中需求乙")
    published = publish(ChallengeFactory(title="已发榜需求丙"))
    ChallengeFactory(title="从未提交的草稿")
    client.force_login(officer)
    response = client.get(LIST)
    text = body(response)
    for c in (a, b, published):
        assert c.title in text
    assert "从未提交的草稿" not in text
    counts = {v: n for v, _label, n in response.context["state_counts"]}
    assert counts["submitted"] == 1 and counts["vetting"] == 1 and counts["published"] == 1
    assert response.context["total"] == 3

    text = body(client.get(LIST, {"state": "vetting"}))
    assert b.title in text and a.title not in text
    text = body(client.get(LIST, {"field": "energy"}))
    assert a.title in text and b.title not in text
    text = body(client.get(LIST, {"q": a.organization.name}))
    assert a.title in text and b.title not in text


def test_list_runs_a_fixed_number_of_queries(client, officer, django_assert_max_num_queries):
    submitted()
    client.force_login(officer)
    with django_assert_max_num_queries(8) as few:
        client.get(LIST)
    for _ in range(8):
        submitted()
        publish(ChallengeFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["challenges"]) == 17


# ---- vetting and publishing ----------------------------------------------------------------------------------


def test_start_vetting_then_round_link_and_history(client, officer):
    c = submitted()
    client.force_login(officer)
    text = body(client.get(detail(c)))
    assert 'data-action="start_vetting"' in text and 'data-action="publish"' not in text
    assert c.organization.credit_code in text and "第三方检测报告" in text
    response = client.post(action(c, "start_vetting"), {"start_vetting-opinion": "需求清楚。"})
    assert response.status_code == 302
    assert state_of(c) == "vetting"
    text = body(client.get(detail(c)))
    assert f"{reverse('experts:round_create')}?challenge={c.pk}&amp;kind=need" in text
    assert "开始论证" in text and "已提交 → 论证中" in text  # the history
    assert 'data-action="publish"' in text


@pytest.mark.parametrize("name,target", [("return", "draft"), ("reject", "rejected")])
def test_return_and_reject_need_a_reason(client, officer, name, target):
    c = vetting(officer)
    client.force_login(officer)
    response = client.post(action(c, name), {f"{name}-reason": ""})
    assert response.status_code == 400 and "请填写理由。" in body(response)
    assert state_of(c) == "vetting"
    response = client.post(action(c, name), {f"{name}-reason": "指标不可考核。"})
    assert response.status_code == 302
    assert state_of(c) == target
    assert Challenge.objects.get(pk=c.pk).last_reason == "指标不可考核。"


def publish_data(program, **over):
    data = {"publish-program": program.pk, "publish-bid_deadline": future(), "publish-max_winners": 2,
            "publish-defence_weight": "0.30", "publish-opinion": "需求真实。"}
    data.update(over)
    return data


def test_publish_and_publish_twice_is_refused(client, officer):
    program = challenge_program()
    c = vetting(officer)
    client.force_login(officer)
    response = client.post(action(c, "publish"), publish_data(program))
    assert response.status_code == 302, flash(response)
    c.refresh_from_db()
    assert c.state == "published" and c.program == program and c.max_winners == 2
    assert c.defence_weight == Decimal("0.30") and c.vetting_opinion == "需求真实。"
    deadline = c.bid_deadline

    response = client.post(action(c, "publish"), publish_data(program, **{"publish-bid_deadline": future(60)}))
    assert response.status_code == 409
    assert any("发榜" in m for m in flash(response))
    c.refresh_from_db()
    assert c.state == "published" and c.bid_deadline == deadline


def test_publish_refuses_bad_input_and_changes_nothing(client, officer):
    program = challenge_program()
    inactive = ProgramFactory(code="jbold", name="旧揭榜计划", kind="challenge", is_active=False)
    c = vetting(officer)
    client.force_login(officer)
    past = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(action(c, "publish"), publish_data(program, **{"publish-bid_deadline": past}))
    assert response.status_code == 400 and "揭榜截止时间必须晚于现在。" in body(response)
    response = client.post(action(c, "publish"), publish_data(inactive))
    assert response.status_code == 400 and "请选择一个启用的“揭榜挂帅”类计划。" in body(response)
    response = client.post(action(c, "publish"), publish_data(program, **{"publish-max_winners": 9}))
    assert response.status_code == 400
    c.refresh_from_db()
    assert c.state == "vetting" and c.program is None and c.bid_deadline is None


# ---- the 榜单's lifecycle ----------------------------------------------------------------------------------


def test_extend_then_close_before_the_deadline_is_refused(client, officer):
    c = publish(ChallengeFactory())
    client.force_login(officer)
    old = c.bid_deadline
    response = client.post(action(c, "extend"), {"extend-bid_deadline": future(60), "extend-reason": "延长"})
    assert response.status_code == 302, flash(response)
    c.refresh_from_db()
    assert c.bid_deadline > old

    response = client.post(action(c, "extend"), {"extend-bid_deadline": future(1)})
    assert response.status_code == 400 and "新的截止时间必须晚于原截止时间" in body(response)

    response = client.post(action(c, "close"), {})
    assert response.status_code == 409
    assert any("未到，不能截止" in m for m in flash(response))
    assert state_of(c) == "published"


def test_close_after_the_deadline_start_review_and_defence_scores(client, officer):
    c, bids = with_bids(officer, 2, defence_weight=Decimal("0.40"), review=False)
    Challenge.objects.filter(pk=c.pk).update(state="published", closed_at=None)
    client.force_login(officer)
    assert client.post(action(c, "close"), {}).status_code == 302
    assert state_of(c) == "closed"
    assert client.post(action(c, "start_review"), {}).status_code == 302
    assert state_of(c) == "reviewing"
    assert set(Bid.objects.filter(challenge=c).values_list("state", flat=True)) == {"reviewing"}

    Bid.objects.filter(pk=bids[0].pk).update(review_score=Decimal("80.00"))
    response = client.get(detail(c))
    text = body(response)
    assert "kind=bid" in text and 'data-testid="defence-form"' in text
    assert bids[0].organization.name in text and bids[0].leader_name in text
    response = client.post(reverse("jiebang_office:defence", args=[c.pk]),
                           {f"score_{bids[0].pk}": "90", f"score_{bids[1].pk}": ""})
    assert response.status_code == 302
    b0 = Bid.objects.get(pk=bids[0].pk)
    assert b0.defence_score == Decimal("90.00") and b0.total_score == Decimal("84.00")  # 80*0.6 + 90*0.4

    response = client.post(reverse("jiebang_office:defence", args=[c.pk]), {f"score_{bids[1].pk}": "120"})
    assert response.status_code == 400
    assert Bid.objects.get(pk=bids[1].pk).defence_score is None


def test_start_review_without_bids_is_refused(client, officer):
    c, _ = with_bids(officer, 0, review=False)
    client.force_login(officer)
    response = client.post(action(c, "start_review"), {})
    assert response.status_code == 400 and "没有已提交的揭榜方案" in body(response)
    assert state_of(c) == "closed"


def test_fail_then_republish(client, officer):
    c, bids = with_bids(officer, 1)
    client.force_login(officer)
    assert client.post(action(c, "fail"), {"fail-reason": ""}).status_code == 400
    assert state_of(c) == "reviewing"
    assert client.post(action(c, "fail"), {"fail-reason": "方案均未达到要求。"}).status_code == 302
    assert state_of(c) == "failed"
    assert Bid.objects.get(pk=bids[0].pk).state == "void"

    response = client.post(action(c, "republish"), {"republish-bid_deadline": future(20), "republish-max_winners": 1,
                                                    "republish-defence_weight": "0"})
    assert response.status_code == 302, flash(response)
    c.refresh_from_db()
    assert c.state == "published" and c.bid_round == 2
    # the earlier bid stays listed with its round
    text = body(client.get(detail(c)))
    assert bids[0].number in text and "第1轮" in text


def test_cancel(client, officer):
    c = publish(ChallengeFactory())
    draft = BidFactory(challenge=c)
    client.force_login(officer)
    assert client.post(action(c, "cancel"), {"cancel-reason": "企业需求变更。"}).status_code == 302
    assert state_of(c) == "cancelled"
    assert Bid.objects.get(pk=draft.pk).state == "void"
    # nothing to do any more
    assert "data-action=" not in body(client.get(detail(c)))
    response = client.post(action(c, "cancel"), {"cancel-reason": "再撤一次"})
    assert response.status_code == 409 and state_of(c) == "cancelled"


def test_detail_lists_bids_with_consortium_and_no_drafts(client, officer):
    c, bids = with_bids(officer, 1, review=False)
    bids[0].partners.create(name="浙江某大学", credit_code="91330106MA2B3C4D5E", kind="university", role="电机")
    Challenge.objects.filter(pk=c.pk).update(state="published", bid_deadline=timezone.now() + datetime.timedelta(1))
    draft = BidFactory(challenge=c, title="仍是草稿的方案")
    client.force_login(officer)
    text = body(client.get(detail(c)))
    assert "浙江某大学" in text and bids[0].number in text
    assert draft.organization.name not in text


def test_detail_runs_a_fixed_number_of_queries(client, officer, applicant, django_assert_max_num_queries):
    c, bids = with_bids(officer, 1, defence_weight=Decimal("0.5"))
    client.force_login(officer)
    with django_assert_max_num_queries(14) as few:
        client.get(detail(c))
    for _ in range(4):
        b = BidFactory(challenge=c)
        Bid.objects.filter(pk=b.pk).update(state="reviewing", number=f"JB-{b.pk}", submitted_at=timezone.now())
        b.partners.create(name=f"成员{b.pk}", credit_code="91330106MA2B3C4D5E", kind="university")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(detail(c))
    assert len(response.context["bids"]) == 5


# ---- 答疑 ------------------------------------------------------------------------------------------------------


def test_answer_and_dismiss_questions(client, officer, applicant, other_applicant):
    c = publish(ChallengeFactory())
    q1 = jb.ask_question(actor=applicant, challenge_id=c.pk, question="是否接受联合体？")
    q2 = jb.ask_question(actor=other_applicant, challenge_id=c.pk, question="无关广告")
    client.force_login(officer)
    text = body(client.get(detail(c)))
    assert applicant.organization.name in text and "是否接受联合体？" in text  # the bureau sees who asked

    answer = reverse("jiebang_office:question_answer", args=[q1.pk])
    assert "请填写答复。" in "".join(flash(client.post(answer, {"answer": ""})))
    assert ChallengeQuestion.objects.get(pk=q1.pk).state == "open"
    assert client.post(answer, {"answer": "接受，须牵头单位揭榜。"}).status_code == 302
    q1.refresh_from_db()
    assert q1.state == "answered" and q1.answer == "接受，须牵头单位揭榜。"

    dismiss = reverse("jiebang_office:question_dismiss", args=[q2.pk])
    assert client.post(dismiss, {"reason": "与榜单无关。"}).status_code == 302
    assert ChallengeQuestion.objects.get(pk=q2.pk).state == "dismissed"
    # dismissing again, or an answered question, is refused with a message
    response = client.post(reverse("jiebang_office:question_dismiss", args=[q1.pk]), {"reason": "x"})
    assert "只有待答复的问题可以不予公开。" in flash(response)
    assert ChallengeQuestion.objects.get(pk=q1.pk).state == "answered"
    response = client.post(reverse("jiebang_office:question_answer", args=[q2.pk]), {"answer": "x"})
    assert "该问题已不予公开，不能答复。" in flash(response)
    assert ChallengeQuestion.objects.get(pk=q2.pk).state == "dismissed"


# ---- the winners' projects ---------------------------------------------------------------------------------


def test_awarded_challenge_shows_projects_and_milestone_round_link(client, officer):
    c, poster, projects = awarded(officer)
    client.force_login(officer)
    text = body(client.get(detail(c)))
    assert "kind=milestone" in text
    for p in projects:
        assert p.number in text and reverse("jiebang_office:project", args=[p.pk]) in text
    assert "样机设计与台架验证" in text


def test_milestone_conclusion(client, officer):
    c, poster, (a, b) = awarded(officer)
    client.force_login(officer)
    page = reverse("jiebang_office:project", args=[a.pk])
    m1 = a.milestones.get(position=1)
    jb.report_milestone(actor=a.bid.created_by, milestone_id=m1.pk, report="台架测试 4.1 kW/kg。")
    text = body(client.get(page))
    assert "台架测试 4.1 kW/kg。" in text and 'data-testid="conclude-form"' not in text  # the poster first
    jb.judge_milestone(actor=poster, milestone_id=m1.pk, verdict="pass", opinion="达到阶段目标")
    text = body(client.get(page))
    assert "达到阶段目标" in text and 'data-testid="conclude-form"' in text

    url = reverse("jiebang_office:milestone_conclude", args=[m1.pk])
    response = client.post(url, {f"m{m1.pk}-passed": "no", f"m{m1.pk}-conclusion": ""})
    assert response.status_code == 400 and "不通过时必须填写结论意见。" in body(response)
    assert ProjectMilestone.objects.get(pk=m1.pk).state == "reported"
    assert client.post(url, {f"m{m1.pk}-passed": "yes", f"m{m1.pk}-conclusion": "通过"}).status_code == 302
    assert ProjectMilestone.objects.get(pk=m1.pk).state == "passed"
    # concluding twice is refused and changes nothing
    response = client.post(url, {f"m{m1.pk}-passed": "no", f"m{m1.pk}-conclusion": "改判"})
    assert response.status_code == 400 and flash(response)
    assert ProjectMilestone.objects.get(pk=m1.pk).state == "passed"


def test_race_stop_and_the_last_team_cannot_be_stopped(client, officer):
    c, poster, (a, b) = awarded(officer)
    client.force_login(officer)
    mb = report_and_judge(b, poster, verdict="fail")
    stop_b = reverse("jiebang_office:project_stop", args=[b.pk])
    # before any concluded milestone there is nothing to choose
    response = client.post(stop_b, {"milestone": mb.pk, "reason": "落后"})
    assert response.status_code == 400 and Project.objects.get(pk=b.pk).state == "established"
    jb.conclude_milestone(actor=officer, milestone_id=mb.pk, passed=False, conclusion="未达到第一阶段指标")
    assert 'data-testid="stop-form"' in body(client.get(reverse("jiebang_office:project", args=[b.pk])))
    assert client.post(stop_b, {"milestone": mb.pk, "reason": ""}).status_code == 400
    response = client.post(stop_b, {"milestone": mb.pk, "reason": "第一阶段考核未通过，淘汰。"})
    assert response.status_code == 302, flash(response)
    assert Project.objects.get(pk=b.pk).state == "terminated"
    assert b.milestones.get(position=2).state == "cancelled"

    ma = report_and_judge(a, poster)
    jb.conclude_milestone(actor=officer, milestone_id=ma.pk, passed=True, conclusion="通过")
    response = client.post(reverse("jiebang_office:project_stop", args=[a.pk]), {"milestone": ma.pk, "reason": "x"})
    assert response.status_code == 400 and "这是最后一个在研团队，不能淘汰。" in body(response)
    assert Project.objects.get(pk=a.pk).state == "established"


def test_final_acceptance(client, officer):
    c, poster, (a,) = awarded(officer, teams=1)
    for pos in (1, 2):
        m = report_and_judge(a, poster, position=pos)
        jb.conclude_milestone(actor=officer, milestone_id=m.pk, passed=True, conclusion="通过")
    targets = list(c.targets.all())
    jb.apply_acceptance(actor=a.bid.created_by, project_id=a.pk, report="全部完成。",
                        results={t.pk: {"achieved": f"达成{i}", "evidence": "检测报告"} for i, t in enumerate(targets)})
    client.force_login(officer)
    page = reverse("jiebang_office:project", args=[a.pk])
    text = body(client.get(page))
    assert "达成0" in text and "待评价" in text and 'data-testid="acceptance-form"' not in text
    url = reverse("jiebang_office:acceptance_conclude", args=[a.pk])
    response = client.post(url, {"acc-passed": "yes", "acc-conclusion": "通过"})
    assert response.status_code == 400 and flash(response)  # the poster has not judged yet
    assert ChallengeAcceptance.objects.get(project=a).state == "applied"

    jb.judge_acceptance(actor=poster, project_id=a.pk, met={targets[0].pk: True, targets[1].pk: False},
                        opinion="防护等级未达到")
    text = body(client.get(page))
    assert "未达到" in text and "防护等级未达到" in text and 'data-testid="acceptance-form"' in text
    response = client.post(url, {"acc-passed": "no", "acc-conclusion": "防护等级未达标，验收不通过。"})
    assert response.status_code == 302, flash(response)
    assert ChallengeAcceptance.objects.get(project=a).state == "failed"
    assert Project.objects.get(pk=a.pk).state == "failed"


def test_project_page_runs_a_fixed_number_of_queries(client, officer, django_assert_max_num_queries):
    c, poster, (a, b) = awarded(officer)
    client.force_login(officer)
    page = reverse("jiebang_office:project", args=[a.pk])
    m = report_and_judge(a, poster)
    with django_assert_max_num_queries(10) as few:
        client.get(page)
    jb.conclude_milestone(actor=officer, milestone_id=m.pk, passed=True, conclusion="通过")
    report_and_judge(a, poster, position=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(page).status_code == 200
