"""Money is exact to the fen: stored as integer 分, summed in SQL as integers, shown as 元."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.exceptions import InvalidInput
from accounts.fields import MoneyField, fmt_wan, fmt_yuan, to_yuan
from projects import selectors, services
from projects.models import BudgetLine
from projects.tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def test_budget_totals_are_exact_to_the_fen(draft_app, applicant):
    services.set_budget(actor=applicant, application_id=draft_app.pk, lines={
        "equipment": {"fiscal_amount": "0.10", "self_amount": "0.20"},
        "business": {"fiscal_amount": "0.20", "self_amount": "0.10"},
        "labour": {"fiscal_amount": "1234567.89", "self_amount": "0.01"},
    })
    app = selectors.application_list(applicant).get(pk=draft_app.pk)
    assert app.fiscal_total == Decimal("1234568.19")
    assert app.self_total == Decimal("0.31")
    assert isinstance(app.fiscal_total, Decimal)
    assert services.budget_totals(app) == (Decimal("1234568.19"), Decimal("0.31"))


def test_many_small_amounts_sum_exactly(applicant, org, open_call):
    apps = [ApplicationFactory(call=open_call, organization=org, created_by=applicant, budget=False) for _ in range(3)]
    for app in apps:
        BudgetLine.objects.create(application=app, category="business", fiscal_amount=Decimal("0.10"),
                                  self_amount=Decimal("0.20"))
    from django.db.models import Sum

    total = BudgetLine.objects.filter(application__in=apps).aggregate(f=Sum("fiscal_amount"), s=Sum("self_amount"))
    assert total == {"f": Decimal("0.30"), "s": Decimal("0.60")}


def test_large_amounts_keep_every_fen(draft_app, applicant):
    services.set_budget(actor=applicant, application_id=draft_app.pk, lines={
        "equipment": {"fiscal_amount": "9999999999999.99", "self_amount": "0.01"},
    })
    line = BudgetLine.objects.get(application=draft_app)
    assert line.fiscal_amount == Decimal("9999999999999.99")
    assert line.total == Decimal("10000000000000.00")


@pytest.mark.parametrize("bad", ["0.001", "12.345", "abc", "NaN", "Infinity"])
def test_amounts_finer_than_a_fen_or_invalid_are_refused_and_nothing_changes(bad, draft_app, applicant):
    before = list(BudgetLine.objects.filter(application=draft_app).values_list("category", "fiscal_amount"))
    with pytest.raises(InvalidInput):
        services.set_budget(actor=applicant, application_id=draft_app.pk,
                            lines={"equipment": {"fiscal_amount": bad, "self_amount": "0"}})
    after = list(BudgetLine.objects.filter(application=draft_app).values_list("category", "fiscal_amount"))
    assert before == after


def test_negative_amount_refused(draft_app, applicant):
    with pytest.raises(InvalidInput, match="不能为负数"):
        services.set_budget(actor=applicant, application_id=draft_app.pk,
                            lines={"equipment": {"fiscal_amount": "-1.00", "self_amount": "0"}})


def test_unknown_budget_category_refused(draft_app, applicant):
    with pytest.raises(InvalidInput, match="未知的预算科目"):
        services.set_budget(actor=applicant, application_id=draft_app.pk, lines={"travel": {"fiscal_amount": "1"}})


def test_money_field_round_trip_and_formatting():
    field = MoneyField()
    assert field.get_prep_value(Decimal("12.30")) == 1230
    assert field.get_prep_value("0.07") == 7
    assert field.from_db_value(1230, None, None) == Decimal("12.30")
    assert to_yuan(3) == Decimal("3.00")
    with pytest.raises(ValidationError):
        field.get_prep_value("0.005")
    assert fmt_yuan(Decimal("1234567.5")) == "1,234,567.50"
    assert fmt_wan(Decimal("1234567.50")) == "123.46"
    assert fmt_wan(Decimal("50")) == "0.01"


@pytest.mark.parametrize("huge", ["1e26", "1000000000000000", "-1e30"])
def test_absurd_amounts_are_refused_not_crashing(huge, draft_app, applicant):
    with pytest.raises(InvalidInput, match="超出允许范围"):
        services.set_budget(actor=applicant, application_id=draft_app.pk,
                            lines={"equipment": {"fiscal_amount": huge, "self_amount": "0"}})
