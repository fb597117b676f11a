"""督办: the supervisor's board of overdue obligations (activity.models.Escalation)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from .selectors import escalations_visible_to

PAGE_SIZE = 50


@login_required
def board(request):
    qs = escalations_visible_to(request.user)
    if qs is None:
        raise PermissionDenied
    page = Paginator(qs.filter(resolved_at__isnull=True, level__in=["yellow", "red"]), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "activity/board.html", {"page": page})
