"""单位审核 and 形式审查 pages: who may see them, what they do, and what they refuse."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.models import Application, AttachmentKind, FormalReview
from projects.tests.factories import ApplicationFactory, AttachmentFactory, CallFactory, set_state

A = Application.State
ALL_ITEMS = [code for code, _label in FORMAL_REVIEW_CHECKLIST]
QUEUE_QUERY_BOUND = 8  # session, user, groups, unread badge, count, page, (org | calls), + one spare


def make_app(call, org, user, state, **kwargs):
    return set_state(ApplicationFactory(call=call, organization=org, created_by=user, **kwargs), state)


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def audit_verbs(app) -> list[str]:
    return list(AuditEvent.objects.filter(target_id=str(app.pk)).values_list("verb", flat=True))


@pytest.fixture
def submitted_app(open_call, org, applicant):
    return make_app(open_call, org, applicant, A.SUBMITTED)


@pytest.fixture
def endorsed_app(open_call, org, applicant):
    return make_app(open_call, org, applicant, A.ENDORSED, leader_id_number="330106198001011234")


# ---- access ------------------------------------------------------------------------------------


PAGES = [
    ("get", "portal:endorsement_queue", False),
    ("post", "portal:endorsement_decide", True),
    ("get", "portal:review_queue", False),
    ("post", "portal:review_batch", False),
    ("get", "portal:review_detail", True),
    ("post", "portal:review_detail", True),
]


@pytest.mark.parametrize(("method", "name", "with_pk"), PAGES)
def test_anonymous_is_sent_to_login(client, endorsed_app, method, name, with_pk):
    url = reverse(name, args=[endorsed_app.pk] if with_pk else [])
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["applicant", "officer", "expert_user", "finance_user"])
def test_endorsement_pages_404_for_non_org_admins(client, request, submitted_app, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("portal:endorsement_queue")).status_code == 404
    response = client.post(reverse("portal:endorsement_decide", args=[submitted_app.pk]), {"decision": "endorse"})
    assert response.status_code == 404
    submitted_app.refresh_from_db()
    assert submitted_app.state == A.SUBMITTED


def test_endorsement_of_another_org_is_404(client, other_applicant, submitted_app):
    client.force_login(other_applicant)  # org admin of the other organisation
    response = client.post(reverse("portal:endorsement_decide", args=[submitted_app.pk]), {"decision": "endorse"})
    assert response.status_code == 404
    submitted_app.refresh_from_db()
    assert submitted_app.state == A.SUBMITTED
    assert "endorse" not in audit_verbs(submitted_app)


@pytest.mark.parametrize("who", ["applicant", "org_admin", "other_applicant", "expert_user", "finance_user"])
def test_formal_review_pages_404_for_non_officers(client, request, endorsed_app, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("portal:review_queue")).status_code == 404
    assert client.get(reverse("portal:review_detail", args=[endorsed_app.pk])).status_code == 404
    data = {"decision": "accept", "checklist": ALL_ITEMS}
    assert client.post(reverse("portal:review_detail", args=[endorsed_app.pk]), data).status_code == 404
    batch = {**data, "applications": [endorsed_app.pk]}
    assert client.post(reverse("portal:review_batch"), batch).status_code == 404
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ENDORSED


def test_officer_cannot_open_a_draft(client, officer, draft_app):
    client.force_login(officer)
    assert client.get(reverse("portal:review_detail", args=[draft_app.pk])).status_code == 404


def test_superuser_may_review(client, endorsed_app):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("portal:review_queue")).status_code == 200
    assert client.get(reverse("portal:review_detail", args=[endorsed_app.pk])).status_code == 200


# ---- 单位审核 -----------------------------------------------------------------------------------


def test_endorsement_queue_lists_own_submitted_applications(client, org_admin, open_call, org, applicant,
                                                            other_org, other_applicant):
    mine = make_app(open_call, org, applicant, A.SUBMITTED, title="本单位待审核项目")
    make_app(open_call, org, applicant, A.ENDORSED, title="本单位已审核项目")
    ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="本单位草稿项目")
    make_app(open_call, other_org, other_applicant, A.SUBMITTED, title="外单位待审核项目")
    client.force_login(org_admin)
    response = client.get(reverse("portal:endorsement_queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "本单位待审核项目" in html
    assert mine.number in html
    assert mine.leader_name in html
    # 财政 350,000 元 and 自筹 400,000 元 in 万元
    assert "35.00" in html and "40.00" in html
    assert reverse("portal:application_detail", args=[mine.pk]) in html
    assert reverse("portal:endorsement_decide", args=[mine.pk]) in html
    assert "本单位已审核项目" not in html
    assert "本单位草稿项目" not in html
    assert "外单位待审核项目" not in html


def test_endorse_moves_to_formal_review_and_tells_the_applicant(client, org_admin, applicant, submitted_app):
    client.force_login(org_admin)
    response = client.post(
        reverse("portal:endorsement_decide", args=[submitted_app.pk]), {"decision": "endorse", "comment": "同意推荐"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:endorsement_queue")
    submitted_app.refresh_from_db()
    assert submitted_app.state == A.ENDORSED
    event = AuditEvent.objects.get(target_id=str(submitted_app.pk), verb="endorse")
    assert (event.actor, event.from_state, event.to_state, event.reason) == (org_admin, A.SUBMITTED, A.ENDORSED, "同意推荐")
    assert Notification.objects.filter(recipient=applicant, kind=MessageKind.APPLICATION_ENDORSED).count() == 1
    assert any("已通过单位审核" in m for m in flash(response))


def test_return_with_reason(client, org_admin, applicant, submitted_app):
    client.force_login(org_admin)
    client.post(
        reverse("portal:endorsement_decide", args=[submitted_app.pk]),
        {"decision": "return", "comment": "预算测算依据不充分"},
    )
    submitted_app.refresh_from_db()
    assert submitted_app.state == A.ORG_RETURNED
    assert submitted_app.last_reason == "预算测算依据不充分"
    assert "org_return" in audit_verbs(submitted_app)
    note = Notification.objects.get(recipient=applicant, kind=MessageKind.APPLICATION_ORG_RETURNED)
    assert "预算测算依据不充分" in note.body


def test_return_without_reason_is_refused(client, org_admin, submitted_app):
    client.force_login(org_admin)
    response = client.post(
        reverse("portal:endorsement_decide", args=[submitted_app.pk]), {"decision": "return", "comment": "  "},
        follow=True,
    )
    assert "必须填写退回理由" in response.content.decode()
    submitted_app.refresh_from_db()
    assert submitted_app.state == A.SUBMITTED
    assert "org_return" not in audit_verbs(submitted_app)
    assert not Notification.objects.filter(kind=MessageKind.APPLICATION_ORG_RETURNED).exists()


def test_endorse_of_an_application_no_longer_waiting_shows_the_refusal(client, org_admin, open_call, org, applicant):
    app = make_app(open_call, org, applicant, A.ENDORSED)
    client.force_login(org_admin)
    response = client.post(reverse("portal:endorsement_decide", args=[app.pk]), {"decision": "endorse"}, follow=True)
    assert response.status_code == 200
    assert "不能执行" in response.content.decode()
    app.refresh_from_db()
    assert app.state == A.ENDORSED


def test_endorsement_decide_is_post_only(client, org_admin, submitted_app):
    client.force_login(org_admin)
    assert client.get(reverse("portal:endorsement_decide", args=[submitted_app.pk])).status_code == 405


@pytest.mark.parametrize("n", [5, 50])
def test_endorsement_queue_query_count(client, django_assert_max_num_queries, org_admin, open_call, org, applicant, n):
    for _i in range(n):
        make_app(open_call, org, applicant, A.SUBMITTED)
    client.force_login(org_admin)
    with django_assert_max_num_queries(QUEUE_QUERY_BOUND):
        response = client.get(reverse("portal:endorsement_queue"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(n, 20)


# ---- 形式审查: one application ----------------------------------------------------------------------


def test_detail_shows_the_summary_for_the_officer(client, officer, endorsed_app):
    attachment = AttachmentFactory(application=endorsed_app, kind=AttachmentKind.FEASIBILITY)
    endorsed_app.call.required_attachment_kinds = [AttachmentKind.FEASIBILITY, AttachmentKind.BUSINESS_LICENSE]
    endorsed_app.call.save(update_fields=["required_attachment_kinds"])
    client.force_login(officer)
    response = client.get(reverse("portal:review_detail", args=[endorsed_app.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert endorsed_app.title in html and endorsed_app.number in html
    assert "330106198001011234" not in html
    assert "330***********1234" in html
    assert reverse("portal:attachment_download", args=[attachment.pk]) in html
    assert "350,000.00" in html and "400,000.00" in html and "750,000.00" in html  # 财政 / 自筹 / 合计
    # the automatic pre-check, as a hint
    assert "缺少必传附件：营业执照或法人证书" in html
    for _code, label in FORMAL_REVIEW_CHECKLIST:
        assert str(label) in html
    assert 'name="checklist"' in html and "checked" not in html.split('name="checklist"')[1].split(">")[0]


def test_accept_through_the_page(client, officer, applicant, org_admin, endorsed_app, django_capture_on_commit_callbacks):
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:review_detail", args=[endorsed_app.pk]), {"decision": "accept", "checklist": ALL_ITEMS}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:review_queue")
    assert any("受理" in m for m in flash(response))
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ACCEPTED
    event = AuditEvent.objects.get(target_id=str(endorsed_app.pk), verb="accept")
    assert (event.actor, event.to_state) == (officer, A.ACCEPTED)
    assert event.data["checklist"] == dict.fromkeys(ALL_ITEMS, True)
    review = FormalReview.objects.get(application=endorsed_app)
    assert (review.decision, review.reviewer) == (FormalReview.Decision.ACCEPT, officer)
    recipients = set(Notification.objects.filter(kind=MessageKind.APPLICATION_ACCEPTED).values_list("recipient", flat=True))
    assert recipients == {applicant.pk, org_admin.pk}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([applicant.email, org_admin.email])


@pytest.mark.parametrize(
    ("decision", "state", "kind"),
    [
        ("return", A.RETURNED, MessageKind.APPLICATION_RETURNED),
        ("reject", A.REJECTED, MessageKind.APPLICATION_REJECTED),
    ],
)
def test_return_and_reject_through_the_page(client, officer, applicant, endorsed_app, decision, state, kind):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_detail", args=[endorsed_app.pk]),
        {"decision": decision, "reason": "缺少合作协议原件", "checklist": ALL_ITEMS[:2]},
    )
    assert response.status_code == 302
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == state
    assert endorsed_app.last_reason == "缺少合作协议原件"
    event = AuditEvent.objects.get(target_id=str(endorsed_app.pk), verb=decision)
    assert event.reason == "缺少合作协议原件"
    assert FormalReview.objects.get(application=endorsed_app).checklist == {c: c in ALL_ITEMS[:2] for c in ALL_ITEMS}
    note = Notification.objects.get(recipient=applicant, kind=kind)
    assert "缺少合作协议原件" in note.body
    assert note.link == reverse("portal:application_detail", args=[endorsed_app.pk])


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_return_or_reject_without_reason_is_refused(client, officer, endorsed_app, decision):
    client.force_login(officer)
    response = client.post(reverse("portal:review_detail", args=[endorsed_app.pk]), {"decision": decision, "reason": ""})
    assert response.status_code == 200
    assert "必须填写理由" in response.content.decode()
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ENDORSED
    assert not FormalReview.objects.exists()
    assert not Notification.objects.exists()


def test_accept_with_an_unchecked_item_is_refused(client, officer, endorsed_app):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_detail", args=[endorsed_app.pk]), {"decision": "accept", "checklist": ALL_ITEMS[1:]}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "以下审查要点未通过，不能受理" in html
    assert str(FORMAL_REVIEW_CHECKLIST[0][1]) in html.split("以下审查要点未通过")[1]
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ENDORSED
    assert not FormalReview.objects.exists()
    assert "accept" not in audit_verbs(endorsed_app)


def test_previous_reviews_and_history_are_shown(client, officer, endorsed_app):
    client.force_login(officer)
    client.post(reverse("portal:review_detail", args=[endorsed_app.pk]), {"decision": "return", "reason": "请补充查新报告"})
    response = client.get(reverse("portal:review_detail", args=[endorsed_app.pk]))
    html = response.content.decode()
    assert "请补充查新报告" in html
    assert "退回修改" in html
    assert officer.display_name in html
    assert "不在形式审查环节" in html  # no decision form once decided


# ---- 形式审查: queue and batch ----------------------------------------------------------------------


def test_queue_lists_endorsed_applications_and_filters_by_call(client, officer, open_call, org, applicant,
                                                               other_org, other_applicant):
    other_call = CallFactory(title="尖兵领雁研发攻关计划指南")
    a = make_app(open_call, org, applicant, A.ENDORSED, title="甲项目")
    b = make_app(other_call, other_org, other_applicant, A.ENDORSED, title="乙项目")
    make_app(open_call, org, applicant, A.SUBMITTED, title="丙项目未审核")
    client.force_login(officer)
    html = client.get(reverse("portal:review_queue")).content.decode()
    assert "甲项目" in html and "乙项目" in html and "丙项目未审核" not in html
    assert org.name in html and other_org.name in html
    assert 'data-select-all="applications"' in html
    assert reverse("portal:review_detail", args=[a.pk]) in html
    html = client.get(reverse("portal:review_queue"), {"call": other_call.pk}).content.decode()
    assert "乙项目" in html and "甲项目" not in html
    assert b.number in html


def test_batch_with_a_mix_reports_each_application(client, officer, open_call, org, applicant):
    ok = [make_app(open_call, org, applicant, A.ENDORSED) for _i in range(3)]
    done = make_app(open_call, org, applicant, A.ACCEPTED, title="早已受理的项目")
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"),
        {"applications": [a.pk for a in [*ok, done]], "decision": "accept", "checklist": ALL_ITEMS},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:review_queue")
    [message] = flash(response)
    assert message.startswith("3 项已受理；1 项失败：")
    assert "早已受理的项目" in message
    assert "已受理" in message.split("1 项失败：")[1]  # the refusal names the current state
    for a in ok:
        a.refresh_from_db()
        assert a.state == A.ACCEPTED
    assert FormalReview.objects.count() == 3
    done.refresh_from_db()
    assert done.state == A.ACCEPTED


def test_batch_return_needs_a_reason(client, officer, endorsed_app):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"), {"applications": [endorsed_app.pk], "decision": "return", "reason": ""}
    )
    assert any("必须填写理由" in m for m in flash(response))
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ENDORSED


def test_batch_accept_with_an_unchecked_item_fails_for_all(client, officer, open_call, org, applicant):
    apps = [make_app(open_call, org, applicant, A.ENDORSED) for _i in range(2)]
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"),
        {"applications": [a.pk for a in apps], "decision": "accept", "checklist": ALL_ITEMS[:-1]},
    )
    [message] = flash(response)
    assert message.startswith("0 项已受理；2 项失败：")
    assert message.count("以下审查要点未通过") == 1  # one refusal, said once for both
    assert set(Application.objects.filter(pk__in=[a.pk for a in apps]).values_list("state", flat=True)) == {A.ENDORSED}


def test_batch_reject_with_reason(client, officer, open_call, org, applicant):
    apps = [make_app(open_call, org, applicant, A.ENDORSED) for _i in range(2)]
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"),
        {"applications": [a.pk for a in apps], "decision": "reject", "reason": "不属于本指南支持方向"},
    )
    assert flash(response) == ["2 项已不予受理。"]
    assert set(Application.objects.filter(pk__in=[a.pk for a in apps]).values_list("state", flat=True)) == {A.REJECTED}
    assert Notification.objects.filter(kind=MessageKind.APPLICATION_REJECTED, recipient=applicant).count() == 2


def test_batch_without_selection(client, officer):
    client.force_login(officer)
    response = client.post(reverse("portal:review_batch"), {"decision": "accept", "checklist": ALL_ITEMS})
    assert any("请至少选择一项申报书" in m for m in flash(response))


def test_batch_ignores_a_draft_it_may_not_see(client, officer, draft_app):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"), {"applications": [draft_app.pk], "decision": "accept", "checklist": ALL_ITEMS}
    )
    [message] = flash(response)
    assert "申报书不存在" in message
    assert draft_app.title not in message
    draft_app.refresh_from_db()
    assert draft_app.state == A.DRAFT


@pytest.mark.parametrize("n", [5, 50])
def test_formal_review_queue_query_count(client, django_assert_max_num_queries, officer, org, applicant, n):
    calls = [CallFactory() for _i in range(3)]
    for i in range(n):
        make_app(calls[i % 3], org, applicant, A.ENDORSED)
    client.force_login(officer)
    with django_assert_max_num_queries(QUEUE_QUERY_BOUND):
        response = client.get(reverse("portal:review_queue"))
    assert len(response.context["page"].object_list) == min(n, 20)
    with django_assert_max_num_queries(QUEUE_QUERY_BOUND):
        response = client.get(reverse("portal:review_queue"), {"call": calls[0].pk, "page": 1})
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "1e30", "0", "-1", "12a", "１２"])
def test_batch_with_an_impossible_id_is_a_form_error(client, officer, endorsed_app, value):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"),
        {"applications": [endorsed_app.pk, value], "decision": "accept", "checklist": ALL_ITEMS},
    )
    assert response.status_code == 302
    assert flash(response) == [f"申报书编号“{value}”无效。"]
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ENDORSED  # nothing decided when the selection is bad


@pytest.mark.django_db
def test_batch_with_the_largest_possible_id_reports_it_missing(client, officer, endorsed_app):
    client.force_login(officer)
    response = client.post(
        reverse("portal:review_batch"),
        {"applications": [endorsed_app.pk, str(2**63 - 1)], "decision": "accept", "checklist": ALL_ITEMS},
    )
    [message] = flash(response)
    assert "1 项已受理" in message and f"编号 {2**63 - 1}：申报书不存在" in message
    endorsed_app.refresh_from_db()
    assert endorsed_app.state == A.ACCEPTED


@pytest.mark.django_db
def test_detail_judges_the_self_funding_ratio_like_the_submit_check(client, officer, endorsed_app):
    client.force_login(officer)
    html = client.get(reverse("portal:review_detail", args=[endorsed_app.pk])).content.decode()
    assert "自筹比例 53.33%（指南要求不低于 50.00%）" in html  # 400,000 of 750,000
