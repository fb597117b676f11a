"""The expert portal: invitations with the 承诺书, the material only after accepting, blind rounds, scoring."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.models import Notification
from experts.models import Assignment, Commitment, DeclaredRelation, Expert, Review, Score, Unavailability
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.models import AttachmentKind, Partner, TeamMember
from projects.tests.factories import AttachmentFactory, CallFactory

from .factories import ExpertFactory, RoundFactory, accepted_application

pytestmark = pytest.mark.django_db

ALL = [code for code, _label in COMMITMENT_ITEMS]
ORG_NAME = "杭州盲评测试智能科技有限公司"
TEAM_NAME = "欧阳组员"
PARTNER_NAME = "宁波合作材料研究院"
SUMMARY = "本项目研究高精度工业视觉缺陷检测方法。"
#: session, user, expert profile, roles, unread notifications (base.html), count, page
LIST_QUERIES = 7
#: session, user, expert profile, roles, unread notifications, the three counts, open tasks, pending invitations
DASHBOARD_QUERIES = 8


def make_application(call, org_name=ORG_NAME):
    app = accepted_application(call, organization=OrganizationFactory(name=org_name), summary=SUMMARY)
    TeamMember.objects.create(application=app, name=TEAM_NAME, organization_name=org_name, title="工程师")
    Partner.objects.create(application=app, name=PARTNER_NAME, credit_code="12330000470000000X")
    return app


def make_round(officer, call, *, blind=True):
    rnd = RoundFactory(call=call, blind=blind, created_by=officer)
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd


def invite(officer, rnd, expert, item=None):
    item = item or rnd.items.get()
    return assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)


def accept(assignment):
    return reviews.accept_invitation(actor=assignment.expert.user, assignment_id=assignment.pk, confirmed=ALL)


def scores_for(assignment, values):
    return {str(c.pk): v for c, v in zip(assignment.round.criteria.all(), values, strict=True)}


def score_post(assignment, values, **extra):
    data = {f"score_{c.pk}": v for c, v in zip(assignment.round.criteria.all(), values, strict=True)}
    data.update(extra)
    return data


@pytest.fixture
def app(open_call):
    return make_application(open_call)


@pytest.fixture
def expert(db):
    return ExpertFactory(name="王评审")


@pytest.fixture
def blind_round(officer, open_call, app):
    return make_round(officer, open_call, blind=True)


@pytest.fixture
def invited(officer, blind_round, expert):
    return invite(officer, blind_round, expert)


@pytest.fixture
def attachments(app):
    return {
        "feasibility": AttachmentFactory(application=app, kind=AttachmentKind.FEASIBILITY,
                                         original_name=f"{ORG_NAME}可行性报告.pdf"),
        "licence": AttachmentFactory(application=app, kind=AttachmentKind.BUSINESS_LICENSE,
                                     original_name="营业执照.pdf"),
    }


def urls(a, attachment=None):
    out = [reverse("experts:invitation", args=[a.pk]), reverse("experts:review", args=[a.pk])]
    if attachment is not None:
        out.append(reverse("experts:review_attachment", args=[a.pk, attachment.pk]))
    return out


# ---- who may see what ------------------------------------------------------------------------------------


def test_another_expert_gets_404_on_every_url_of_the_assignment(client, invited, attachments):
    accept(invited)
    other = ExpertFactory()
    client.force_login(other.user)
    for url in urls(invited, attachments["feasibility"]):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("experts:invitation", args=[invited.pk]),
                       {"action": "decline", "reason": "x"}).status_code == 404
    assert client.post(reverse("experts:review", args=[invited.pk]),
                       score_post(invited, [1, 1, 1, 1, 1], action="save")).status_code == 404
    assert not Review.objects.exists()
    # and the owner can open them all
    client.force_login(invited.expert.user)
    for url in urls(invited, attachments["feasibility"]):
        assert client.get(url).status_code == 200, url


def test_material_and_attachments_are_404_before_accepting_and_after_declining(client, invited, attachments):
    client.force_login(invited.expert.user)
    review_url, file_url = urls(invited, attachments["feasibility"])[1:]
    assert client.get(review_url).status_code == 404
    assert client.get(file_url).status_code == 404
    page = client.get(reverse("experts:invitation", args=[invited.pk])).content.decode()
    assert invited.item.title in page
    assert SUMMARY not in page and attachments["feasibility"].original_name not in page
    assert "预算" not in page

    reviews.decline_invitation(actor=invited.expert.user, assignment_id=invited.pk, reason="出差")
    assert client.get(review_url).status_code == 404
    assert client.get(file_url).status_code == 404
    page = client.get(reverse("experts:invitation", args=[invited.pk])).content.decode()
    assert "已谢绝" in page and "出差" in page and SUMMARY not in page


@pytest.mark.parametrize("role", ["applicant", "officer", "finance"])
def test_users_without_an_expert_profile_get_404_on_the_portal(client, invited, role, applicant, officer, finance_user):
    user = {"applicant": applicant, "officer": officer, "finance": finance_user}[role]
    client.force_login(user)
    for url in [reverse("experts:invitations"), reverse("experts:history"), reverse("experts:profile"),
                *urls(invited)]:
        assert client.get(url).status_code == 404, url
    # the dashboard only offers to register
    page = client.get(reverse("experts:dashboard")).content.decode()
    assert 'data-testid="register-link"' in page and 'data-testid="counts"' not in page


def test_an_expert_role_alone_is_not_a_portal(client, expert_user, invited):
    client.force_login(expert_user)
    for url in [reverse("experts:invitations"), reverse("experts:history"), *urls(invited)]:
        assert client.get(url).status_code == 404, url


def test_anonymous_users_are_sent_to_login(client, invited):
    response = client.get(reverse("experts:invitations"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


# ---- invitations ---------------------------------------------------------------------------------------


def test_accept_needs_every_commitment_statement(client, invited):
    client.force_login(invited.expert.user)
    url = reverse("experts:invitation", args=[invited.pk])
    page = client.get(url).content.decode()
    for _code, text in COMMITMENT_ITEMS:
        assert str(text) in page
    assert page.count('name="confirmed"') == 3

    response = client.post(url, {"action": "accept", "confirmed": ALL[:2]})
    assert response.status_code == 200
    assert "请逐项确认评审承诺" in response.content.decode()
    invited.refresh_from_db()
    assert invited.state == Assignment.State.INVITED and not Commitment.objects.exists()

    response = client.post(url, {"action": "accept", "confirmed": ALL}, HTTP_USER_AGENT="Mozilla/5.0 测试")
    assert response.status_code == 302 and response["Location"] == reverse("experts:review", args=[invited.pk])
    invited.refresh_from_db()
    assert invited.state == Assignment.State.ACCEPTED
    commitment = Commitment.objects.get(assignment=invited)
    assert commitment.ip == "127.0.0.1" and commitment.user_agent == "Mozilla/5.0 测试"
    assert str(COMMITMENT_ITEMS[0][1]) in commitment.text
    # answered: the page says so and links to the task; a second answer is refused
    page = client.get(url).content.decode()
    assert 'data-testid="task-link"' in page and 'name="confirmed"' not in page
    client.post(url, {"action": "decline", "reason": "改主意"})
    invited.refresh_from_db()
    assert invited.state == Assignment.State.ACCEPTED


def test_decline_needs_a_reason(client, invited):
    client.force_login(invited.expert.user)
    url = reverse("experts:invitation", args=[invited.pk])
    response = client.post(url, {"action": "decline", "reason": "  "})
    assert response.status_code == 200 and "谢绝邀请必须填写理由" in response.content.decode()
    invited.refresh_from_db()
    assert invited.state == Assignment.State.INVITED
    response = client.post(url, {"action": "decline", "reason": "与申报单位有合作关系"})
    assert response.status_code == 302
    invited.refresh_from_db()
    assert invited.state == Assignment.State.DECLINED and invited.decline_reason == "与申报单位有合作关系"


def test_accepting_after_the_response_deadline_is_refused(client, invited):
    with time_machine.travel(invited.respond_by + datetime.timedelta(hours=1)):
        client.force_login(invited.expert.user)
        response = client.post(reverse("experts:invitation", args=[invited.pk]),
                               {"action": "accept", "confirmed": ALL})
    assert response.status_code == 200 and "已超过答复截止时间" in response.content.decode()
    invited.refresh_from_db()
    assert invited.state == Assignment.State.INVITED


def test_invitations_list_filters_by_state_and_shows_the_response_deadline(client, officer, open_call, expert):
    make_application(open_call, "甲公司")
    make_application(open_call, "乙公司")
    rnd = make_round(officer, open_call)
    first, second = (invite(officer, rnd, expert, item) for item in rnd.items.order_by("id"))
    accept(first)
    client.force_login(expert.user)
    page = client.get(reverse("experts:invitations")).content.decode()
    assert first.item.title in page and second.item.title in page
    assert timezone.localtime(second.respond_by).strftime("%Y-%m-%d %H:%M") in page
    response = client.get(reverse("experts:invitations"), {"state": "invited"})
    assert list(response.context["page"].object_list) == [second]
    response = client.get(reverse("experts:invitations"), {"state": "nonsense"})
    assert response.status_code == 200 and len(response.context["page"].object_list) == 2


# ---- the material --------------------------------------------------------------------------------------


def test_after_accepting_the_material_is_shown(client, invited, attachments):
    accept(invited)
    client.force_login(invited.expert.user)
    page = client.get(reverse("experts:review", args=[invited.pk])).content.decode()
    assert SUMMARY in page
    assert "人工智能" in page  # keywords
    assert "200,000.00" in page  # budget
    assert reverse("experts:review_attachment", args=[invited.pk, attachments["feasibility"].pk]) in page


def test_blind_round_hides_the_applicant(client, invited, attachments, app):
    client.force_login(invited.expert.user)
    assert ORG_NAME not in client.get(reverse("experts:invitation", args=[invited.pk])).content.decode()
    accept(invited)
    page = client.get(reverse("experts:review", args=[invited.pk])).content.decode()
    assert SUMMARY in page
    for hidden in (ORG_NAME, TEAM_NAME, PARTNER_NAME, app.leader_name, "营业执照.pdf"):
        assert hidden not in page, hidden
    assert reverse("experts:review_attachment", args=[invited.pk, attachments["licence"].pk]) not in page
    # the feasibility report is offered, under a name that does not carry the uploaded file name
    assert reverse("experts:review_attachment", args=[invited.pk, attachments["feasibility"].pk]) in page


def test_open_round_shows_the_applicant(client, officer, open_call, app, expert, attachments):
    rnd = make_round(officer, open_call, blind=False)
    a = invite(officer, rnd, expert)
    client.force_login(expert.user)
    assert ORG_NAME in client.get(reverse("experts:invitation", args=[a.pk])).content.decode()
    accept(a)
    page = client.get(reverse("experts:review", args=[a.pk])).content.decode()
    for shown in (ORG_NAME, TEAM_NAME, PARTNER_NAME, app.leader_name, "营业执照.pdf"):
        assert shown in page, shown
    response = client.get(reverse("experts:review_attachment", args=[a.pk, attachments["licence"].pk]))
    assert response.status_code == 200
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in response["Content-Disposition"]


def test_blind_round_refuses_the_business_licence(client, invited, attachments):
    accept(invited)
    client.force_login(invited.expert.user)
    licence = reverse("experts:review_attachment", args=[invited.pk, attachments["licence"].pk])
    assert client.get(licence).status_code == 404
    response = client.get(reverse("experts:review_attachment", args=[invited.pk, attachments["feasibility"].pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    # the uploaded name (which names the applicant) is not what the expert downloads
    assert "%E6%9D%AD%E5%B7%9E" not in response["Content-Disposition"]  # 杭州


def test_removed_and_foreign_attachments_are_404(client, invited, attachments, open_call):
    accept(invited)
    removed = AttachmentFactory(application=invited.item.subject, kind=AttachmentKind.OTHER,
                                removed_at=timezone.now())
    foreign = AttachmentFactory(application=accepted_application(open_call), kind=AttachmentKind.FEASIBILITY)
    client.force_login(invited.expert.user)
    for att in (removed, foreign):
        assert client.get(reverse("experts:review_attachment", args=[invited.pk, att.pk])).status_code == 404


def test_other_experts_names_and_scores_are_never_shown(client, officer, invited, blind_round):
    colleague = ExpertFactory(name="隔壁专家")
    b = invite(officer, blind_round, colleague)
    accept(b)
    reviews.submit_review(actor=colleague.user, assignment_id=b.pk, scores=scores_for(b, [29, 19, 19, 19, 9]),
                          recommendation="fund")
    accept(invited)
    client.force_login(invited.expert.user)
    for url in (reverse("experts:review", args=[invited.pk]), reverse("experts:dashboard"),
                reverse("experts:invitations"), reverse("experts:history")):
        page = client.get(url).content.decode()
        assert "隔壁专家" not in page and "95.0" not in page, url


# ---- scoring -------------------------------------------------------------------------------------------


def test_score_above_the_maximum_is_shown_and_nothing_is_saved(client, invited):
    accept(invited)
    client.force_login(invited.expert.user)
    url = reverse("experts:review", args=[invited.pk])
    for action in ("save", "submit"):
        response = client.post(url, score_post(invited, ["31", "8", "8", "8", "4"], action=action,
                                               recommendation="reject", comment="意见草稿"))
        assert response.status_code == 200
        page = response.content.decode()
        assert "0到30" in page
        assert 'value="31"' in page and "意见草稿" in page  # posted values kept
    assert not Review.objects.exists() and not Score.objects.exists()
    invited.refresh_from_db()
    assert invited.state == Assignment.State.ACCEPTED


def test_incomplete_submit_shows_every_problem(client, invited):
    accept(invited)
    client.force_login(invited.expert.user)
    response = client.post(reverse("experts:review", args=[invited.pk]),
                           score_post(invited, ["10", "", "8", "8", "4"], action="submit"))
    page = response.content.decode()
    assert "尚未评分" in page and "请选择总体意见" in page and "必须填写评审意见" in page
    invited.refresh_from_db()
    assert invited.state == Assignment.State.ACCEPTED


def test_draft_then_submit_locks_the_review(client, invited):
    accept(invited)
    client.force_login(invited.expert.user)
    url = reverse("experts:review", args=[invited.pk])
    response = client.post(url, score_post(invited, ["25.5", "", "", "", ""], action="save"))
    assert response.status_code == 302
    review = Review.objects.get(assignment=invited)
    assert review.total == Decimal("25.5")
    assert 'value="25.5"' in client.get(url).content.decode()  # the draft comes back

    response = client.post(url, score_post(invited, ["25.5", "18", "17", "16", "8"], action="submit",
                                           recommendation="fund", comment="创新性较强。"))
    assert response.status_code == 302
    invited.refresh_from_db()
    assert invited.state == Assignment.State.SUBMITTED
    page = client.get(url).content.decode()
    assert 'data-testid="review-form"' not in page and 'data-testid="scores"' in page
    assert "84.5" in page and "同意立项" in page

    response = client.post(url, score_post(invited, ["1", "1", "1", "1", "1"], action="save"))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.total == Decimal("84.5")
    assert "不能修改评分" in client.get(url).content.decode()


# ---- dashboard, history, query counts ------------------------------------------------------------------


def test_dashboard_counts_and_overdue_tasks(client, officer, open_call, expert):
    for name in ("甲公司", "乙公司", "丙公司"):
        make_application(open_call, name)
    rnd = make_round(officer, open_call)
    a1, a2, a3 = (invite(officer, rnd, expert, item) for item in rnd.items.order_by("id"))
    accept(a1)
    accept(a2)
    reviews.submit_review(actor=expert.user, assignment_id=a2.pk, scores=scores_for(a2, [28, 18, 18, 18, 9]),
                          recommendation="fund")
    client.force_login(expert.user)
    response = client.get(reverse("experts:dashboard"))
    assert response.context["counts"] == {"invited": 1, "accepted": 1, "submitted": 1}
    page = response.content.decode()
    assert a1.item.title in page and a3.item.title in page and 'data-testid="overdue"' not in page
    with time_machine.travel(rnd.review_deadline + datetime.timedelta(days=1)):
        client.force_login(expert.user)
        page = client.get(reverse("experts:dashboard")).content.decode()
    assert 'data-testid="overdue"' in page


def _many_assignments(officer, expert, n, *, submit=False):
    call = CallFactory()
    for _i in range(n):
        accepted_application(call)
    rnd = make_round(officer, call)
    for item in rnd.items.order_by("id"):
        a = invite(officer, rnd, expert, item)
        if submit:
            accept(a)
            reviews.submit_review(actor=expert.user, assignment_id=a.pk, scores=scores_for(a, [20, 15, 15, 15, 8]),
                                  recommendation="revise")


@pytest.mark.parametrize("n", [2, 25])
def test_invitations_query_count(client, django_assert_max_num_queries, officer, n):
    expert = ExpertFactory(annual_cap=100)
    _many_assignments(officer, expert, n)
    client.force_login(expert.user)
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("experts:invitations"))
    assert len(response.context["page"].object_list) == min(n, 20)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("experts:dashboard"))
    assert response.context["counts"]["invited"] == n


@pytest.mark.parametrize("n", [2, 25])
def test_history_query_count(client, django_assert_max_num_queries, officer, n):
    expert = ExpertFactory(annual_cap=100)
    _many_assignments(officer, expert, n, submit=True)
    client.force_login(expert.user)
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("experts:history"))
    rows = response.context["page"].object_list
    assert len(rows) == min(n, 20)
    assert "73.0" in response.content.decode()


def test_review_page_query_count_does_not_grow_with_the_material(client, django_assert_max_num_queries, invited,
                                                                  app):
    accept(invited)
    client.force_login(invited.expert.user)
    url = reverse("experts:review", args=[invited.pk])
    client.get(url)
    with django_assert_max_num_queries(20) as small:
        client.get(url)
    for i in range(10):
        TeamMember.objects.create(application=app, name=f"成员{i}", organization_name="x")
        AttachmentFactory(application=app, kind=AttachmentKind.OTHER)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


# ---- registration and profile --------------------------------------------------------------------------


def test_registration_creates_a_pending_expert_and_notifies_officers(client, applicant, officer):
    client.force_login(applicant)
    assert 'data-testid="register-link"' in client.get(reverse("experts:dashboard")).content.decode()
    data = {"name": "孙教授", "id_number": "110101199003074513", "workplace": "浙江工业大学", "title": "教授",
            "title_level": "senior", "discipline_codes": "520.20，520.30", "keywords": "机器视觉", "region": "杭州市",
            "phone": "13800000000", "annual_cap": "99"}
    response = client.post(reverse("experts:register"), {**data, "discipline_codes": "abc"})
    assert response.status_code == 200 and "学科代码“abc”格式不正确" in response.content.decode()
    assert not Expert.objects.exists()

    response = client.post(reverse("experts:register"), data)
    assert response.status_code == 302 and response["Location"] == reverse("experts:profile")
    expert = Expert.objects.get(user=applicant)
    assert expert.status == Expert.Status.PENDING
    assert expert.discipline_codes == ["520.20", "520.30"] and expert.annual_cap == 10
    assert Notification.objects.filter(recipient=officer, kind="expert_registered").exists()
    page = client.get(reverse("experts:profile")).content.decode()
    assert "等待科技局业务处室审核" in page and "110101199003074513" not in page
    # registering twice leads to the profile
    assert client.get(reverse("experts:register"))["Location"] == reverse("experts:profile")


def test_profile_edit_keeps_the_id_number(client, expert):
    client.force_login(expert.user)
    data = {"name": "王评审", "workplace": "浙江大学", "title": "研究员", "title_level": "senior",
            "discipline_codes": "520, 510.10", "keywords": "数据挖掘", "region": "宁波市", "phone": "",
            "id_number": "110101199003074513", "annual_cap": "200"}
    response = client.post(reverse("experts:profile"), data)
    assert response.status_code == 302
    before = expert.id_number
    expert.refresh_from_db()
    assert expert.workplace == "浙江大学" and expert.discipline_codes == ["520", "510.10"]
    assert expert.id_number == before and expert.annual_cap == 10
    page = client.get(reverse("experts:profile")).content.decode()
    assert before not in page and expert.masked_id_number in page


def test_suspended_status_is_shown_with_its_reason(client, expert):
    Expert.objects.filter(pk=expert.pk).update(status=Expert.Status.SUSPENDED, status_reason="连续两次逾期未评审")
    client.force_login(expert.user)
    page = client.get(reverse("experts:profile")).content.decode()
    assert "暂停" in page and "连续两次逾期未评审" in page


def test_unavailable_dates_and_relations(client, expert):
    client.force_login(expert.user)
    response = client.post(reverse("experts:unavailability_add"),
                           {"start_date": "2026-05-10", "end_date": "2026-05-01", "reason": "出国"})
    assert response.status_code == 200 and "结束日期不能早于开始日期" in response.content.decode()
    assert not Unavailability.objects.exists()
    client.post(reverse("experts:unavailability_add"),
                {"start_date": "2026-05-01", "end_date": "2026-05-10", "reason": "出国"})
    u = Unavailability.objects.get(expert=expert)

    response = client.post(reverse("experts:relation_add"), {"kind": "organization", "relation": "曾任职"})
    assert response.status_code == 200 and "单位关系须填写单位名称或信用代码" in response.content.decode()
    client.post(reverse("experts:relation_add"),
                {"kind": "person", "person_name": "李四", "person_id_number": "110101199003074513", "relation": "师生"})
    rel = DeclaredRelation.objects.get(expert=expert)
    page = client.get(reverse("experts:profile")).content.decode()
    assert "2026-05-01" in page and "李四" in page and "110101199003074513" not in page

    # someone else's rows are 404 to another expert
    other = ExpertFactory()
    client.force_login(other.user)
    assert client.post(reverse("experts:unavailability_remove", args=[u.pk])).status_code == 404
    assert client.post(reverse("experts:relation_withdraw", args=[rel.pk])).status_code == 404

    client.force_login(expert.user)
    client.post(reverse("experts:unavailability_remove", args=[u.pk]))
    client.post(reverse("experts:relation_withdraw", args=[rel.pk]))
    assert not Unavailability.objects.exists() and not DeclaredRelation.objects.exists()


def test_officer_cannot_use_the_expert_profile_forms(client, officer, expert):
    client.force_login(officer)
    assert client.post(reverse("experts:unavailability_add"),
                       {"start_date": "2026-05-01", "end_date": "2026-05-10"}).status_code == 404
    assert not Unavailability.objects.exists()


def test_a_pending_expert_sees_status_but_no_tasks(client):
    user = UserFactory(roles=[])
    ExpertFactory(user=user, status=Expert.Status.PENDING, approved_at=None)
    client.force_login(user)
    page = client.get(reverse("experts:dashboard")).content.decode()
    assert "正在等待科技局业务处室审核入库" in page
    assert client.get(reverse("experts:invitations")).status_code == 200
