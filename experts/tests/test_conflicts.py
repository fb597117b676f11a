"""回避: every conflict rule, positive and negative, through ConflictChecker, through eligibility (the officer
sees the reason) and through manual assignment (refused with the reason)."""

import datetime

import pytest
from django.utils import timezone

from accounts.exceptions import InvalidInput
from accounts.tests.factories import OrganizationFactory, make_credit_code
from experts.conflicts import ConflictChecker
from experts.models import Assignment, ReviewItem
from experts.services import assign, pool, rounds
from experts.subjects import adapter_for
from projects.models import Application, AvoidanceRequest, Partner, Project, TeamMember
from projects.services import set_avoidance_requests
from projects.tests.factories import ApplicationFactory, set_state

from .factories import ExpertFactory

pytestmark = pytest.mark.django_db

PARTNER_CODE = make_credit_code(900001)
LEADER_ID = "110101198001010016"
MEMBER_ID = "33010219850505002X"


@pytest.fixture
def app(open_call, org, applicant):
    """An accepted application: leader with an ID number, one team member, one partner organisation."""
    a = ApplicationFactory(call=open_call, organization=org, created_by=applicant, leader_name="李负责",
                           leader_id_number=LEADER_ID)
    Partner.objects.create(application=a, name="杭州合作研究院（有限公司）", credit_code=PARTNER_CODE)
    TeamMember.objects.create(application=a, name="王成员", id_number=MEMBER_ID, organization_name=org.name)
    return set_state(a, Application.State.ACCEPTED)


@pytest.fixture
def live(officer, app):
    """A reviewing round with the application as its only item."""
    rnd = rounds.create_round(actor=officer, call_id=app.call_id, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd, ReviewItem.objects.get(round=rnd)


def reasons_for(expert, app):
    profile = adapter_for("application").profile(Application.objects.get(pk=app.pk))
    return ConflictChecker([expert]).reasons(expert.pk, profile)


def check_everywhere(officer, live, expert, fragment):
    """The same reason appears in ConflictChecker, in eligibility's excluded dict and in the manual refusal."""
    rnd, item = live
    app = Application.objects.get(pk=item.subject_id)
    assert any(fragment in r for r in reasons_for(expert, app)), reasons_for(expert, app)
    el = assign.eligibility(rnd, [item])
    assert expert.pk not in dict(el.candidates[item.pk])
    assert any(fragment in r for r in el.excluded[item.pk][expert.pk])
    with pytest.raises(InvalidInput, match=fragment) as exc:
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)
    assert expert.name in exc.value.message
    assert not Assignment.objects.filter(expert=expert).exists()


def check_nowhere(officer, live, expert):
    rnd, item = live
    app = Application.objects.get(pk=item.subject_id)
    assert reasons_for(expert, app) == []
    el = assign.eligibility(rnd, [item])
    assert expert.pk in dict(el.candidates[item.pk])
    assert expert.pk not in el.excluded[item.pk]
    a = assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)
    assert a.state == Assignment.State.INVITED and a.expert_id == expert.pk


# ---- same organisation ----------------------------------------------------------------------------------


def test_same_organization_by_registered_organisation(officer, live, org):
    expert = ExpertFactory(organization=org, workplace="某不同写法的单位名")
    check_everywhere(officer, live, expert, f"与申报单位或合作单位（{org.name}）为同一单位")


def test_same_organization_by_workplace_credit_code(officer, live, org):
    expert = ExpertFactory(workplace_credit_code=org.credit_code, workplace="别名单位")
    check_everywhere(officer, live, expert, "为同一单位")


def test_same_organization_partner_by_credit_code(officer, live):
    expert = ExpertFactory(workplace_credit_code=PARTNER_CODE, workplace="研究院（简称）")
    check_everywhere(officer, live, expert, "（杭州合作研究院（有限公司））为同一单位")


def test_same_organization_partner_by_name_ignores_spaces_and_bracket_width(officer, live):
    expert = ExpertFactory(workplace="杭州合作研究院 (有限公司)")
    check_everywhere(officer, live, expert, "工作单位与申报单位或合作单位同名")


def test_same_organization_applicant_by_name(officer, live, org):
    expert = ExpertFactory(workplace=org.name)
    check_everywhere(officer, live, expert, "同名")


def test_other_organisation_is_no_conflict(officer, live, other_org):
    expert = ExpertFactory(organization=other_org, workplace_credit_code=other_org.credit_code,
                           workplace=other_org.name)
    check_nowhere(officer, live, expert)


