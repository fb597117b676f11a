"""The 揭榜挂帅 demo data: every stage reached through the services, re-runnable, and the pigment challenge left
for the demo applicant to try."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from stdnum.cn import uscc

from accounts.models import Organization, User
from activity.models import AuditEvent, Notification
from activity.selectors import events_for
from demo.challenges import HUB, PIGMENT, PRINTING_REASON, SENSOR_VETTING, SENSOR_WAITING, SLUDGE
from demo.management.commands.seed_demo import DEMO_PASSWORD
from experts.models import Expert, ReviewRound
from experts.services.assign import discipline_root
from projects.challenges import services as jb
from projects.models import (
    Bid,
    BidMilestone,
    Challenge,
    ChallengeQuestion,
    ChallengeTarget,
    Project,
    ProjectMilestone,
)

pytestmark = pytest.mark.django_db
CH, B = Challenge.State, Bid.State


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def counts():
    return {m.__name__: m.objects.count() for m in (Organization, User, Challenge, ChallengeTarget, ChallengeQuestion,
                                                    Bid, BidMilestone, Project, ProjectMilestone, ReviewRound,
                                                    AuditEvent, Notification)}


def test_seed_demo_runs_twice_and_reaches_every_stage_of_the_challenges():
    output = seed()
    before = counts()
    assert "未作改动" in seed()
    assert counts() == before

    by_title = {c.title: c for c in Challenge.objects.select_related("organization")}
    assert {c.state for c in by_title.values()} >= {CH.AWARDED, CH.PUBLISHED, CH.SUBMITTED, CH.VETTING, CH.REJECTED}
    assert set(Bid.objects.values_list("state", flat=True)) == {B.DRAFT, B.SUBMITTED, B.WON, B.LOST, B.WITHDRAWN,
                                                                B.VOID}
    assert by_title[SENSOR_WAITING.title].state == CH.SUBMITTED and by_title[SENSOR_WAITING.title].number
    assert by_title[SENSOR_VETTING.title].state == CH.VETTING
    rejected = Challenge.objects.get(state=CH.REJECTED)
    assert rejected.last_reason == PRINTING_REASON

    # 流标 and republished: open again in a second round, the first round's only bid void
    sludge = by_title[SLUDGE.title]
    assert sludge.state == CH.PUBLISHED and sludge.bid_round == 2 and sludge.bid_deadline > timezone.now()
    assert [e.verb for e in events_for(sludge) if e.to_state][-2:] == ["fail", "republish"]
    assert [b.state for b in Bid.objects.filter(challenge=sludge)] == [B.VOID]

    # 赛马制: closed by the sweeper (no person), reviewed by pool experts, two winners, one stopped
    hub = by_title[HUB.title]
    assert hub.state == CH.AWARDED and hub.max_winners == 3 and hub.bounty == 3_000_000
    assert events_for(hub).get(verb="close").actor is None
    rnd = ReviewRound.objects.get(challenge=hub, kind=ReviewRound.Kind.BID)
    assert rnd.state == ReviewRound.State.CLOSED
    pool_roots = {discipline_root(c) for codes in Expert.objects.values_list("discipline_codes", flat=True)
                  for c in codes}
    assert discipline_root(hub.discipline_code) in pool_roots
    bids = {b.state: b for b in Bid.objects.filter(challenge=hub).exclude(state__in=[B.WON])}
    assert set(bids) == {B.LOST, B.VOID}  # the draft left at the deadline was voided
    won = list(Bid.objects.filter(challenge=hub, state=B.WON).order_by("id"))
    assert len(won) == 2 and all(b.review_score and b.review_count == 3 for b in won)
    assert won[1].partners.get().kind == Organization.Kind.UNIVERSITY  # the consortium
    assert not won[0].partners.exists()  # alone
    projects = {p.state: p for p in Project.objects.filter(challenge=hub)}
    assert set(projects) == {Project.State.ESTABLISHED, Project.State.TERMINATED}
    assert all(p.granted_amount == 500_000 for p in projects.values())  # 1/3 of 1,500,000 from the subsidy
    running, stopped = projects[Project.State.ESTABLISHED], projects[Project.State.TERMINATED]
    assert [(m.state, m.poster_verdict) for m in running.milestones.order_by("position")] == [
        ("passed", "pass"), ("pending", "")]
    assert [(m.state, m.poster_verdict) for m in stopped.milestones.order_by("position")] == [
        ("failed", "fail"), ("cancelled", "")]
    assert stopped.end_reason and Notification.objects.filter(kind="project_stopped").exists()

    # open for bids: 答疑 answered twice and once still open; a draft, a submitted and a withdrawn bid
    pigment = by_title[PIGMENT.title]
    assert pigment.state == CH.PUBLISHED and pigment.bid_deadline > timezone.now()
    assert sorted(pigment.questions.values_list("state", flat=True)) == ["answered", "answered", "open"]
    assert sorted(pigment.bids.values_list("state", flat=True)) == [B.DRAFT, B.SUBMITTED, B.WITHDRAWN]
    assert pigment.targets.get(name__startswith="耐候性").verification.startswith("GB/T 1865")

    # the posters are new verified companies with their own logins, printed with the others
    request = RequestFactory().post("/accounts/login/")
    for c in (hub, pigment, by_title[SENSOR_WAITING.title]):
        assert c.organization.is_verified and uscc.is_valid(c.organization.credit_code)
    for username in ("qjqp-admin", "hcyl-admin", "jcyq-admin", "znzz-admin"):
        assert authenticate(request, username=username, password=DEMO_PASSWORD) is not None, username
        assert username in output
    assert Organization.objects.count() <= 25


def test_the_demo_applicant_can_open_the_list_and_the_pigment_challenge_and_bid(client):
    seed()
    applicant = User.objects.get(username="applicant")
    pigment = Challenge.objects.get(title=PIGMENT.title)
    assert pigment.organization_id != applicant.organization_id
    client.force_login(applicant)

    listing = client.get(reverse("jiebang:list"))
    assert listing.status_code == 200
    assert PIGMENT.title in listing.content.decode() and HUB.title in listing.content.decode()
    assert SENSOR_WAITING.title not in listing.content.decode()  # not vetted yet: not on the 榜单

    detail = client.get(reverse("jiebang:detail", args=[pigment.pk]))
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "GB/T 1865—2009方法1" in page  # an answered question
    assert "砂磨和喷雾干燥产线" not in page  # another company's open question stays private
    assert reverse("challenges:bid_create", args=[pigment.pk]) in page  # 我要揭榜

    bid = jb.create_bid(actor=applicant, challenge_id=pigment.pk)
    assert bid.state == B.DRAFT and bid.organization_id == applicant.organization_id
