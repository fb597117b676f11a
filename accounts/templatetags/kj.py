"""Template helpers used by every portal: money in 元 / 万元, ID masking, role checks."""

from django import template

from accounts.fields import fmt_wan, fmt_yuan
from accounts.validators import mask_id_number

register = template.Library()


@register.filter
def yuan(value):
    """1234567.5 → 1,234,567.50"""
    return fmt_yuan(value)


@register.filter
def wan(value):
    """元 → 万元, two places."""
    return fmt_wan(value)


@register.filter
def masked(value):
    return mask_id_number(value or "")


@register.filter
def has_role(user, role):
    return bool(user and user.is_authenticated and user.has_role(role))
