"""The public 榜单: published challenges (揭榜中 and later) with their targets and the answered 答疑.

Nobody needs to log in to read; an organisation's user may ask a question while the challenge takes bids, and an
applicant of another organisation may start a bid (我要揭榜). Bids are never shown here.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.exceptions import DomainError

from .. import selectors, services
from ..forms_office import AskForm, PublicFilterForm
from ..models import ChallengeQuestion

PAGE_SIZE = 12


def annotate_countdown(challenges, now):
    """Whether each challenge takes bids now and how many days are left (rounded up) until its deadline."""
    for c in challenges:
        c.is_open_now = c.accepts_bids_at(now)
        seconds = (c.bid_deadline - now).total_seconds() if c.bid_deadline else 0
        c.days_left = max(math.ceil(seconds / 86400), 0)
        c.closes_today = c.is_open_now and seconds < 86400
    return challenges


@require_GET
def challenge_list(request):
    now = timezone.now()
    form = PublicFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    page = Paginator(selectors.public_challenges(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    annotate_countdown(page.object_list, now)
    return render(request, "projects/challenges/public/challenge_list.html", {
        "form": form, "page": page, "challenges": page.object_list,
        "filtered": any(filters.values()) if filters else False,
    })


def _questions(user, challenge):
    """The answered questions, plus the open ones of the user's own organisation."""
    if selectors.is_org_user(user):
        return selectors.questions_for(user, challenge).filter(
            Q(state=ChallengeQuestion.State.ANSWERED) | Q(organization_id=user.organization_id))
    return selectors.public_questions(challenge)


@require_GET
def challenge_detail(request, pk):
    user = request.user
    challenge = selectors.public_challenge(pk)
    now = timezone.now()
    annotate_countdown([challenge], now)
    is_org_user = selectors.is_org_user(user)
    own_org = is_org_user and user.organization_id == challenge.organization_id
    own_bid = None
    can_bid = False
    if challenge.is_open_now and not own_org and user.is_authenticated and user.has_perm("projects.create_bid"):
        own_bid = selectors.own_bid_for(user, challenge)
        can_bid = own_bid is None and bool(user.organization_id)
    return render(request, "projects/challenges/public/challenge_detail.html", {
        "challenge": challenge,
        "targets": list(challenge.targets.all()),
        "questions": list(_questions(user, challenge)),
        "own_org": own_org,
        "can_ask": challenge.is_open_now and is_org_user and not own_org,
        "ask_form": AskForm(),
        "can_bid": can_bid,
        "own_bid": own_bid,
        "is_bureau": selectors.is_bureau(user),
        "login_url": f"{reverse('accounts:login')}?next={reverse('jiebang:detail', args=[challenge.pk])}",
    })


@login_required
@require_POST
def ask(request, pk):
    challenge = selectors.public_challenge(pk)
    target = reverse("jiebang:detail", args=[challenge.pk]) + "#qa"
    form = AskForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(target)
    try:
        services.ask_question(actor=request.user, challenge_id=challenge.pk, question=form.cleaned_data["question"])
    except DomainError as e:
        for message in e.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("问题已提交，答复后将在答疑栏公开（不显示提问单位），并通过站内消息通知您。"))
    return redirect(target)
