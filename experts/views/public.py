"""立项公示: the public pages of 立项 lists under 公示 (and approved after it), with the 异议 form.

No login. Only lists under 公示 or approved are shown (drafts and lists awaiting sign-off are 404); a list
shows each project's title, organisation and granted amount, never scores or experts.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError
from accounts.network import client_ip

from .. import selectors
from ..forms_rounds import ObjectionForm
from ..services import funding

PAGE_SIZE = 20
ENTRIES_PAGE_SIZE = 50


def funding_list_index(request):
    lists = selectors.public_funding_lists().annotate(
        entry_count=Count("entries", filter=Q(entries__removed_at__isnull=True))
    )
    page = Paginator(lists, PAGE_SIZE).get_page(request.GET.get("page"))
    for fl in page.object_list:
        fl.is_open = selectors.publicity_open(fl)
    return render(request, "experts/public/index.html", {"page": page})


def funding_list_detail(request, pk):
    fl = selectors.public_funding_list(pk)
    listed = selectors.funding_list_entries(fl).filter(removed_at__isnull=True)
    is_open = selectors.publicity_open(fl)
    if request.method == "POST" and not is_open:
        messages.error(request, _("不在公示期内，不能提出异议。"))
        return redirect("gongshi:detail", fl.pk)
    form = None
    if is_open:
        choices = [(e.pk, f"{e.item.title}（{e.item.organization_name}）") for e in listed]
        form = ObjectionForm(request.POST if request.method == "POST" else None, entries=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            funding.record_objection(list_id=fl.pk, name=data["name"], contact=data["contact"],
                                     content=data["content"], entry_id=data["entry"],
                                     user=request.user if request.user.is_authenticated else None,
                                     ip=client_ip(request))
        except DomainError as e:
            for message in e.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("您的异议已提交，科技局将核查处理，并通过您留下的联系方式答复。"))
            return redirect("gongshi:detail", fl.pk)
    page = Paginator(listed, ENTRIES_PAGE_SIZE).get_page(request.GET.get("page"))
    count, total = funding.list_totals(fl)
    return render(request, "experts/public/detail.html", {
        "fl": fl, "page": page, "count": count, "total": total, "is_open": is_open, "form": form,
    })
