"""Hooks that apps to the right of projects register, so projects can show what they hold without importing them.

``register_agreement_terms(provider)``: ``provider(project)`` returns the project's agreed terms as
``AgreedTerms`` (the targets and the budget by category of its signed 任务书, and what has been paid) or ``None`` when there are none
yet. funding registers it; the checkpoint reports (中期报告, 验收申请) are measured against these terms, and fall
back to the application's targets and budget when no provider answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class AgreedTerms:
    #: [{"kind", "indicator", "target_value", "unit"}]
    targets: list[dict] = field(default_factory=list)
    #: category ("equipment", "business", "labour") → (fiscal 元, self-raised 元)
    budget: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: the fiscal funds paid to the project so far (approved, net of reversals), or None when not known
    paid: Decimal | None = None


_providers: list[Callable] = []


def register_agreement_terms(provider: Callable) -> None:
    if provider not in _providers:
        _providers.append(provider)


def agreed_terms(project) -> AgreedTerms | None:
    for provider in _providers:
        terms = provider(project)
        if terms is not None:
            return terms
    return None
