"""Factories for 揭榜挂帅: a filled-in need, a published challenge, and a bid ready to submit."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.models import Bid, BidMilestone, Challenge, ChallengeTarget, Program

from .factories import ProgramFactory


def challenge_program():
    return ProgramFactory(code="jbgs", name="揭榜挂帅项目", kind=Program.Kind.CHALLENGE)


class ChallengeFactory(factory.django.DjangoModelFactory):
    """A draft need with two targets, complete enough to pass every submit check."""

    class Meta:
        model = Challenge
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory, name=factory.Sequence(lambda n: f"发榜汽车部件有限公司{n}"))
    created_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..organization"), roles=["applicant", "org_admin"]
    )
    title = factory.Sequence(lambda n: f"分布式轮毂电驱动系统关键技术{n}")
    field = "manufacturing"
    discipline_code = "580.20"
    keywords = "轮毂电机，电驱动，热管理"
    problem = "现有轮毂电机功率密度低、散热差，制约整车轻量化。"
    expected_outcome = "形成可量产的轮毂电驱动总成及样车验证。"
    period_months = 24
    enterprise_funding = Decimal("2000000.00")
    subsidy_requested = Decimal("1000000.00")
    bounty = Decimal("3000000.00")
    contact_name = "周联络"
    contact_phone = "0571-86661234"

    @factory.post_generation
    def targets(self, create, extracted, **kwargs):
        if not create:
            return
        rows = extracted if extracted is not None else [
            ("峰值功率密度", "≥4.5", "kW/kg", "第三方检测报告"),
            ("防护等级", "IP67", "", "型式试验"),
        ]
        ChallengeTarget.objects.bulk_create([
            ChallengeTarget(challenge=self, position=i, name=n, target_value=v, unit=u, verification=ver)
            for i, (n, v, u, ver) in enumerate(rows)
        ])


def publish(challenge: Challenge, *, deadline=None, max_winners=1, defence_weight=Decimal("0"), number=None):
    """Put a need straight on the 榜单 (tests of what follows publication)."""
    challenge.program = challenge_program()
    challenge.state = Challenge.State.PUBLISHED
    challenge.bid_deadline = deadline or timezone.now() + datetime.timedelta(days=30)
    challenge.max_winners = max_winners
    challenge.defence_weight = defence_weight
    challenge.number = number or f"XQ2026-{challenge.pk:04d}"
    challenge.submitted_at = challenge.published_at = timezone.now()
    challenge.commitment_accepted_at = timezone.now()
    challenge.save()
    return challenge


class BidFactory(factory.django.DjangoModelFactory):
    """A draft bid with two milestones adding up to its amount (2,400,000)."""

    class Meta:
        model = Bid
        skip_postgeneration_save = True

    challenge = None
    bid_round = factory.LazyAttribute(lambda o: o.challenge.bid_round)
    organization = factory.SubFactory(OrganizationFactory, name=factory.Sequence(lambda n: f"揭榜研究院{n}"))
    created_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..organization"), roles=["applicant"]
    )
    title = factory.Sequence(lambda n: f"高功率密度轮毂电驱动方案{n}")
    plan = "采用油冷定子与碳纤维转子护套，集成SiC控制器。"
    foundation = "已完成两代样机。"
    discipline_code = "580.20"
    keywords = "轮毂电机"
    leader_name = factory.Sequence(lambda n: f"负责人{n}")
    leader_id_number = factory.Sequence(lambda n: f"33010619750101{n:04d}")
    leader_title = "研究员"
    leader_phone = "13900001111"
    amount = Decimal("2400000.00")

    @factory.post_generation
    def milestones(self, create, extracted, **kwargs):
        if not create:
            return
        start = timezone.localdate(self.challenge.bid_deadline)
        rows = extracted if extracted is not None else [
            ("样机设计与台架验证", "功率密度≥4.0kW/kg", start + datetime.timedelta(days=180), Decimal("1200000.00")),
            ("装车验证与定型", "功率密度≥4.5kW/kg，IP67", start + datetime.timedelta(days=540), Decimal("1200000.00")),
        ]
        BidMilestone.objects.bulk_create([
            BidMilestone(bid=self, position=i, title=t, targets=tg, due_date=d, amount=a)
            for i, (t, tg, d, a) in enumerate(rows)
        ])
