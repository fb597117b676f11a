"""中期检查 and 验收 reviewed by experts, end to end through the services: the bureau opens the mid-term check, the
organisation reports and submits with its files, a 中期检查评审 round of the call takes the report in, experts are
drawn (the organisation's own expert never), review what the organisation reported and close the round: the report
has its expert score, and the bureau's 通过 makes the mid-term tranche due. The same for the 验收申请: 通过 completes the
project and makes the last tranche due. Then who may open the report page and its files, and what a blind round
hides."""

import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import InvalidInput, TransitionRefused
from accounts.tests.factories import UserFactory, make_credit_code
from experts.models import Assignment, ReviewItem, ReviewRound
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from funding import services as funding_services
from funding.tests.factories import established_project
from projects.checkpoints import services as cps
from projects.models import AcceptanceReport, AvoidanceRequest, MidtermReport, Partner, Project
from projects.tests.factories import CallFactory, pdf_upload

from .factories import ExpertFactory

pytestmark = pytest.mark.django_db

ALL = [code for code, _label in COMMITMENT_ITEMS]
SPENDING = {"equipment": {"fiscal": "120000", "self": "80000"}, "business": {"fiscal": "60000.50", "self": "40000"},
            "labour": {"fiscal": "20000", "self": "10000"}}
PARTNER_CODE = make_credit_code(region="330000")


def project_of(org, officer, call, org_admin):
    """An established project of ``call`` with a partner and a 不适宜专家, its 任务书 signed by both parties."""
    project = established_project(organization=org, officer=officer, call=call, title="工业视觉缺陷检测关键技术研究")
    app = project.application
    Partner.objects.create(application=app, name="浙江合作大学", credit_code=PARTNER_CODE, position=0)
    AvoidanceRequest.objects.create(application=app, name="回避专家", organization_name="竞争对手有限公司",
                                    reason="存在竞争关系", position=0)
    funding_services.confirm_agreement(actor=org_admin, agreement_id=project.agreement.pk)
    funding_services.confirm_agreement(actor=officer, agreement_id=project.agreement.pk)
    return Project.objects.get(pk=project.pk)


def submitted_midterm(project, officer, applicant) -> MidtermReport:
    due = timezone.localdate() + datetime.timedelta(days=30)
    (report,), skipped = cps.open_midterm(actor=officer, project_ids=[project.pk], due_date=due)
    assert not skipped
    cps.save_midterm(actor=applicant, report_id=report.pk, progress="已完成样机研制，缺陷检出率达到 98%。",
                     targets=[{"value": "2", "evidence": "已受理发明专利 2 件"}], spending=SPENDING)
    cps.add_attachment(actor=applicant, report_kind="midterm", report_id=report.pk, kind="progress_report",
                       uploaded=pdf_upload("杭州示例中期进展报告.pdf"))
    return cps.submit_midterm(actor=applicant, report_id=report.pk)


def experts_pool(org, n=5):
    """``n`` experts free to review, an expert of the organisation itself, one of its partner university and the
    one it asked to avoid."""
    free = [ExpertFactory() for _ in range(n)]
    own = ExpertFactory(user=UserFactory(roles=["expert"], organization=org), name="本单位专家")
    partner = ExpertFactory(workplace="浙江合作大学", workplace_credit_code=PARTNER_CODE)
    avoided = ExpertFactory(name="回避专家", workplace="竞争对手有限公司")
    return free, [own, partner, avoided]


def review_everything(rnd, pct):
    for a in Assignment.objects.filter(round=rnd).select_related("round", "expert__user"):
        user = a.expert.user
        reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.9")
        scores = {str(c.pk): (c.max_score * pct / 100).quantize(Decimal("0.1")) for c in a.round.criteria.all()}
        reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores, comment="", recommendation="fund")


def started_round(officer, call, kind, **data):
    rnd = rounds.create_round(actor=officer, call_id=call.pk, kind=kind, data={"experts_per_item": 3, **data})
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 1
    rounds.start_round(actor=officer, round_id=rnd.pk)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=11)
    assert not outcome.shortfall
    return rnd


# ---- the whole way ---------------------------------------------------------------------------------------------


