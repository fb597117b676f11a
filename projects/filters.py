"""django-filter filter sets of the API. They narrow a selector's queryset; they never widen it."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Application, Call

# Database ids are 64-bit signed integers; anything outside is bad input (400), not a query that
# overflows (SQLite raises OverflowError on a larger Python int).
MAX_ID = 2**63 - 1
MAX_YEAR = 32767  # PositiveSmallIntegerField


class IdFilter(django_filters.NumberFilter):
    """An id in 1..2^63-1: ``1e30``, ``1.5`` or a 20-digit number is a 400 with the reason, never a 500."""

    field_class = forms.IntegerField
    bounds = (1, MAX_ID)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", self.bounds[0])
        kwargs.setdefault("max_value", self.bounds[1])
        super().__init__(*args, **kwargs)


class YearFilter(IdFilter):
    bounds = (1, MAX_YEAR)


class CallFilter(django_filters.FilterSet):
    program = django_filters.CharFilter(field_name="program__code", lookup_expr="iexact", label=_("计划代码"))
    year = YearFilter(field_name="year", label=_("年度"))
    state = django_filters.ChoiceFilter(field_name="state", choices=Call.State.choices, label=_("状态"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("当前是否在申报期内"))

    class Meta:
        model = Call
        fields = ["program", "year", "state", "open"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        now = timezone.now()
        is_open = Q(state=Call.State.PUBLISHED, opens_at__lte=now, closes_at__gt=now)
        return queryset.filter(is_open) if value else queryset.exclude(is_open)


class ApplicationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=Application.State.choices, label=_("状态"))
    call = IdFilter(field_name="call_id", label=_("申报指南 ID"))
    year = YearFilter(field_name="call__year", label=_("年度"))
    program = django_filters.CharFilter(field_name="call__program__code", lookup_expr="iexact", label=_("计划代码"))
    organization = IdFilter(field_name="organization_id", label=_("申报单位 ID"))

    class Meta:
        model = Application
        fields = ["state", "call", "year", "program", "organization"]
