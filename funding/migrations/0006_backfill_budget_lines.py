"""Budget lines (任务书预算) for the agreements drafted before they existed, the way ``draft_agreement`` makes them: a
call project's from its application (the fiscal lines scaled to the agreement's fiscal amount, the self-raised to its
self-raised amount; all of it in 业务费 when the application has nothing to weigh by), a 揭榜 project's as one 业务费
line. The split is copied here (a migration must not change when the services do)."""

from decimal import ROUND_DOWN, Decimal

from django.db import migrations

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CATEGORIES = ("equipment", "business", "labour")


def _split(total, weights):
    weight_sum = sum(weights, Decimal(0))
    exact = [total * w / weight_sum for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(parts, Decimal(0))) / CENT)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += CENT
    return parts


def _scale(total, weights):
    w = [weights.get(c) or ZERO for c in CATEGORIES]
    if sum(w, Decimal(0)) <= 0:
        return {c: (total if c == "business" else ZERO) for c in CATEGORIES}
    if sum(w, Decimal(0)) == total:
        return dict(zip(CATEGORIES, w, strict=True))
    return dict(zip(CATEGORIES, _split(total, w), strict=True))


def backfill(apps, schema_editor):
    TaskAgreement = apps.get_model("funding", "TaskAgreement")
    AgreementBudgetLine = apps.get_model("funding", "AgreementBudgetLine")
    BudgetLine = apps.get_model("projects", "BudgetLine")
    agreements = TaskAgreement.objects.filter(budget_lines__isnull=True).select_related("project").order_by("id")
    for agreement in agreements.iterator(chunk_size=500):
        project = agreement.project
        if project.application_id is None:
            budget = {"business": (agreement.fiscal_amount, agreement.self_amount)}
        else:
            lines = list(BudgetLine.objects.filter(application_id=project.application_id))
            f = _scale(agreement.fiscal_amount, {line.category: line.fiscal_amount for line in lines})
            s = _scale(agreement.self_amount, {line.category: line.self_amount for line in lines})
            budget = {c: (f[c], s[c]) for c in CATEGORIES}
        AgreementBudgetLine.objects.bulk_create([
            AgreementBudgetLine(agreement=agreement, category=c, fiscal_amount=fiscal, self_amount=own)
            for c, (fiscal, own) in budget.items()
        ])


class Migration(migrations.Migration):

    dependencies = [
        ("funding", "0005_budget_and_subsidy"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