def test_midterm_and_acceptance_rounds_score_the_reports_and_release_the_tranches(officer, org, applicant, org_admin):
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    free, conflicted = experts_pool(org)
    report = submitted_midterm(project, officer, applicant)
    assert report.state == "submitted" and report.expert_score is None
    # the bureau cannot conclude before the experts scored
    with pytest.raises(TransitionRefused, match="专家评审尚未完成"):
        cps.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass")

    # a 中期检查评审 round of the call: its rubric, the report as its item under the project's number and title
    rnd = rounds.create_round(actor=officer, call_id=call.pk, kind="midterm", data={"experts_per_item": 3})
    assert rnd.name == f"{call.title} 中期检查评审"
    assert [c.name for c in rnd.criteria.all()] == [str(n) for n, _d, _m in rounds.CHECKPOINT_RUBRICS["midterm"]]
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 1
    item = ReviewItem.objects.get(round=rnd)
    assert (item.number, item.title, item.organization_name) == (project.number, project.title, org.name)
    assert item.subject == report and item.requested_amount == project.granted_amount
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 0  # once

    # 回避 as at 立项: the organisation's own expert, its partner's and the one it asked to avoid are kept off
    el = assign.eligibility(rnd, [item])
    reasons = el.excluded[item.pk]
    own, partner, avoided = conflicted
    assert "为同一单位" in reasons[own.pk][0]
    assert "浙江合作大学" in reasons[partner.pk][0]
    assert "申报单位申请回避" in reasons[avoided.pk][0]
    assert {pk for pk, _a in el.candidates[item.pk]} == {e.pk for e in free}

    rounds.start_round(actor=officer, round_id=rnd.pk)
    assert not assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=3).shortfall
    drawn = set(Assignment.objects.filter(round=rnd).values_list("expert_id", flat=True))
    assert len(drawn) == 3 and drawn <= {e.pk for e in free}
    review_everything(rnd, 80)
    rounds.close_round(actor=officer, round_id=rnd.pk)
    report.refresh_from_db()
    assert (report.expert_score, report.expert_review_count) == (Decimal("80.00"), 3)

    # 通过: the mid-term tranche becomes due
    agreement = project.agreement
    assert agreement.tranches.get(position=2).state == "planned"
    cps.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass", note="进展符合任务书要求。")
    assert MidtermReport.objects.get(pk=report.pk).state == "passed"
    assert agreement.tranches.get(position=2).state == "due"
    assert agreement.tranches.get(position=3).state == "planned"

    # 验收申请 → 验收评审 (open: the experts see the organisation) → 通过
    acc = cps.start_acceptance(actor=applicant, project_id=project.pk)
    cps.save_acceptance(actor=applicant, report_id=acc.pk, summary="全部考核指标完成。",
                        targets=[{"value": "4", "evidence": "授权发明专利 4 件"}], spending=SPENDING)
    for kind in ("final_report", "spending_report", "audit_report"):
        cps.add_attachment(actor=applicant, report_kind="acceptance", report_id=acc.pk, kind=kind,
                           uploaded=pdf_upload(f"{kind}.pdf"))
    cps.submit_acceptance(actor=applicant, report_id=acc.pk)
    arnd = started_round(officer, call, "acceptance", blind=False)
    assert ReviewItem.objects.get(round=arnd).subject == acc
    assert not Assignment.objects.filter(round=arnd, expert__in=conflicted).exists()
    review_everything(arnd, 90)
    rounds.close_round(actor=officer, round_id=arnd.pk)
    acc.refresh_from_db()
    assert (acc.expert_score, acc.expert_review_count) == (Decimal("90.00"), 3)
    cps.conclude_acceptance(actor=officer, report_id=acc.pk, conclusion="pass", note="同意通过验收。")
    assert AcceptanceReport.objects.get(pk=acc.pk).state == "passed"
    assert Project.objects.get(pk=project.pk).state == "completed"
    assert agreement.tranches.get(position=3).state == "due"


