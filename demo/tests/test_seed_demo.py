"""The demo data: every state reached through the services, valid identifiers, idempotent."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from stdnum.cn import ric, uscc

from accounts.models import CreditRecord, Organization, User
from accounts.roles import Role
from accounts.selectors import running_credit_records
from activity.models import AuditEvent, Notification
from activity.selectors import events_for
from demo.management.commands.seed_demo import DEMO_PASSWORD, demo_pdf
from experts.models import Assignment, Expert, FundingList, ReviewRound
from experts.selectors import ranking
from experts.services.assign import replay_draw
from experts.services.funding import approve_list
from projects.models import Application, ApplicationVersion, Attachment, Call, Program, Project
from projects.services import submission_problems
from projects.uploads import inspect_upload

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (User, Organization, CreditRecord, Program, Call, Application, ApplicationVersion, Attachment,
                      AuditEvent, Notification, Expert, ReviewRound, Assignment)
    }


def test_seed_demo_covers_every_state_kind_and_role():
    output = seed()

    # every state but 未立项, which the demo leaves to the officer (test_demo_review_rounds); the spring batch of
    # demo/funding.py is approved (立项)
    outcomes = {Application.State.NOT_APPROVED}
    assert set(Application.objects.values_list("state", flat=True)) == set(Application.State.values) - outcomes
    assert set(Call.objects.values_list("state", flat=True)) == set(Call.State.values)
    assert set(Organization.objects.values_list("state", flat=True)) == set(Organization.State.values)
    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert {"enterprise", "university", "institute", "hospital"} <= kinds
    assert 18 <= Organization.objects.count() <= 25
    assert Program.objects.filter(kind=Program.Kind.CHALLENGE).exists()
    assert all(uscc.is_valid(code) for code in Organization.objects.values_list("credit_code", flat=True))
    ids = [x for x in Application.objects.values_list("leader_id_number", flat=True) if x]
    assert ids and all(ric.is_valid(x) for x in ids)
    today = timezone.localdate()
    assert any(o.has_qualification("high_tech", today) for o in Organization.objects.all())
    assert any(o.has_qualification("tech_sme", today) for o in Organization.objects.all())
    assert running_credit_records(on=today, organization_id=Organization.objects.get(name="杭州拱宸桥软件有限公司").pk)

    for role in Role:
        assert User.objects.filter(groups__name=role.value, is_active=True).exists(), role
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="officer").is_staff
    request = RequestFactory().post("/accounts/login/")
    for username in ("admin", "officer", "leader", "finance", "expert", "applicant", "orgadmin"):
        assert authenticate(request, username=username, password=DEMO_PASSWORD) is not None, username
        assert username in output
    assert DEMO_PASSWORD in output


def test_seed_demo_reaches_states_through_the_services():
    seed()
    accepted_twice = Application.objects.get(title="mRNA疫苗递送脂质纳米粒规模化制备工艺")
    verbs = [(e.verb, e.from_state, e.to_state) for e in events_for(accepted_twice) if e.to_state]
    assert verbs == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("endorse", "submitted", "endorsed"),
        ("return", "endorsed", "returned"),
        ("submit", "returned", "submitted"),
        ("endorse", "submitted", "endorsed"),
        ("accept", "endorsed", "accepted"),
    ]
    assert accepted_twice.revision == 2 and accepted_twice.versions.count() == 2
    # every submitted application has a number, a version and notified someone
    for app in Application.objects.exclude(state=Application.State.DRAFT):
        assert app.number and app.versions.exists(), app
    assert Notification.objects.filter(kind="application_accepted").exists()
    assert Notification.objects.filter(kind="org_verified").exists()
    # the first batch was closed by the officer after its reviews
    closed = Call.objects.get(state=Call.State.CLOSED, title__contains="第一批")
    assert events_for(closed).filter(verb="close", actor__username="officer").exists()
    # attachments were uploaded through the content check
    assert Attachment.objects.filter(content_type="application/pdf").count() == Attachment.objects.count() > 0


def test_demo_drafts_show_the_submit_checks():
    seed()
    ready = Application.objects.get(title="基于多模态大模型的工业视觉缺陷检测关键技术研究")
    assert submission_problems(ready) == []
    barred = Application.objects.get(title="政务区块链电子证照共享平台研发")
    assert any("失信" in p for p in submission_problems(barred))
    pending = Application.objects.get(title="量子随机数发生器芯片研制")
    assert any("尚未通过科技局认证" in p for p in submission_problems(pending))


def test_seed_demo_is_idempotent():
    seed()
    before = counts()
    output = seed()
    assert counts() == before
    assert "未作改动" in output


def test_demo_review_rounds():
    seed()
    officer = User.objects.get(username="officer")
    assert Expert.objects.filter(status=Expert.Status.ACTIVE).count() == 32
    first = ReviewRound.objects.get(name="第一批重点研发计划项目会评")
    assert first.state == ReviewRound.State.CLOSED
    # five submitted reviews per application, after one decline was replaced from the alternates
    assert all(row.result.count == 5 for row in ranking(first))
    assert first.assignments.filter(state=Assignment.State.DECLINED, replacement__isnull=False).count() == 1
    assert all(replay_draw(d) for d in first.draws.filter(method="random"))
    fl = first.funding_list
    assert fl.state == FundingList.State.PUBLICIZING and fl.publicity_end < timezone.localdate()
    assert fl.signed_off_by.username == "leader" and fl.objections.get().state == "dismissed"
    # what the demo leaves to the officer: approval turns the list into Projects
    approve_list(actor=officer, list_id=fl.pk)
    assert Project.objects.filter(call=first.call).count() == fl.entries.count() == 2
    assert Application.objects.filter(state=Application.State.NOT_APPROVED).count() == 1
    # the live round: the demo expert has an invitation to answer
    second = ReviewRound.objects.get(name="第二批重点研发计划项目网评")
    assert second.state == ReviewRound.State.REVIEWING
    assert second.assignments.get(expert__user__username="expert").state == Assignment.State.INVITED


def test_demo_pdf_passes_the_upload_content_check():
    from django.core.files.uploadedfile import SimpleUploadedFile

    info = inspect_upload(SimpleUploadedFile("报告.pdf", demo_pdf("Feasibility"), "application/pdf"))
    assert info["content_type"] == "application/pdf"
