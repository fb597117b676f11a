"""Signals projects sends for apps to its right (experts, funding), which projects never imports.

application_transitioned(sender=Application, application, name, from_state, to_state, actor, reason)
    Sent inside the transition's transaction after the new state and the audit event are written.
    Receivers that do slow work must defer it with transaction.on_commit.
call_transitioned(sender=Call, call, name, from_state, to_state, actor)
    Likewise for a call (published, closed).
"""

from django.dispatch import Signal

application_transitioned = Signal()
call_transitioned = Signal()