def test_a_round_takes_only_the_calls_submitted_unscored_reports(officer, org, applicant, org_admin, other_org):
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    report = submitted_midterm(project, officer, applicant)
    # another call's project, and one of this call whose report is still being filled in
    other = established_project(organization=other_org, officer=officer)
    cps.open_midterm(actor=officer, project_ids=[other.pk], due_date=timezone.localdate())
    waiting = established_project(organization=other_org, officer=officer, call=call)
    cps.open_midterm(actor=officer, project_ids=[waiting.pk], due_date=timezone.localdate())

    ExpertFactory.create_batch(3)
    rnd = started_round(officer, call, "midterm")
    assert list(ReviewItem.objects.filter(round=rnd).values_list("subject_id", flat=True)) == [report.pk]
    # nothing for an acceptance round of the call; the report is not taken twice while its round runs
    arnd = rounds.create_round(actor=officer, call_id=call.pk, kind="acceptance", data={})
    assert rounds.add_items(actor=officer, round_id=arnd.pk) == 0
    again = rounds.create_round(actor=officer, call_id=call.pk, kind="midterm", data={})
    assert rounds.add_items(actor=officer, round_id=again.pk) == 0
    # closed without any review (forced): the report has no score and may go into another round
    rounds.close_round(actor=officer, round_id=rnd.pk, force=True, reason="专家均未按时评审")
    report.refresh_from_db()
    assert report.expert_score is None
    assert rounds.add_items(actor=officer, round_id=again.pk) == 1


def test_a_checkpoint_round_belongs_to_a_call(officer):
    with pytest.raises(InvalidInput):
        rounds.create_round(actor=officer, kind="midterm", data={})
    rnd = rounds.create_round(actor=officer, call_id=CallFactory().pk, kind="acceptance", data={})
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewRound.objects.filter(pk=rnd.pk).update(call=None)


# ---- the expert's page and files --------------------------------------------------------------------------------


@pytest.fixture
def reviewing(officer, org, applicant, org_admin):
    """A started blind 中期检查评审 with three experts invited, one of them having accepted; two experts not drawn."""
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    report = submitted_midterm(project, officer, applicant)
    ExpertFactory.create_batch(5)
    rnd = started_round(officer, call, "midterm")
    invited = list(Assignment.objects.filter(round=rnd).select_related("expert__user").order_by("id"))
    reviews.accept_invitation(actor=invited[0].expert.user, assignment_id=invited[0].pk, confirmed=ALL, ip="10.0.0.1")
    attachment = report.attachments.get()
    return {"round": rnd, "report": report, "project": project, "accepted": invited[0], "invited": invited[1],
            "attachment": attachment,
            "outsider": ExpertFactory()}


def page(a):
    return reverse("experts:review", args=[a.pk])


def download(a, attachment):
    return reverse("experts:review_checkpoint_attachment", args=[a.pk, attachment.pk])


