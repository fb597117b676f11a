"""Signals that accounts sends for apps to its right (activity) to react to.

organization_registered(sender=Organization, organization, admin_user)
    A new organisation and its first 单位管理员 registered; the bureau must verify it.
organization_state_changed(sender=Organization, organization, from_state, to_state, actor, reason)
    Sent inside the transition's transaction once the new state is written.
"""

from django.dispatch import Signal

organization_registered = Signal()
organization_state_changed = Signal()
