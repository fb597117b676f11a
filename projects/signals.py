"""Signals projects sends for apps to its right (experts, funding), which projects never imports.

application_transitioned(sender=Application, application, name, from_state, to_state, actor, reason)
    Sent inside the transition's transaction after the new state and the audit event are written.
    Receivers that do slow work must defer it with transaction.on_commit.
call_transitioned(sender=Call, call, name, from_state, to_state, actor)
    Likewise for a call (published, closed).
project_established(sender=Project, project, actor)
    A Project was created (an approved application, or a winning 揭榜 bid), inside the transaction that created it.
    funding drafts its 任务书.
checkpoint_passed(sender=Project, project, checkpoint, actor, now=None)
    A checkpoint of the project passed: ``milestone:N`` (a 揭榜 milestone), ``midterm``, or ``acceptance``; sent
    inside the transaction that concluded it, with the conclusion's time (``now``) when the sender has one. funding
    makes the tranches waiting for it due (at that time).
project_terminated(sender=Project, project, actor, reason, fault, recover, spent_fiscal, outcome, now=None)
    A project ended without passing: terminated by the bureau (``outcome`` "terminated"; ``fault``: through the
    organisation's fault), a 赛马制 team stopped ("stopped"), or a checkpoint concluded against it ("midterm_failed",
    "failed" for 验收不通过, "closed" for 结题). Sent inside the transaction. funding ends the 任务书 and cancels the
    tranches not yet paid; with ``recover`` it also opens the recovery order at once: all the fiscal funds paid when
    ``fault``, else what was paid less ``spent_fiscal`` (the fiscal spending the organisation's report declared).
    ``recover``, ``spent_fiscal`` and ``outcome`` may be absent (older senders): treat as False, None, "terminated".
"""

from django.dispatch import Signal

application_transitioned = Signal()
call_transitioned = Signal()
project_established = Signal()
checkpoint_passed = Signal()
project_terminated = Signal()