def test_the_assigned_expert_reviews_the_report_with_its_files(client, reviewing, org, django_assert_max_num_queries):
    a = reviewing["accepted"]
    client.force_login(a.expert.user)
    with django_assert_max_num_queries(9):
        response = client.get(page(a))
    assert response.status_code == 200
    body = response.content.decode()
    project = reviewing["project"]
    assert project.title in body and project.number in body and "中期检查评审" in body
    assert "已完成样机研制，缺陷检出率达到 98%" in body
    assert "发明专利申请" in body and "已受理发明专利 2 件" in body  # the target, its value and evidence
    assert "200,000.50" in body  # fiscal spending in total (120,000 + 60,000.50 + 20,000)
    assert "330,000.50" in body  # all spending
    assert "建议限期整改" in body  # the recommendations in the words of a mid-term check
    # blind: neither the organisation nor the leader, and the file under a neutral name
    assert org.name not in body and project.leader_name not in body and "杭州示例" not in body
    attachment = reviewing["attachment"]
    assert download(a, attachment) in body
    response = client.get(download(a, attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")
    disposition = unquote(response["Content-Disposition"])
    assert f"中期进展报告-{attachment.pk}.pdf" in disposition and "杭州示例" not in disposition


def test_the_open_round_shows_the_organisation(client, reviewing, org):
    ReviewRound.objects.filter(pk=reviewing["round"].pk).update(blind=False)
    a = reviewing["accepted"]
    client.force_login(a.expert.user)
    body = client.get(page(a)).content.decode()
    assert org.name in body and reviewing["project"].leader_name in body and "杭州示例中期进展报告.pdf" in body


def test_nobody_else_opens_the_report_or_its_files(client, reviewing, applicant, other_applicant):
    a, attachment = reviewing["accepted"], reviewing["attachment"]
    # an expert not drawn, and one invited who has not accepted yet
    for user in (reviewing["outsider"].user, reviewing["invited"].expert.user, other_applicant, applicant):
        client.force_login(user)
        assert client.get(page(a)).status_code == 404
        assert client.get(download(a, attachment)).status_code == 404
    invited = reviewing["invited"]
    client.force_login(invited.expert.user)
    assert client.get(page(invited)).status_code == 404
    assert client.get(download(invited, attachment)).status_code == 404
    client.logout()
    assert client.get(download(a, attachment)).status_code == 302


def test_a_file_of_another_report_or_a_removed_one_is_not_served(client, reviewing, officer, org_admin, other_org):
    a = reviewing["accepted"]
    other = established_project(organization=other_org, officer=officer)
    (other_report,), _s = cps.open_midterm(actor=officer, project_ids=[other.pk], due_date=timezone.localdate())
    other_user = UserFactory(organization=other_org, roles=["applicant"])
    foreign = cps.add_attachment(actor=other_user, report_kind="midterm", report_id=other_report.pk,
                                 kind="progress_report", uploaded=pdf_upload())
    client.force_login(a.expert.user)
    assert client.get(download(a, foreign)).status_code == 404
    # a 申报书 round's download view does not serve report files either
    assert client.get(reverse("experts:review_attachment", args=[a.pk, reviewing["attachment"].pk])).status_code == 404


def test_the_officer_pages_show_the_report_as_the_rounds_item(client, reviewing, officer, org):
    rnd, project = reviewing["round"], reviewing["project"]
    client.force_login(officer)
    body = client.get(reverse("experts:round_detail", args=[rnd.pk])).content.decode()
    assert project.title in body and project.number in body and org.name in body
    assert "中期检查评审" in body and "加入已提交的中期报告" in body
    body = client.get(reverse("experts:round_ranking", args=[rnd.pk])).content.decode()
    assert project.title in body and "承担单位" in body and "指南财政资金总额" not in body
    assert client.get(reverse("experts:funding_list", args=[rnd.pk])).status_code == 302
    body = client.get(reverse("experts:round_list")).content.decode()
    assert rnd.call.title in body and "中期检查评审" in body


def test_the_officer_creates_a_midterm_round_for_a_call(client, officer, org, applicant, org_admin):
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    submitted_midterm(project, officer, applicant)
    client.force_login(officer)
    url = reverse("experts:round_create") + "?kind=midterm"
    body = client.get(url).content.decode()
    assert call.title in body and "绩效指标进展" in body
    respond, review = rounds.default_deadlines()
    rubric = rounds.CHECKPOINT_RUBRICS["midterm"]
    data = {
        "call": call.pk, "name": "", "experts_per_item": 3, "kind": "midterm",
        "response_deadline": timezone.localtime(respond).strftime("%Y-%m-%dT%H:%M"),
        "review_deadline": timezone.localtime(review).strftime("%Y-%m-%dT%H:%M"),
        "blind": "on", "aggregation": "mean", "dispersion_threshold": "10", "deviation_threshold": "20",
        "comment_threshold": "60", "criteria-TOTAL_FORMS": str(len(rubric)), "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0", "criteria-MAX_NUM_FORMS": "30",
    }
    for i, (name, desc, m) in enumerate(rubric):
        data.update({f"criteria-{i}-name": str(name), f"criteria-{i}-description": str(desc),
                     f"criteria-{i}-max_score": str(m)})
    response = client.post(url, data)
    rnd = ReviewRound.objects.get()
    assert response.status_code == 302 and rnd.kind == "midterm" and rnd.call == call
    response = client.post(reverse("experts:round_add_items", args=[rnd.pk]), follow=True)
    assert "已加入1份中期报告" in response.content.decode()
