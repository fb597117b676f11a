"""答疑 through the REST API: a bidder asks on the 榜单 and reads its own organisation's questions; the poster answers
the questions of its own challenges; whoever asked is never shown to the poster or the public."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.challenges import services as jb
from projects.models import ChallengeQuestion
from projects.tests.challenge_factories import ChallengeFactory, publish

pytestmark = pytest.mark.django_db

QUESTION_FIELDS = {"id", "question", "state", "state_display", "answer", "asked_at", "answered_at"}


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def url(name, pk, **kwargs):
    return reverse(f"api:{name}", kwargs={"pk": pk, **kwargs})


def ask_url(challenge):
    return url("challenge-ask", challenge.pk)


def mine_url(challenge):
    return url("challenge-my-questions", challenge.pk)


def answer_url(need, question):
    return url("my-need-answer-question", need.pk, question_id=question.pk)


def rows(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# ---- asking ------------------------------------------------------------------------------------------------


def test_another_organisations_applicant_asks_while_the_challenge_is_open(client, other_applicant):
    challenge = publish(ChallengeFactory())
    client.force_login(other_applicant)
    response = post(client, ask_url(challenge), {"question": "  是否接受联合体揭榜？ "})
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == QUESTION_FIELDS
    assert data["question"] == "是否接受联合体揭榜？" and data["state"] == "open" and data["answer"] == ""
    assert data["asked_at"] and data["answered_at"] is None
    assert challenge.organization.name not in response.content.decode()
    q = ChallengeQuestion.objects.get(pk=data["id"])
    assert (q.challenge_id, q.organization_id, q.asked_by_id) == (
        challenge.pk, other_applicant.organization_id, other_applicant.pk)


@pytest.mark.parametrize("case, status, message", [
    ("poster", 403, "发榜单位不能对自己的榜单提问。"),
    ("after_deadline", 409, "榜单不在揭榜期内，不能提问。"),
    ("empty", 400, "请填写问题。"),
    ("expert", 403, "请以单位用户身份登录后提问。"),
])
def test_a_refused_question_comes_back_with_the_reason_and_nothing_is_stored(
        client, other_applicant, expert_user, case, status, message):
    deadline = timezone.now() - datetime.timedelta(minutes=1) if case == "after_deadline" else None
    challenge = publish(ChallengeFactory(), deadline=deadline)
    who = {"poster": challenge.created_by, "expert": expert_user}.get(case, other_applicant)
    client.force_login(who)
    response = post(client, ask_url(challenge), {"question": "   " if case == "empty" else "样车由谁提供？"})
    assert response.status_code == status, response.content
    assert response.json()["detail"] == message
    assert not ChallengeQuestion.objects.exists()


def test_a_question_longer_than_2000_characters_is_400(client, other_applicant):
    challenge = publish(ChallengeFactory())
    client.force_login(other_applicant)
    assert post(client, ask_url(challenge), {"question": "问" * 2001}).status_code == 400
    assert not ChallengeQuestion.objects.exists()


def test_a_need_not_on_the_board_is_404_for_asking_and_for_my_questions(client, other_applicant):
    draft = ChallengeFactory()
    client.force_login(other_applicant)
    assert post(client, ask_url(draft), {"question": "？"}).status_code == 404
    assert client.get(mine_url(draft)).status_code == 404
    assert post(client, url("challenge-ask", 10**25), {"question": "？"}).status_code == 404
    assert not ChallengeQuestion.objects.exists()


def test_anonymous_can_neither_ask_nor_list_questions(client):
    challenge = publish(ChallengeFactory())
    assert post(client, ask_url(challenge), {"question": "匿名提问"}).status_code == 403
    assert client.get(mine_url(challenge)).status_code == 403
    assert not ChallengeQuestion.objects.exists()
    assert client.get(url("challenge-detail", challenge.pk)).status_code == 200  # the board itself stays public


# ---- my questions ------------------------------------------------------------------------------------------


def test_my_questions_lists_only_the_own_organisations_questions_in_every_state(client, other_applicant, officer):
    challenge = publish(ChallengeFactory())
    colleague = UserFactory(organization=other_applicant.organization, roles=["applicant"])
    answered = jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="我单位问题一")
    dismissed = jb.ask_question(actor=colleague, challenge_id=challenge.pk, question="我单位问题二")
    still_open = jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="我单位问题三")
    third = UserFactory(organization=OrganizationFactory(name="第三家研究院"), roles=["applicant"])
    theirs = jb.ask_question(actor=third, challenge_id=challenge.pk, question="第三家的问题")
    jb.answer_question(actor=officer, question_id=answered.pk, answer="可以。")
    jb.dismiss_question(actor=officer, question_id=dismissed.pk, reason="与榜单无关")
    elsewhere = publish(ChallengeFactory())
    jb.ask_question(actor=other_applicant, challenge_id=elsewhere.pk, question="另一个榜单的问题")

    client.force_login(other_applicant)
    data = rows(client.get(mine_url(challenge)))
    assert [(r["id"], r["state"]) for r in data] == [
        (answered.pk, "answered"), (dismissed.pk, "dismissed"), (still_open.pk, "open")]
    assert all(set(r) == QUESTION_FIELDS for r in data)
    assert "第三家" not in str(data)

    client.force_login(third)
    assert [r["id"] for r in rows(client.get(mine_url(challenge)))] == [theirs.pk]
    # the poster (which sees every question on its need page) asked none here; the bureau is no organisation
    for user in (challenge.created_by, officer, UserFactory(roles=["expert"])):
        client.force_login(user)
        assert rows(client.get(mine_url(challenge))) == []


@pytest.mark.parametrize("count", [1, 8])
def test_my_questions_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries, other_applicant,
                                                      officer, count):
    challenge = publish(ChallengeFactory())
    for i in range(count):
        q = jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question=f"问题{i}")
        jb.answer_question(actor=officer, question_id=q.pk, answer="答复")
    client.force_login(other_applicant)
    # session, user, roles, the challenge and its targets, count, page
    with django_assert_max_num_queries(7):
        assert len(rows(client.get(mine_url(challenge)))) == count


# ---- the poster answers ------------------------------------------------------------------------------------


def test_the_poster_answers_its_own_challenges_question_and_the_board_shows_it_without_the_asker(
        client, other_applicant):
    need = publish(ChallengeFactory())
    q = jb.ask_question(actor=other_applicant, challenge_id=need.pk, question="样机数量有要求吗？")
    client.force_login(need.created_by)
    assert post(client, answer_url(need, q), {"answer": "  "}).status_code == 400
    response = post(client, answer_url(need, q), {"answer": "至少两台。"})
    assert response.status_code == 200, response.content
    assert set(response.json()) == QUESTION_FIELDS
    assert response.json()["state"] == "answered" and response.json()["answer"] == "至少两台。"
    assert ChallengeQuestion.objects.get(pk=q.pk).answered_by_id == need.created_by_id

    client.logout()
    response = client.get(url("challenge-detail", need.pk))
    assert [(r["question"], r["answer"]) for r in response.json()["questions"]] == [("样机数量有要求吗？", "至少两台。")]
    page = response.content.decode()
    assert other_applicant.organization.name not in page and other_applicant.display_name not in page


def test_the_poster_gets_404_for_a_question_of_another_challenge(client, other_applicant):
    need = publish(ChallengeFactory())
    own_other = publish(ChallengeFactory(organization=need.organization, created_by=need.created_by))
    foreign = publish(ChallengeFactory())
    on_own_other = jb.ask_question(actor=other_applicant, challenge_id=own_other.pk, question="另一个榜单")
    on_foreign = jb.ask_question(actor=other_applicant, challenge_id=foreign.pk, question="别人的榜单")
    client.force_login(need.created_by)
    for q in (on_own_other, on_foreign):
        assert post(client, answer_url(need, q), {"answer": "答复"}).status_code == 404
    assert post(client, url("my-need-answer-question", need.pk, question_id=10**25),
                {"answer": "答复"}).status_code == 404
    # and another organisation (or the asker itself) cannot reach the poster's need at all
    client.force_login(other_applicant)
    assert post(client, answer_url(foreign, on_foreign), {"answer": "答复"}).status_code == 404
    assert set(ChallengeQuestion.objects.values_list("state", flat=True)) == {"open"}


def test_a_dismissed_question_cannot_be_answered_and_says_why(client, other_applicant, officer):
    need = publish(ChallengeFactory())
    q = jb.ask_question(actor=other_applicant, challenge_id=need.pk, question="能否透露预算？")
    jb.dismiss_question(actor=officer, question_id=q.pk, reason="不宜公开")
    client.force_login(need.created_by)
    response = post(client, answer_url(need, q), {"answer": "不能。"})
    assert response.status_code == 409 and response.json()["detail"] == "该问题已不予公开，不能答复。"
    assert ChallengeQuestion.objects.get(pk=q.pk).answer == ""


def test_the_poster_api_never_reveals_who_asked(client, other_applicant, officer):
    need = publish(ChallengeFactory())
    asker_org = other_applicant.organization
    texts = {"open": "样机数量有要求吗？", "answered": "是否接受联合体？", "dismissed": "能否透露预算？"}
    questions = {state: jb.ask_question(actor=other_applicant, challenge_id=need.pk, question=text)
                 for state, text in texts.items()}
    jb.answer_question(actor=officer, question_id=questions["answered"].pk, answer="接受。")
    jb.dismiss_question(actor=officer, question_id=questions["dismissed"].pk, reason="不宜公开")
    client.force_login(need.created_by)

    detail = client.get(url("my-need-detail", need.pk))
    assert detail.status_code == 200
    shown = detail.json()["questions"]
    assert sorted(r["question"] for r in shown) == sorted(texts.values())  # every state, the text itself
    assert all(set(r) == QUESTION_FIELDS for r in shown)
    answered = post(client, answer_url(need, questions["open"]), {"answer": "两台。"})
    assert answered.status_code == 200
    listing = client.get(reverse("api:my-need-list"))
    for response in (detail, answered, listing):
        body = response.content.decode()
        assert asker_org.name not in body and other_applicant.display_name not in body
        assert other_applicant.username not in body and asker_org.credit_code not in body


def test_schema_documents_the_question_endpoints(client):
    paths = client.get(reverse("api:schema"), {"format": "json"}).json()["paths"]
    assert "post" in paths["/api/challenges/{id}/ask/"]
    assert "get" in paths["/api/challenges/{id}/my-questions/"]
    assert "post" in paths["/api/my/needs/{id}/questions/{question_id}/answer/"]
