"""The notification inbox: list, mark one read (and follow its link), mark all read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import Notification
from .selectors import inbox_for
from .services import mark_read

PAGE_SIZE = 20


def _safe(request, url: str) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return None


@login_required
def inbox_list(request):
    unread_only = request.GET.get("filter") == "unread"
    qs = inbox_for(request.user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "activity/inbox.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def read(request, pk):
    try:
        notification = inbox_for(request.user).get(pk=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    mark_read(user=request.user, notification_ids=[notification.pk])
    # "标为已读" sends next (stay on the inbox page); "查看" follows the notification's link.
    target = _safe(request, request.POST.get("next", "")) or _safe(request, notification.link)
    return redirect(target or reverse("inbox:list"))


@login_required
@require_POST
def read_all(request):
    n = mark_read(user=request.user)
    if n:
        messages.success(request, _("已将 %(n)d 条消息标为已读。") % {"n": n})
    else:
        messages.info(request, _("没有未读消息。"))
    return redirect(_safe(request, request.POST.get("next", "")) or reverse("inbox:list"))
