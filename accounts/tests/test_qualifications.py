import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

HIGH_TECH = Organization.Qualification.HIGH_TECH
TECH_SME = Organization.Qualification.TECH_SME
DAY = datetime.date(2026, 6, 30)


def test_high_tech_expiring_today_is_valid_today_and_not_tomorrow():
    org = OrganizationFactory(high_tech_cert_no="GR202333000111", high_tech_expires=DAY)
    assert org.has_qualification(HIGH_TECH, DAY)
    assert org.has_qualification(HIGH_TECH, DAY - datetime.timedelta(days=365))
    assert not org.has_qualification(HIGH_TECH, DAY + datetime.timedelta(days=1))


def test_no_high_tech_certificate_is_never_valid():
    org = OrganizationFactory()
    assert not org.has_qualification(HIGH_TECH, DAY)


def test_tech_sme_is_valid_in_its_year_only():
    org = OrganizationFactory(tech_sme_no="202633010600123", tech_sme_year=2026)
    assert org.has_qualification(TECH_SME, datetime.date(2026, 1, 1))
    assert org.has_qualification(TECH_SME, datetime.date(2026, 12, 31))
    assert not org.has_qualification(TECH_SME, datetime.date(2025, 12, 31))
    assert not org.has_qualification(TECH_SME, datetime.date(2027, 1, 1))


def test_qualifications_are_independent():
    org = OrganizationFactory(tech_sme_no="202633010600123", tech_sme_year=2026)
    assert not org.has_qualification(HIGH_TECH, DAY)
    assert not org.has_qualification("unknown", DAY)


def test_org_page_shows_qualification_state_today(client, org, applicant):
    today = timezone.localdate()
    Organization.objects.filter(pk=org.pk).update(
        high_tech_cert_no="GR202333000111",
        high_tech_expires=today - datetime.timedelta(days=1),
        tech_sme_no="202633010600123",
        tech_sme_year=today.year,
    )
    client.force_login(applicant)
    response = client.get(reverse("accounts:organization"))
    assert response.context["high_tech_valid"] is False
    assert response.context["tech_sme_valid"] is True
    html = response.content.decode()
    assert "已过期" in html and "GR202333000111" in html