# ---- on the team ----------------------------------------------------------------------------------------


def test_on_team_as_member_by_id_number(officer, live):
    expert = ExpertFactory(name="另一个名字", id_number=MEMBER_ID)
    check_everywhere(officer, live, expert, "本人为该项目负责人或项目组成员")


def test_on_team_as_leader_by_leader_id_number(officer, live):
    expert = ExpertFactory(name="李负责", id_number=LEADER_ID)
    check_everywhere(officer, live, expert, "本人为该项目负责人或项目组成员")


def test_same_name_as_a_member_with_another_id_number_is_no_conflict(officer, live):
    expert = ExpertFactory(name="王成员", id_number="330102198505050038")
    check_nowhere(officer, live, expert)


# ---- declared relations ---------------------------------------------------------------------------------


def declare(expert, **data):
    return pool.declare_relation(actor=expert.user, expert_id=expert.pk, data=data)


def test_declared_relation_with_organisation_by_credit_code(officer, live):
    expert = ExpertFactory()
    declare(expert, kind="organization", credit_code=PARTNER_CODE, relation="兼职研究员")
    check_everywhere(officer, live, expert, "本人申报的利益关系：杭州合作研究院（有限公司）（兼职研究员）")


def test_declared_relation_with_organisation_by_name(officer, live, org):
    expert = ExpertFactory()
    declare(expert, kind="organization", organization_name=org.name, relation="技术顾问")
    check_everywhere(officer, live, expert, "本人申报的利益关系：单位（技术顾问）")


def test_declared_relation_with_person_by_id_number(officer, live):
    expert = ExpertFactory()
    declare(expert, kind="person", person_name="王成员", person_id_number=MEMBER_ID.lower(), relation="师生")
    check_everywhere(officer, live, expert, "本人申报的利益关系：项目组成员（师生）")


def test_declared_relation_with_person_by_name_when_no_id_given(officer, live):
    """The leader's ID number is on file, the expert only knows the name: the name decides."""
    expert = ExpertFactory()
    declare(expert, kind="person", person_name="李负责", relation="亲属")
    check_everywhere(officer, live, expert, "本人申报的利益关系：项目组成员（亲属）")


def test_declared_relation_with_person_by_name_on_a_member_without_id(officer, live):
    rnd, item = live
    TeamMember.objects.create(application_id=item.subject_id, name="赵无证", organization_name="某单位")
    expert = ExpertFactory()
    declare(expert, kind="person", person_name="赵 无证", relation="合作者")
    check_everywhere(officer, live, expert, "（合作者）")


def test_declared_relations_elsewhere_are_no_conflict(officer, live, other_org):
    expert = ExpertFactory()
    declare(expert, kind="organization", credit_code=other_org.credit_code, relation="兼职")
    declare(expert, kind="organization", organization_name="完全无关的公司", relation="顾问")
    declare(expert, kind="person", person_name="王成员", person_id_number="330102198505050038", relation="同名不同人")
    declare(expert, kind="person", person_name="陌生人", relation="同学")
    check_nowhere(officer, live, expert)


# ---- 不适宜专家 asked by the applicant ------------------------------------------------------------------------


@pytest.fixture
def avoiding_app(open_call, org, applicant):
    """A draft whose applicant names two experts to avoid, then accepted at 形式审查."""
    draft = ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    set_avoidance_requests(actor=applicant, application_id=draft.pk, requests=[
        {"name": "钱回避", "organization_name": "浙江某大学（玉泉校区）", "reason": "与申报单位存在竞争关系"},
        {"name": "孙回避", "organization_name": "某研究所", "reason": "曾公开质疑本团队成果"},
    ])
    return set_state(draft, Application.State.ACCEPTED)


@pytest.fixture
def avoiding_live(officer, avoiding_app):
    rnd = rounds.create_round(actor=officer, call_id=avoiding_app.call_id, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd, ReviewItem.objects.get(round=rnd)


def test_applicant_avoidance_by_name_and_workplace(officer, avoiding_live):
    expert = ExpertFactory(name="钱回避", workplace="浙江某大学 (玉泉校区)")
    check_everywhere(officer, avoiding_live, expert, "申报单位申请回避：与申报单位存在竞争关系")


def test_applicant_avoidance_same_name_in_another_workplace_is_not_excluded(officer, avoiding_live):
    expert = ExpertFactory(name="钱回避", workplace="另一所大学")
    check_nowhere(officer, avoiding_live, expert)


def test_applicant_avoidance_at_most_three(applicant, draft_app):
    four = [{"name": f"专家{i}", "organization_name": "某大学", "reason": "竞争关系"} for i in range(4)]
    with pytest.raises(InvalidInput, match="最多填写3位"):
        set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=four)
    assert not AvoidanceRequest.objects.filter(application=draft_app).exists()
    set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=four[:3])
    assert AvoidanceRequest.objects.filter(application=draft_app).count() == 3


