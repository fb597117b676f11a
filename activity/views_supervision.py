"""督办: the board of overdue obligations (activity.models.Escalation) for 局领导, 业务处室 and the staff.

The sweeper opens an item when a deadline passes and raises it to 黄牌 and 红牌; this page lists the open ones,
红牌 first and then the oldest deadline, with how long each has been overdue and at its level. Everybody else
(organisations, experts) gets 404, as on the other office pages. A fixed number of queries whatever the rows.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .deadlines import days_between, due_text, kind_label, last_day, registry
from .selectors import BOARD_LEVELS, RESOLVED_DAYS, escalation_counts, supervision_board

PAGE_SIZE = 30
TABS = {"open": _("督办中"), "resolved": _("已解除")}


class BoardFilterForm(forms.Form):
    level = forms.ChoiceField(label=_("级别"), required=False)
    kind = forms.ChoiceField(label=_("期限类型"), required=False)
    org = forms.CharField(label=_("单位"), required=False, max_length=100,
                          widget=forms.TextInput(attrs={"placeholder": _("单位或责任方名称")}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [(value, label) for value, (label, _levels) in BOARD_LEVELS.items()]
        kinds = sorted(((code, str(kind.label)) for code, kind in registry().items()), key=lambda c: c[1])
        self.fields["kind"].choices = [("", _("全部类型")), *kinds]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm" if isinstance(
                field, forms.ChoiceField) else "form-control form-control-sm"

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "level": data.get("level") or "active",
            "kind": data.get("kind") or "",
            "organization": (data.get("org") or "").strip(),
        }


@login_required
@require_GET
def board(request):
    tab = request.GET.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    form = BoardFilterForm(request.GET if any(k in request.GET for k in ("level", "kind", "org")) else None)
    filters = form.filters()
    now = timezone.now()
    qs = supervision_board(request.user, resolved=tab == "resolved", now=now, **filters)
    if qs is None:
        raise Http404
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for e in rows:
        e.kind_label = kind_label(e.kind)
        end = timezone.localtime(e.resolved_at or now).date()
        e.due_label = due_text(e.due_at)
        e.not_due = e.resolved_at is None and now < e.due_at  # swept ahead (sweep_deadlines --days) or moved
        e.days_overdue = days_between(last_day(e.due_at), end)
        e.days_at_level = days_between(timezone.localtime(e.level_at).date(), end)
    return render(request, "activity/board.html", {
        "tab": tab,
        "tabs": list(TABS.items()),
        "form": form,
        "filters": filters,
        "filtered": bool(filters["kind"] or filters["organization"] or filters["level"] != "active"),
        "counts": escalation_counts(kind=filters["kind"], organization=filters["organization"]),
        "page": page,
        "rows": rows,
        "resolved_days": RESOLVED_DAYS,
    })
