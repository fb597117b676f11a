"""Security review of the 中期检查 / 验收 expert rounds: an expert reads a report and its files only through an
assignment they accepted (or already submitted, as for 申报书 rounds); declined, cancelled (a round closed before they
finished) or de-roled experts get 404; a file of another report of the organisation is not served
through the assignment; odd ids are a 404, never a 500; a blind round's download names neither the organisation nor
the uploaded file name, and a hostile file name cannot inject headers."""

import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from experts.models import Assignment
from experts.services import reviews, rounds
from funding.tests.factories import established_project
from projects.checkpoints import services as cps
from projects.tests.factories import CallFactory, pdf_upload

from .factories import ExpertFactory
from .test_checkpoint_rounds import ALL, SPENDING, project_of, started_round, submitted_midterm

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(officer, org, applicant, org_admin):
    """A started blind 中期检查评审: three experts drawn, the first accepted, the second declined."""
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    report = submitted_midterm(project, officer, applicant)
    ExpertFactory.create_batch(5)
    rnd = started_round(officer, call, "midterm")
    drawn = list(Assignment.objects.filter(round=rnd).select_related("expert__user").order_by("id"))
    reviews.accept_invitation(actor=drawn[0].expert.user, assignment_id=drawn[0].pk, confirmed=ALL, ip="10.0.0.1")
    reviews.decline_invitation(actor=drawn[1].expert.user, assignment_id=drawn[1].pk, reason="与承担单位有合作")
    return {"round": rnd, "project": project, "report": report, "attachment": report.attachments.get(),
            "accepted": drawn[0], "declined": drawn[1], "invited": drawn[2]}


def page(a):
    return reverse("experts:review", args=[a.pk])


def download(a, attachment_pk):
    return reverse("experts:review_checkpoint_attachment", args=[a.pk, attachment_pk])


def test_a_declined_expert_reads_nothing(client, scene):
    a, attachment = scene["declined"], scene["attachment"]
    client.force_login(a.expert.user)
    assert client.get(page(a)).status_code == 404
    assert client.get(download(a, attachment.pk)).status_code == 404


def test_an_expert_whose_unfinished_review_was_cancelled_reads_nothing(client, officer, scene):
    a, attachment = scene["accepted"], scene["attachment"]
    client.force_login(a.expert.user)
    assert client.get(download(a, attachment.pk)).status_code == 200
    rounds.close_round(actor=officer, round_id=scene["round"].pk, reason="评审组调整", force=True)
    assert Assignment.objects.get(pk=a.pk).state == Assignment.State.CANCELLED
    assert client.get(page(a)).status_code == 404
    assert client.get(download(a, attachment.pk)).status_code == 404


def test_an_expert_who_lost_the_expert_role_reads_nothing(client, scene):
    a, attachment = scene["accepted"], scene["attachment"]
    user = a.expert.user
    user.groups.remove(*user.groups.filter(name=Role.EXPERT))
    client.force_login(user)
    assert client.get(page(a)).status_code == 404
    assert client.get(download(a, attachment.pk)).status_code == 404


def test_another_report_of_the_organisation_is_not_served_through_the_assignment(client, scene, officer, org,
                                                                                 applicant):
    """The accepted expert may not open the files of the organisation's other 中期报告 by changing the id."""
    a = scene["accepted"]
    second = established_project(organization=org, officer=officer, call=scene["round"].call)
    due = timezone.localdate() + datetime.timedelta(days=30)
    (other_report,), _skipped = cps.open_midterm(actor=officer, project_ids=[second.pk], due_date=due)
    other = cps.add_attachment(actor=applicant, report_kind="midterm", report_id=other_report.pk,
                               kind="progress_report", uploaded=pdf_upload("另一项目中期进展报告.pdf"))
    client.force_login(a.expert.user)
    assert client.get(download(a, other.pk)).status_code == 404
    assert client.get(download(a, scene["attachment"].pk)).status_code == 200


@pytest.mark.parametrize("attachment_pk", [0, 2**63, 2**64, 10**30])
def test_odd_attachment_ids_are_a_404_not_a_crash(client, scene, attachment_pk):
    a = scene["accepted"]
    client.force_login(a.expert.user)
    assert client.get(download(a, attachment_pk)).status_code == 404
    assert client.get(reverse("experts:review_checkpoint_attachment",
                              args=[2**64, scene["attachment"].pk])).status_code == 404


def test_the_blind_download_names_neither_the_organisation_nor_the_upload(client, officer, org, applicant,
                                                                          org_admin):
    call = CallFactory()
    project = project_of(org, officer, call, org_admin)
    due = timezone.localdate() + datetime.timedelta(days=30)
    (report,), _skipped = cps.open_midterm(actor=officer, project_ids=[project.pk], due_date=due)
    cps.save_midterm(actor=applicant, report_id=report.pk, progress="已完成样机研制。",
                     targets=[{"value": "2", "evidence": "专利"}], spending=SPENDING)
    hostile = cps.add_attachment(actor=applicant, report_kind="midterm", report_id=report.pk,
                                 kind="progress_report",
                                 uploaded=pdf_upload(f'{org.name}"\r\nSet-Cookie: a=1;进展.pdf'))
    cps.submit_midterm(actor=applicant, report_id=report.pk)
    ExpertFactory.create_batch(5)
    rnd = started_round(officer, call, "midterm")
    a = Assignment.objects.filter(round=rnd).select_related("expert__user").first()
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.1")
    client.force_login(a.expert.user)
    r = client.get(download(a, hostile.pk))
    assert r.status_code == 200
    disposition = r["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in r.headers
    assert org.name not in unquote(disposition) and "Set-Cookie" not in disposition
    assert unquote(disposition).endswith(f"-{hostile.pk}.pdf")
    assert org.name not in client.get(page(a)).content.decode()


def test_files_of_a_rectification_are_not_the_rounds_material(client, officer, applicant, scene):
    """The round reviewed the first submission; what the organisation uploads for a later 整改 is judged by the
    officer, and the experts of the round do not see it."""
    report, a = scene["report"], scene["accepted"]
    cps.record_expert_scores(report_kind="midterm", scores={report.pk: (Decimal("80.00"), 3)})
    cps.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充数据")
    later = cps.add_attachment(actor=applicant, report_kind="midterm", report_id=report.pk, kind="rectification",
                               uploaded=pdf_upload("整改报告.pdf"))
    client.force_login(a.expert.user)
    assert client.get(download(a, scene["attachment"].pk)).status_code == 200
    assert client.get(download(a, later.pk)).status_code == 404
    assert reverse("experts:review_checkpoint_attachment", args=[a.pk, later.pk]) not in client.get(
        page(a)).content.decode()
