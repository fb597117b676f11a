import itertools

import factory
from django.contrib.auth.models import Group
from stdnum.cn import uscc

from accounts.models import CreditRecord, Organization, User

_seq = itertools.count(1)


def make_credit_code(n: int | None = None, region: str = "330106") -> str:
    """A valid 统一社会信用代码 (check digit computed), distinct for each n."""
    n = next(_seq) if n is None else n
    body = f"91{region}{n:09d}"
    return body + uscc.calc_check_digit(body)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试科技有限公司{n}")
    credit_code = factory.LazyFunction(make_credit_code)
    kind = Organization.Kind.ENTERPRISE
    region = "杭州市西湖区"
    contact_name = "王联络"
    contact_phone = "0571-88886666"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.com")
    state = Organization.State.VERIFIED


class UserFactory(factory.django.DjangoModelFactory):
    """UserFactory(roles=["applicant"], organization=org)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            # get_or_create: transactional tests flush the groups that migration accounts.0002 created
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))
            self.__dict__.pop("role_names", None)


class CreditRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditRecord

    severity = CreditRecord.Severity.SERIOUS
    reason = "项目验收材料弄虚作假"
    decision_no = "科信〔2026〕1号"
    penalty_start = factory.Faker("date_this_year")
    penalty_end = None
