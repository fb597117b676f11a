import pytest
from django.conf import settings
from django.utils import translation

from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.tests.factories import ApplicationFactory, CallFactory


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language (zh-hans): a request that switched to English leaves the thread's
    language active, which would otherwise leak into the next test's service messages."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="杭州示例智能科技有限公司")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="宁波另一家制造有限公司")


@pytest.fixture
def applicant(org):
    return UserFactory(organization=org, roles=["applicant"], real_name="张申报")


@pytest.fixture
def org_admin(org):
    return UserFactory(organization=org, roles=["applicant", "org_admin"], real_name="李管理")


@pytest.fixture
def other_applicant(other_org):
    return UserFactory(organization=other_org, roles=["applicant", "org_admin"], real_name="赵外单位")


@pytest.fixture
def officer(db):
    return UserFactory(roles=["officer"], is_staff=True, real_name="陈处长")


@pytest.fixture
def supervisor(db):
    """局领导: receives the 红牌 (督办) and reads the bureau's pages."""
    return UserFactory(roles=["supervisor"], real_name="王局长")


@pytest.fixture
def expert_user(db):
    return UserFactory(roles=["expert"], real_name="周专家")


@pytest.fixture
def finance_user(db):
    return UserFactory(roles=["finance"], real_name="钱财务")


@pytest.fixture
def open_call(db):
    return CallFactory()


@pytest.fixture
def draft_app(open_call, org, applicant):
    return ApplicationFactory(call=open_call, organization=org, created_by=applicant)
