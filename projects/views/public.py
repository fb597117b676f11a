"""Public pages: the home page with open calls, the call list, a call's guide and its documents."""

import math

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import Role

from .. import selectors
from ..forms import CallFilterForm
from ..models import Call, CallDocument
from .files import file_download

PAGE_SIZE = 20
HOME_OPEN_CALLS = 12


def _annotate_countdown(calls, now):
    """Days left until each call closes (rounded up), and whether it is open now."""
    for call in calls:
        call.is_open_now = call.is_open(now)
        seconds = (call.closes_at - now).total_seconds()
        call.days_left = max(math.ceil(seconds / 86400), 0)
        call.closes_today = call.is_open_now and seconds < 86400
    return calls


def _can_apply(user) -> bool:
    return bool(user.is_authenticated and user.organization_id and user.has_perm("projects.create_application"))


@require_GET
def home(request):
    now = timezone.now()
    open_qs = selectors.open_calls(now)
    open_calls = _annotate_countdown(list(open_qs[: HOME_OPEN_CALLS + 1]), now)
    return render(
        request,
        "public/home.html",
        {
            "open_calls": open_calls[:HOME_OPEN_CALLS],
            "more_open_calls": len(open_calls) > HOME_OPEN_CALLS,
            "closed_calls": list(selectors.recently_closed_calls(5)),
            "can_apply": _can_apply(request.user),
        },
    )


@require_GET
def call_list(request):
    now = timezone.now()
    form = CallFilterForm(
        request.GET or None, years=selectors.public_call_years(), programs=list(selectors.public_programs())
    )
    filters = form.filters() if request.GET else {}
    page = Paginator(selectors.public_call_list(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    _annotate_countdown(page.object_list, now)
    return render(
        request,
        "public/call_list.html",
        {"form": form, "page": page, "calls": page.object_list, "filtered": bool(filters)},
    )


@require_GET
def call_detail(request, pk):
    try:
        call = selectors.calls_visible_to(request.user).get(pk=pk)
    except Call.DoesNotExist:
        raise Http404 from None
    now = timezone.now()
    _annotate_countdown([call], now)
    is_bureau = request.user.is_authenticated and (
        request.user.is_superuser or request.user.has_role(Role.OFFICER) or request.user.has_role(Role.SUPERVISOR)
    )
    return render(
        request,
        "public/call_detail.html",
        {
            "call": call,
            "documents": list(call.documents.all()),
            "min_ratio_percent": call.min_self_funding_ratio * 100,
            "can_apply": _can_apply(request.user) and call.is_open_now,
            "is_bureau": is_bureau,
            "not_yet_open": call.state == Call.State.PUBLISHED and now < call.opens_at,
        },
    )


@require_GET
def call_document(request, pk):
    try:
        document = selectors.call_document_for_download(request.user, pk)
    except CallDocument.DoesNotExist:
        raise Http404 from None
    return file_download(document.file, filename=document.original_name, content_type=document.content_type)
