"""The expert review admin: officers run the pool and set up rounds; the records of a review are read-only."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.models import AuditEvent
from experts.models import (
    Alternate,
    Assignment,
    Commitment,
    Criterion,
    Draw,
    Expert,
    FundingList,
    FundingListEntry,
    Objection,
    Panel,
    Review,
    ReviewItem,
    ReviewRound,
    Score,
    Unavailability,
)
from projects.models import Application, AvoidanceRequest, Project
from projects.tests.factories import ApplicationFactory, CallFactory, set_state

from .factories import ExpertFactory, RoundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True, real_name="刘局长")


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, real_name="系统管理员")


def admin_url(model, view, *args):
    return reverse(f"admin:experts_{model}_{view}", args=args)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def events(obj, verb=None):
    qs = AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk))
    return qs.filter(verb=verb) if verb else qs


def populate(call, n):
    """A round under review with ``n`` items, each reviewed by one expert, and its 立项 list under 公示 with
    ``n`` entries and ``n`` objections: the rows every changelist shows."""
    now = timezone.now()
    rnd = RoundFactory(call=call, state=ReviewRound.State.REVIEWING, started_at=now, name="2026年专项评审")
    ct = ContentType.objects.get_for_model(Application)
    panel = Panel.objects.create(round=rnd, name="520 学科组", discipline_prefix="520")
    draw = Draw.objects.create(round=rnd, method=Draw.Method.OPTIMAL, created_by=rnd.created_by,
                               summary={"invited": n})
    criteria = list(rnd.criteria.all())
    fl = FundingList.objects.create(
        round=rnd, title="2026年专项拟立项清单", built_by=rnd.created_by, built_at=now,
        state=FundingList.State.PUBLICIZING, publicity_start=timezone.localdate(),
        publicity_end=timezone.localdate() + datetime.timedelta(days=7),
    )
    for i, expert in enumerate(ExpertFactory.create_batch(n)):
        item = ReviewItem.objects.create(
            round=rnd, panel=panel, subject_type=ct, subject_id=100_000 + i, number=f"KJ2026{i:04d}",
            title=f"示例项目{i}", organization_name=f"示例单位{i}", discipline_code="520.20",
            requested_amount=Decimal("300000.00"),
        )
        a = Assignment.objects.create(
            round=rnd, item=item, expert=expert, draw=draw, state=Assignment.State.SUBMITTED, invited_at=now,
            respond_by=rnd.response_deadline, responded_at=now, submitted_at=now,
        )
        Commitment.objects.create(assignment=a, text="本人承诺……", version="2026.1", signed_at=now, ip="10.0.0.1")
        review = Review.objects.create(assignment=a, total=Decimal("80.0"), recommendation="fund", comment="同意")
        Score.objects.bulk_create(Score(review=review, criterion=c, score=c.max_score * Decimal("0.8"))
                                  for c in criteria)
        entry = FundingListEntry.objects.create(funding_list=fl, item=item, rank=i + 1, score=Decimal("80.00"),
                                                requested_amount=Decimal("300000.00"),
                                                granted_amount=Decimal("250000.00"))
        Objection.objects.create(funding_list=fl, entry=entry, submitter_name=f"异议人{i}",
                                 submitter_contact="0571-88888888", content="存在重复申报。")
    return rnd


#: model → how many rows ``populate(call, n)`` gives it
CHANGELISTS = {"expert": "n", "reviewround": 1, "reviewitem": "n", "draw": 1, "assignment": "n", "commitment": "n",
               "review": "n", "fundinglist": 1, "objection": "n"}


def result_count(html) -> str:
    return re.search(r'<p class="paginator">\s*(.*?)\s*</p>', html, re.S).group(1)


@pytest.mark.parametrize("model", CHANGELISTS)
@pytest.mark.parametrize("rows", [2, 12])
def test_changelists_load_for_an_officer_with_fixed_queries(
    client, officer, open_call, django_assert_max_num_queries, model, rows
):
    populate(open_call, rows)
    client.force_login(officer)
    with django_assert_max_num_queries(12):
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    expected = rows if CHANGELISTS[model] == "n" else CHANGELISTS[model]
    model_class = response.context["cl"].model
    assert result_count(response.content.decode()) == f"{expected} {model_class._meta.verbose_name_plural}"


@pytest.mark.parametrize("rows", [2, 12])
def test_change_pages_run_a_fixed_number_of_queries(client, officer, open_call, django_assert_max_num_queries, rows):
    rnd = populate(open_call, rows)
    fl = rnd.funding_list
    item = rnd.items.order_by("id").first()
    draw = rnd.draws.get()
    Alternate.objects.bulk_create(Alternate(item=item, expert=e, draw=draw, rank=i + 1)
                                  for i, e in enumerate(Expert.objects.exclude(assignments__item=item)))
    client.force_login(officer)
    pages = [
        admin_url("fundinglist", "change", fl.pk),
        admin_url("reviewitem", "change", item.pk),
        admin_url("reviewround", "change", rnd.pk),
        admin_url("review", "change", Review.objects.first().pk),
        admin_url("expert", "change", Expert.objects.first().pk),
        admin_url("draw", "change", draw.pk),
        admin_url("assignment", "change", Assignment.objects.first().pk),
        admin_url("objection", "change", Objection.objects.first().pk),
        admin_url("commitment", "change", Commitment.objects.first().pk),
    ]
    for url in pages:
        with django_assert_max_num_queries(15):
            assert client.get(url).status_code == 200, url


def test_records_are_read_only_pages(client, officer, open_call):
    rnd = populate(open_call, 1)
    client.force_login(officer)
    review = Review.objects.get()
    html = client.get(admin_url("review", "change", review.pk)).content.decode()
    assert "创新性" in html and "24.0" in html  # a score of the rubric (30 × 0.8)
    assert 'name="_save"' not in html
    assert client.post(admin_url("review", "change", review.pk), {"comment": "后台改"}).status_code == 403
    review.refresh_from_db()
    assert review.comment == "同意"
    html = client.get(admin_url("fundinglist", "change", rnd.funding_list.pk)).content.decode()
    assert "250,000.00" in html and "异议人0" in html and 'name="_save"' not in html
    for model in ("review", "assignment", "fundinglist", "objection", "commitment", "draw"):
        assert client.get(admin_url(model, "add")).status_code == 403, model


@pytest.mark.parametrize("model", ["review", "assignment", "fundinglist", "objection", "commitment", "draw"])
def test_records_cannot_be_deleted_even_by_a_superuser(client, superuser, open_call, model):
    populate(open_call, 1)
    obj = {"review": Review, "assignment": Assignment, "fundinglist": FundingList, "objection": Objection,
           "commitment": Commitment, "draw": Draw}[model].objects.get()
    client.force_login(superuser)
    url = admin_url(model, "delete", obj.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert "delete_selected" not in client.get(admin_url(model, "changelist")).content.decode()


def test_experts_and_rounds_cannot_be_deleted_either(client, superuser):
    expert = ExpertFactory()
    rnd = RoundFactory()
    client.force_login(superuser)
    assert client.post(admin_url("expert", "delete", expert.pk), {"post": "yes"}).status_code == 403
    assert client.post(admin_url("reviewround", "delete", rnd.pk), {"post": "yes"}).status_code == 403
    assert Expert.objects.filter(pk=expert.pk).exists() and ReviewRound.objects.filter(pk=rnd.pk).exists()


# ---- the pool: actions call the services ---------------------------------------------------------------


def run_action(client, action, objs, **data):
    return client.post(admin_url("expert", "changelist"),
                       {"action": action, "_selected_action": [o.pk for o in objs], **data})


def test_approve_action_calls_the_service_and_records_an_audit_event(client, officer):
    pending = ExpertFactory(name="吴教授", status=Expert.Status.PENDING, approved_at=None, user__roles=[])
    active = ExpertFactory(name="郑研究员")
    client.force_login(officer)
    response = run_action(client, "approve_selected", [pending, active])
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Expert.Status.ACTIVE and pending.approved_at is not None
    assert pending.user.groups.filter(name="expert").exists()
    event = events(pending, "approve").get()
    assert event.actor == officer and event.from_state == "pending" and event.to_state == "active"
    msgs = messages_of(response)
    assert any("吴教授" in m and "已审核入库" in m for m in msgs)
    assert any("郑研究员" in m and "不能执行“审核入库”" in m for m in msgs)
    assert not events(active, "approve").exists()


def test_suspend_asks_for_a_reason_then_suspends_and_reinstate_restores(client, officer):
    expert = ExpertFactory(name="吴教授")
    client.force_login(officer)
    page = run_action(client, "suspend_selected", [expert])
    assert page.status_code == 200
    assert "暂停专家" in page.content.decode() and "吴教授" in page.content.decode()
    expert.refresh_from_db()
    assert expert.status == Expert.Status.ACTIVE  # nothing yet

    missing = run_action(client, "suspend_selected", [expert], apply="1", reason="")
    assert "请填写理由，专家将收到此理由。" in missing.content.decode()

    run_action(client, "suspend_selected", [expert], apply="1", reason="连续两次逾期未评审")
    expert.refresh_from_db()
    assert expert.status == Expert.Status.SUSPENDED and expert.status_reason == "连续两次逾期未评审"
    assert events(expert, "suspend").get().reason == "连续两次逾期未评审"

    run_action(client, "reinstate_selected", [expert])
    expert.refresh_from_db()
    assert expert.status == Expert.Status.ACTIVE
    assert events(expert, "reinstate").exists()


def test_supervisor_has_no_pool_admin(client, supervisor):
    ExpertFactory()
    client.force_login(supervisor)
    assert client.get(admin_url("expert", "changelist")).status_code == 403
    assert client.get(admin_url("assignment", "changelist")).status_code == 403
    for model in ("reviewround", "fundinglist", "objection"):
        response = client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model
        assert "add_items_selected" not in response.content.decode()


def test_staff_without_a_bureau_role_sees_nothing(client, open_call):
    populate(open_call, 1)
    staff = UserFactory(is_staff=True, roles=["finance"])
    staff.user_permissions.add(*Group.objects.get(name="officer").permissions.all())
    client.force_login(staff)
    html = client.get(admin_url("review", "changelist")).content.decode()
    assert result_count(html) == "0 评审意见" and "KJ20260000" not in html
    assert client.get(admin_url("review", "change", Review.objects.get().pk)).status_code == 302


# ---- the expert's profile: saved through the service ---------------------------------------------------


def expert_form(expert, **changes):
    data = {
        "name": expert.name, "workplace": expert.workplace, "workplace_credit_code": expert.workplace_credit_code,
        "title": expert.title, "title_level": expert.title_level,
        "discipline_codes": ", ".join(expert.discipline_codes), "keywords": expert.keywords,
        "region": expert.region, "phone": expert.phone, "annual_cap": expert.annual_cap,
        "unavailabilities-TOTAL_FORMS": 0, "unavailabilities-INITIAL_FORMS": 0,
        "unavailabilities-MIN_NUM_FORMS": 0, "unavailabilities-MAX_NUM_FORMS": 1000,
        "relations-TOTAL_FORMS": 0, "relations-INITIAL_FORMS": 0,
        "relations-MIN_NUM_FORMS": 0, "relations-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_expert_change_page_masks_the_id_number_and_saves_through_the_service(client, officer):
    expert = ExpertFactory(name="吴教授", id_number="330106198001011234")
    client.force_login(officer)
    url = admin_url("expert", "change", expert.pk)
    html = client.get(url).content.decode()
    assert "330***********1234" in html and "198001011234" not in html
    assert 'value="520.20"' in html

    response = client.post(url, expert_form(expert, discipline_codes="520，520.20", annual_cap=20))
    assert response.status_code == 302, response.content.decode()[:2000]
    expert.refresh_from_db()
    assert expert.discipline_codes == ["520", "520.20"] and expert.annual_cap == 20
    assert events(expert, "update_profile").get().actor == officer
    assert expert.id_number == "330106198001011234"


def test_a_refused_profile_change_is_shown_on_the_form_and_nothing_is_saved(client, officer):
    expert = ExpertFactory(name="吴教授")
    client.force_login(officer)
    response = client.post(admin_url("expert", "change", expert.pk),
                           expert_form(expert, discipline_codes="计算机", title="研究员"))
    assert response.status_code == 200
    assert "学科代码“计算机”格式不正确" in response.content.decode()
    expert.refresh_from_db()
    assert expert.title == "教授" and not events(expert, "update_profile").exists()


def test_unavailable_dates_are_added_and_removed_through_the_service(client, officer):
    expert = ExpertFactory()
    client.force_login(officer)
    url = admin_url("expert", "change", expert.pk)
    response = client.post(url, expert_form(
        expert, **{"unavailabilities-TOTAL_FORMS": 1, "unavailabilities-0-start_date": "2026-12-01",
                   "unavailabilities-0-end_date": "2026-12-10", "unavailabilities-0-reason": "出国访问"}))
    assert response.status_code == 302
    away = Unavailability.objects.get(expert=expert)
    assert away.reason == "出国访问"
    assert events(expert, "add_unavailability").exists()

    response = client.post(url, expert_form(
        expert, **{"unavailabilities-TOTAL_FORMS": 1, "unavailabilities-INITIAL_FORMS": 1,
                   "unavailabilities-0-id": away.pk, "unavailabilities-0-expert": expert.pk,
                   "unavailabilities-0-DELETE": "on"}))
    assert response.status_code == 302
    assert not Unavailability.objects.filter(expert=expert).exists()
    assert events(expert, "remove_unavailability").exists()


# ---- rounds: the rubric through the service, fixed once the review has started ------------------------


def round_form(rnd, criteria=None, **changes):
    local = timezone.localtime
    data = {
        "name": rnd.name, "experts_per_item": rnd.experts_per_item,
        "response_deadline_0": local(rnd.response_deadline).strftime("%Y-%m-%d"),
        "response_deadline_1": local(rnd.response_deadline).strftime("%H:%M:%S"),
        "review_deadline_0": local(rnd.review_deadline).strftime("%Y-%m-%d"),
        "review_deadline_1": local(rnd.review_deadline).strftime("%H:%M:%S"),
        "blind": "on" if rnd.blind else "", "aggregation": rnd.aggregation,
        "dispersion_threshold": rnd.dispersion_threshold, "deviation_threshold": rnd.deviation_threshold,
        "comment_threshold": rnd.comment_threshold,
        "panels-TOTAL_FORMS": 0, "panels-INITIAL_FORMS": 0, "panels-MIN_NUM_FORMS": 0, "panels-MAX_NUM_FORMS": 1000,
    }
    existing = list(rnd.criteria.order_by("position", "id"))
    rows = criteria if criteria is not None else [(c.name, c.max_score) for c in existing]
    data.update({"criteria-TOTAL_FORMS": len(rows), "criteria-INITIAL_FORMS": len(existing),
                 "criteria-MIN_NUM_FORMS": 0, "criteria-MAX_NUM_FORMS": 1000})
    for i, (name, max_score) in enumerate(rows):
        data.update({f"criteria-{i}-position": i, f"criteria-{i}-name": name, f"criteria-{i}-description": "",
                     f"criteria-{i}-max_score": max_score, f"criteria-{i}-round": rnd.pk})
        if i < len(existing):
            data[f"criteria-{i}-id"] = existing[i].pk
    data.update(changes)
    return data


def test_a_draft_rounds_rubric_is_written_through_the_service(client, officer, open_call):
    rnd = RoundFactory(call=open_call)
    client.force_login(officer)
    url = admin_url("reviewround", "change", rnd.pk)
    assert 'name="criteria-0-name"' in client.get(url).content.decode()

    bad = round_form(rnd, [("创新性", 30), ("团队", 20), ("方案", 20), ("效益", 20), ("预算", 20)])
    response = client.post(url, bad)
    assert response.status_code == 200
    assert "评分指标满分合计须为100分，当前为110" in response.content.decode()
    assert sorted(rnd.criteria.values_list("max_score", flat=True)) == [10, 20, 20, 20, 30]

    good = round_form(rnd, [("创新性", 40), ("团队", 20), ("方案", 20), ("效益", 10), ("预算", 10)],
                      experts_per_item=5)
    response = client.post(url, good)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(rnd.criteria.order_by("position").values_list("name", "max_score")) == [
        ("创新性", 40), ("团队", 20), ("方案", 20), ("效益", 10), ("预算", 10)]
    rnd.refresh_from_db()
    assert rnd.experts_per_item == 5
    assert events(rnd, "set_criteria").exists() and events(rnd, "update").exists()


def test_once_reviewing_the_rubric_and_the_scoring_rules_are_read_only(client, officer, open_call):
    rnd = RoundFactory(call=open_call, state=ReviewRound.State.REVIEWING)
    client.force_login(officer)
    url = admin_url("reviewround", "change", rnd.pk)
    html = client.get(url).content.decode()
    assert 'name="criteria-0-name"' not in html and "创新性" in html
    assert 'name="experts_per_item"' not in html and 'name="review_deadline_0"' in html

    later = rnd.review_deadline + datetime.timedelta(days=3)
    data = round_form(rnd, experts_per_item=9,
                      review_deadline_0=timezone.localtime(later).strftime("%Y-%m-%d"))
    data.update({"criteria-TOTAL_FORMS": 0, "criteria-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rnd.refresh_from_db()
    assert rnd.experts_per_item == 3  # fixed: not even in the form
    assert timezone.localdate(rnd.review_deadline) == timezone.localdate(later)
    assert Criterion.objects.filter(round=rnd).count() == 5


def test_officer_creates_a_round_with_the_default_rubric(client, officer, open_call):
    client.force_login(officer)
    now = timezone.localtime()
    data = {
        "call": open_call.pk, "name": "新一轮评审", "experts_per_item": 5,
        "response_deadline_0": (now + datetime.timedelta(days=3)).strftime("%Y-%m-%d"),
        "response_deadline_1": "17:00:00",
        "review_deadline_0": (now + datetime.timedelta(days=14)).strftime("%Y-%m-%d"),
        "review_deadline_1": "17:00:00",
        "blind": "on", "aggregation": "trimmed_mean", "dispersion_threshold": "10", "deviation_threshold": "20",
        "comment_threshold": "60",
        "criteria-TOTAL_FORMS": 0, "criteria-INITIAL_FORMS": 0, "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
        "panels-TOTAL_FORMS": 0, "panels-INITIAL_FORMS": 0, "panels-MIN_NUM_FORMS": 0, "panels-MAX_NUM_FORMS": 1000,
    }
    response = client.post(admin_url("reviewround", "add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rnd = ReviewRound.objects.get(name="新一轮评审")
    assert rnd.created_by == officer and rnd.call == open_call
    assert sum(rnd.criteria.values_list("max_score", flat=True)) == 100
    assert events(rnd, "create").exists()

    del data["call"]
    response = client.post(admin_url("reviewround", "add"), {**data, "name": "没有指南的轮次"})
    assert response.status_code == 200
    assert not ReviewRound.objects.filter(name="没有指南的轮次").exists()


def test_round_actions_add_items_and_start(client, officer, open_call):
    for _i in range(2):
        set_state(ApplicationFactory(call=open_call), Application.State.ACCEPTED)
    rnd = RoundFactory(call=open_call)
    client.force_login(officer)
    changelist = admin_url("reviewround", "changelist")
    response = client.post(changelist, {"action": "add_items_selected", "_selected_action": [rnd.pk]})
    assert any("加入2个评审对象" in m for m in messages_of(response))
    response = client.post(changelist, {"action": "start_selected", "_selected_action": [rnd.pk]})
    rnd.refresh_from_db()
    assert rnd.state == ReviewRound.State.REVIEWING
    assert events(rnd, "start").get().actor == officer


def test_draw_page_replays_a_random_draw(client, officer, open_call):
    from experts.services import assign, rounds

    set_state(ApplicationFactory(call=open_call), Application.State.ACCEPTED)
    ExpertFactory.create_batch(4)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7)
    client.force_login(officer)
    html = client.get(admin_url("draw", "change", outcome.draw.pk)).content.decode()
    assert "结果与本次抽取一致" in html


# ---- role permissions (migrations) ------------------------------------------------------------------------


def test_roles_get_the_admin_permissions_of_their_work(officer, supervisor):
    for perm in ("view_expert", "change_expert", "add_reviewround", "change_criterion", "view_assignment",
                 "view_review", "view_score", "view_fundinglist", "view_objection", "view_commitment"):
        assert officer.has_perm(f"experts.{perm}"), perm
    for perm in ("delete_review", "change_review", "change_assignment", "delete_fundinglist", "change_objection"):
        assert not officer.has_perm(f"experts.{perm}"), perm
    for perm in ("view_reviewround", "view_fundinglist", "view_fundinglistentry", "view_objection"):
        assert supervisor.has_perm(f"experts.{perm}"), perm
    assert not supervisor.has_perm("experts.view_expert")
    assert officer.has_perm("projects.view_project") and officer.has_perm("projects.view_avoidancerequest")
    assert supervisor.has_perm("projects.view_project")
    assert not supervisor.has_perm("projects.view_avoidancerequest")


# ---- projects: Project admin and 不适宜专家 on the application -----------------------------------------------


def make_project(call, org, number, title):
    app = set_state(ApplicationFactory(call=call, organization=org, title=title), Application.State.APPROVED)
    return Project.objects.create(
        application=app, call=call, organization=org, number=number, title=title,
        granted_amount=Decimal("200000.00"), requested_amount=Decimal("300000.00"), established_at=timezone.now(),
    )


@pytest.mark.parametrize("rows", [2, 12])
def test_project_changelist_for_an_officer(client, officer, django_assert_max_num_queries, rows):
    call = CallFactory(year=2026)
    orgs = OrganizationFactory.create_batch(2)
    for i in range(rows):
        make_project(call, orgs[i % 2], f"KJXM2026{i:04d}", f"立项项目{i}")
    client.force_login(officer)
    url = reverse("admin:projects_project_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "立项项目0" in html and "200,000.00" in html
    html = client.get(url, {"q": orgs[1].name}).content.decode()
    assert "立项项目1" in html and "立项项目0<" not in html
    assert client.get(url, {"call__year": 2025}).content.decode().count("KJXM2026") == 0
    assert client.get(reverse("admin:projects_project_add")).status_code == 403


def test_project_admin_is_read_only(client, officer, supervisor, superuser):
    project = make_project(CallFactory(), OrganizationFactory(), "KJXM20260001", "智能质检")
    url = reverse("admin:projects_project_change", args=[project.pk])
    for user in (officer, supervisor):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and 'name="_save"' not in response.content.decode()
    client.force_login(superuser)
    assert client.post(reverse("admin:projects_project_delete", args=[project.pk]), {"post": "yes"}).status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()


def test_application_page_lists_the_experts_to_avoid(client, officer, open_call):
    app = set_state(ApplicationFactory(call=open_call), Application.State.ACCEPTED)
    AvoidanceRequest.objects.create(application=app, name="钱教授", organization_name="某竞争企业研究院",
                                    reason="同领域直接竞争关系")
    client.force_login(officer)
    html = client.get(reverse("admin:projects_application_change", args=[app.pk])).content.decode()
    assert "不适宜评审专家" in html and "钱教授" in html and "同领域直接竞争关系" in html
