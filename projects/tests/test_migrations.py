"""Data migrations on a database that already holds rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

LATEST = [("projects", "0005_normalize_id_numbers"), ("accounts", "0004_normalize_person_id_numbers")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_latest_afterwards():
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _seed(apps):
    Organization = apps.get_model("accounts", "Organization")
    User = apps.get_model("accounts", "User")
    Program = apps.get_model("projects", "Program")
    Call = apps.get_model("projects", "Call")
    now = timezone.now()
    org = Organization.objects.create(name="旧数据单位", credit_code="913301060000000010", region="杭州",
                                      contact_name="王", contact_phone="1", state="verified")
    user = User.objects.create(username="legacy", organization=org)
    program = Program.objects.create(name="重点研发计划", code="zdyf-legacy", managing_office="高新处")
    call = Call.objects.create(program=program, year=2026, title="旧指南", opens_at=now - timezone.timedelta(days=9),
                               closes_at=now + timezone.timedelta(days=9), total_budget=100, cap_per_project=10,
                               state="published")
    return org, user, call


def test_reached_bureau_backfill_and_id_normalisation(at_latest_afterwards):
    apps = migrate([("projects", "0002_role_permissions"), ("accounts", "0002_roles")])
    org, user, call = _seed(apps)
    Application = apps.get_model("projects", "Application")
    TeamMember = apps.get_model("projects", "TeamMember")
    CreditRecord = apps.get_model("accounts", "CreditRecord")
    submitted_at = timezone.now() - timezone.timedelta(days=3)
    accepted = Application.objects.create(call=call, organization=org, created_by=user, title="已受理（无审计事件）",
                                          number="L-1", state="accepted", revision=1, submitted_at=submitted_at,
                                          leader_id_number=" 330106 19800101 123x ")
    at_org = Application.objects.create(call=call, organization=org, created_by=user, title="单位审核中",
                                        number="L-2", state="submitted", revision=1, submitted_at=submitted_at)
    TeamMember.objects.create(application=accepted, name="成员", id_number="33010619900101456x", organization_name="x")
    CreditRecord.objects.create(person_id_number="33010619800101123x ", severity="general", reason="r",
                                penalty_start=timezone.localdate())

    apps = migrate(LATEST)
    Application = apps.get_model("projects", "Application")
    accepted = Application.objects.get(pk=accepted.pk)
    assert accepted.reached_bureau_at == submitted_at
    assert accepted.leader_id_number == "33010619800101123X"
    assert Application.objects.get(pk=at_org.pk).reached_bureau_at is None
    assert apps.get_model("projects", "TeamMember").objects.get().id_number == "33010619900101456X"
    assert apps.get_model("accounts", "CreditRecord").objects.get().person_id_number == "33010619800101123X"