def test_applicant_avoidance_needs_a_reason(applicant, draft_app):
    with pytest.raises(InvalidInput, match="理由都必须填写"):
        set_avoidance_requests(actor=applicant, application_id=draft_app.pk,
                               requests=[{"name": "钱回避", "organization_name": "某大学", "reason": " "}])
    assert not AvoidanceRequest.objects.filter(application=draft_app).exists()


# ---- shared projects in the last three years ---------------------------------------------------------------


def past_project(expert, co_member_id, *, years_ago, leader=False):
    """A Project whose team had the expert (as member or leader) and ``co_member_id``."""
    app = ApplicationFactory(organization=OrganizationFactory(),
                             leader_id_number=expert.id_number if leader else "")
    app = set_state(app, Application.State.APPROVED)
    if not leader:
        TeamMember.objects.create(application=app, name=expert.name, id_number=expert.id_number,
                                  organization_name=expert.workplace)
    TeamMember.objects.create(application=app, name="王成员", id_number=co_member_id, organization_name="某公司")
    return Project.objects.create(
        application=app, call=app.call, organization=app.organization, number=f"2023-ZDYF-L{app.pk:04d}",
        title=app.title, granted_amount=100000, established_at=timezone.now() - datetime.timedelta(days=365 * years_ago),
    )


def test_recent_collaboration_within_three_years(officer, live):
    expert = ExpertFactory()
    project = past_project(expert, MEMBER_ID, years_ago=2)
    check_everywhere(officer, live, expert, f"近三年与项目组成员共同承担项目（{project.number}）")


def test_recent_collaboration_as_the_past_project_leader_with_our_leader(officer, live):
    expert = ExpertFactory()
    past_project(expert, LEADER_ID, years_ago=1, leader=True)
    check_everywhere(officer, live, expert, "近三年与项目组成员共同承担项目")


def test_collaboration_four_years_ago_is_no_conflict(officer, live):
    expert = ExpertFactory()
    past_project(expert, MEMBER_ID, years_ago=4)
    check_nowhere(officer, live, expert)


def test_recent_project_without_anyone_of_this_team_is_no_conflict(officer, live):
    expert = ExpertFactory()
    past_project(expert, "330102199001010011", years_ago=1)
    check_nowhere(officer, live, expert)


def test_established_via_the_service_counts(officer, live, open_call):
    """A project established by projects.services.establish_project is found the same way."""
    from projects.services import establish_project

    expert = ExpertFactory()
    other = ApplicationFactory(call=open_call, organization=OrganizationFactory())
    TeamMember.objects.create(application=other, name=expert.name, id_number=expert.id_number, organization_name="x")
    TeamMember.objects.create(application=other, name="王成员", id_number=MEMBER_ID, organization_name="y")
    set_state(other, Application.State.ACCEPTED)
    establish_project(actor=officer, application_id=other.pk, granted_amount=100000, source="测试")
    check_everywhere(officer, live, expert, "近三年与项目组成员共同承担项目")


def test_every_reason_is_listed(officer, live, org):
    expert = ExpertFactory(organization=org, id_number=MEMBER_ID)
    declare(expert, kind="organization", organization_name=org.name, relation="任职")
    reasons = reasons_for(expert, Application.objects.get(pk=live[1].subject_id))
    assert len(reasons) == 3
    assert any("同一单位" in r for r in reasons) and any("项目组成员" in r for r in reasons)


def test_project_established_after_the_submission_still_counts(officer, live):
    """The three years count back from the submission; a shared project established since is a conflict too."""
    rnd, item = live
    Application.objects.filter(pk=item.subject_id).update(submitted_at=timezone.now() - datetime.timedelta(days=30))
    expert = ExpertFactory()
    past_project(expert, MEMBER_ID, years_ago=0)
    check_everywhere(officer, live, expert, "近三年与项目组成员共同承担项目")
