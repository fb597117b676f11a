import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from experts.models import Criterion, Expert, ReviewRound
from projects.models import Application
from projects.tests.factories import ApplicationFactory, set_state


class ExpertFactory(factory.django.DjangoModelFactory):
    """An active expert in discipline 520 (computer science) with an expert-role user."""

    class Meta:
        model = Expert

    user = factory.SubFactory(UserFactory, roles=["expert"])
    name = factory.Sequence(lambda n: f"专家{n}")
    id_number = factory.Sequence(lambda n: f"33010619800101{n:04d}")
    workplace = factory.Sequence(lambda n: f"浙江某大学{n}")
    title = "教授"
    title_level = Expert.TitleLevel.SENIOR
    discipline_codes = factory.LazyFunction(lambda: ["520.20"])
    keywords = "人工智能，机器视觉"
    region = "杭州市"
    annual_cap = 10
    status = Expert.Status.ACTIVE
    approved_at = factory.LazyFunction(timezone.now)


class RoundFactory(factory.django.DjangoModelFactory):
    """A draft round with the standard five-criterion rubric (30/20/20/20/10)."""

    class Meta:
        model = ReviewRound
        skip_postgeneration_save = True

    call = None
    name = factory.Sequence(lambda n: f"评审轮次{n}")
    experts_per_item = 3
    response_deadline = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=3))
    review_deadline = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))
    created_by = factory.SubFactory(UserFactory, roles=["officer"], is_staff=True)

    @factory.post_generation
    def criteria(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        for i, (name, m) in enumerate(extracted or [("创新性", 30), ("团队", 20), ("方案", 20), ("效益", 20),
                                                   ("预算", 10)]):
            Criterion.objects.create(round=self, name=name, max_score=Decimal(m), position=i)


def accepted_application(call, **kwargs) -> Application:
    app = ApplicationFactory(call=call, **kwargs)
    return set_state(app, Application.State.ACCEPTED)
