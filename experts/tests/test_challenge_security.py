"""揭榜挂帅 expert review, access and blind rounds: what an invited expert sees of a bid before and after accepting."""

import pytest
from django.urls import reverse

from experts.models import Assignment

from .test_challenge_rounds import accepted, pool, reviewing_challenge, started_round  # noqa: F401

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def test_a_blind_bid_round_never_names_the_bidder_on_any_expert_page_or_invitation(client, officer, pool):  # noqa: F811
    challenge, bids = reviewing_challenge(officer)
    rnd = started_round(officer, challenge, "bid", blind=True)
    bid = bids[0]
    hidden = (bid.organization.name, bid.leader_name, "钱攻关", "浙江联合大学")
    invited = Assignment.objects.filter(round=rnd, item__subject_id=bid.pk).select_related("expert__user").first()
    user = invited.expert.user
    client.force_login(user)
    pages = [reverse("experts:dashboard"), reverse("experts:invitations"),
             reverse("experts:invitation", args=[invited.pk])]
    for url in pages:
        html = body(client.get(url))
        assert all(h not in html for h in hidden), url
    inbox = " ".join(f"{n.title} {n.body}" for n in user.notifications.all())
    assert inbox and all(h not in inbox for h in hidden)
    a = accepted(rnd, bid.pk)
    client.force_login(a.expert.user)
    for url in (reverse("experts:review", args=[a.pk]), reverse("experts:history")):
        html = body(client.get(url))
        assert all(h not in html for h in hidden), url
    # the API of the expert's tasks hides the organisation too
    rows = client.get("/api/expert/invitations/").json()
    assert all(r.get("organization_name") is None for r in rows.get("results", rows))
