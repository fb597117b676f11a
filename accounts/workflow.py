"""The one way every state machine in kjproject changes state.

Each model declares a ``Workflow``: one transition table (name → allowed source states → target).
Its service calls ``run_transition``, which, in one transaction, locks the row (select_for_update;
on SQLite the IMMEDIATE transaction holds the write lock), checks the state *in the database*,
runs the guard, writes the new state, records the audit event, and leaves side effects to
``on_commit``. A transition from a state the table does not name is refused with a clear message.

Audit events are written by whatever recorder ``activity`` registers (``register_audit_recorder``),
because ``accounts`` may not import ``activity`` (DESIGN.md: accounts ◀── activity ◀── projects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from .exceptions import InvalidInput, TransitionRefused


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    label: str  # what the button says, translated lazily
    needs_reason: bool = False


@dataclass
class Workflow:
    """A transition table for one model's ``state`` field (or the field ``state_field`` names)."""

    model_label: str
    state_choices: type[models.TextChoices]
    transitions: dict[str, Transition] = field(default_factory=dict)
    state_field: str = "state"

    def __init__(self, model_label: str, state_choices, transitions: Iterable[Transition], state_field: str = "state"):
        self.model_label = model_label
        self.state_choices = state_choices
        self.state_field = state_field
        self.transitions = {t.name: t for t in transitions}
        valid = set(state_choices.values)
        for t in self.transitions.values():
            assert t.target in valid and t.sources <= valid, t

    def get(self, name: str) -> Transition:
        return self.transitions[name]

    def available(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def allowed(self, name: str, state: str) -> bool:
        return state in self.transitions[name].sources

    def state_label(self, state: str) -> str:
        return str(self.state_choices(state).label)

    def refuse_message(self, name: str, state: str) -> str:
        t = self.transitions[name]
        return _("当前状态为“%(state)s”，不能执行“%(action)s”。") % {
            "state": self.state_label(state),
            "action": t.label,
        }


def T(name: str, sources: Iterable[str], target: str, label, needs_reason: bool = False) -> Transition:
    return Transition(name, frozenset(sources), target, label, needs_reason)


# ---- audit recorder hook ------------------------------------------------------------------

AuditRecorder = Callable[..., Any]
_recorders: list[AuditRecorder] = []


def register_audit_recorder(recorder: AuditRecorder) -> None:
    if recorder not in _recorders:
        _recorders.append(recorder)


def record_audit(
    *, actor, verb: str, target, from_state: str = "", to_state: str = "", reason: str = "", data=None
) -> None:
    """Record an audit event through the registered recorder. Refuses to lose an event silently."""
    if not _recorders:
        raise RuntimeError("No audit recorder registered: is the 'activity' app installed?")
    for recorder in _recorders:
        recorder(
            actor=actor,
            verb=verb,
            target=target,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=data or {},
        )


def run_transition(
    *,
    workflow: Workflow,
    queryset: models.QuerySet,
    pk,
    name: str,
    actor,
    reason: str = "",
    guard: Callable[[Any], None] | None = None,
    apply: Callable[[Any], Iterable[str] | None] | None = None,
    data: dict | None = None,
    after: Callable[[Any, str], None] | None = None,
):
    """Move the row ``pk`` through transition ``name``; returns the updated instance.

    ``guard(obj)`` raises a DomainError to refuse; ``apply(obj)`` sets extra fields and returns
    their names; ``after(obj, from_state)`` runs inside the same transaction once the state is
    written (persist notifications there: their e-mails are themselves deferred to on_commit).
    """
    transition = workflow.get(name)
    reason = (reason or "").strip()
    if transition.needs_reason and not reason:
        raise InvalidInput(_("“%(action)s”必须填写理由。") % {"action": transition.label}, code="reason_required")
    with transaction.atomic():
        # of=("self",): on PostgreSQL lock only this row, not the rows of select_related joins.
        obj = queryset.select_for_update(of=("self",)).get(pk=pk)
        from_state = getattr(obj, workflow.state_field)
        if from_state not in transition.sources:
            raise TransitionRefused(workflow.refuse_message(name, from_state))
        if guard is not None:
            guard(obj)
        setattr(obj, workflow.state_field, transition.target)
        fields = {workflow.state_field}
        if apply is not None:
            fields.update(apply(obj) or ())
        if hasattr(obj, "updated_at"):
            fields.add("updated_at")
        obj.save(update_fields=sorted(fields))
        record_audit(
            actor=actor,
            verb=name,
            target=obj,
            from_state=from_state,
            to_state=transition.target,
            reason=reason,
            data=data,
        )
        if after is not None:
            after(obj, from_state)
    return obj


# ---- history provider hook ------------------------------------------------------------------

_history_provider: Callable[..., list] | None = None


def register_history_provider(provider: Callable[..., list]) -> None:
    """activity registers the function that reads an object's audit history (accounts may not import it)."""
    global _history_provider
    _history_provider = provider


def object_history(obj, workflow: Workflow | None = None) -> list:
    """The object's audit events, labelled for display (see activity.selectors.history)."""
    if _history_provider is None:
        raise RuntimeError("No history provider registered: is the 'activity' app installed?")
    return _history_provider(obj, workflow)
