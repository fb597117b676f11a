"""揭榜挂帅 access control and information leaks found in review: each test pins one problem that was fixed."""

import pytest
from django.urls import reverse

from projects.models import ChallengeQuestion
from projects.tests.challenge_factories import ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


# ---- 答疑: the asker is never shown outside the bureau ---------------------------------------------------------


def test_the_poster_never_sees_which_organisation_asked(client, other_applicant):
    """Who asks is who is about to bid: the poster (which later chooses the winners) must not learn it from the
    答疑 list of its need page, whatever the question's state; the bureau still does."""
    need = publish(ChallengeFactory())
    asker_org = other_applicant.organization
    for state, text in (("open", "样机数量有要求吗？"), ("answered", "是否接受联合体？"), ("dismissed", "能否透露预算？")):
        ChallengeQuestion.objects.create(challenge=need, asked_by=other_applicant, organization=asker_org,
                                         question=text, state=state, answer="可以。" if state == "answered" else "")
    client.force_login(need.created_by)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "样机数量有要求吗？" in page and "是否接受联合体？" in page  # the questions themselves are there
    assert asker_org.name not in page
    assert other_applicant.display_name not in page
