"""MoneyField: 元 in Python (Decimal, 2 places), integer 分 in the database.

Sums are integer sums in every database, so SQLite never adds money as floats; a value with
fractions of a fen is refused rather than rounded.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core import exceptions
from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
# 一千万亿元: far above any budget, far below the BIGINT limit of the fen column.
MAX_YUAN = Decimal("1000000000000000")


def to_yuan(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise exceptions.ValidationError(_("请输入有效的金额。"), code="invalid_money") from None
    if not amount.is_finite():
        raise exceptions.ValidationError(_("请输入有效的金额。"), code="invalid_money")
    if amount.copy_abs() >= MAX_YUAN:  # (abs() rounds in the context: 1e999999999 would overflow)
        raise exceptions.ValidationError(_("金额超出允许范围。"), code="money_range")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise exceptions.ValidationError(_("金额最多精确到分（两位小数）。"), code="money_precision")
    return amount.quantize(CENT)


def fmt_yuan(value) -> str:
    """1234567.5 → '1,234,567.50'."""
    return "" if value is None else f"{Decimal(value):,.2f}"


def fmt_wan(value) -> str:
    """元 → 万元 with 2 places: 1234567.50 → '123.46'."""
    return "" if value is None else f"{(Decimal(value) / 10000).quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


class MoneyField(models.BigIntegerField):
    description = _("金额（元，按分存储）")

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    def to_python(self, value):
        return to_yuan(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return None
        if hasattr(value, "resolve_expression"):
            return value
        return int(to_yuan(value) * 100)

    def formfield(self, **kwargs):
        defaults = {"form_class": forms.DecimalField, "max_digits": 16, "decimal_places": 2}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)

    @property
    def validators(self):
        # The integer range applies to fen, not to the Decimal yuan value: skip IntegerField's.
        return list(self._validators) + list(self.default_validators)
