"""Give the bureau roles the Django-admin view permissions on the 任务书 budget lines, 预算调整 and 后补助核定.

Finance, supervisors and officers view them. Nobody is granted add, change or delete: they change only through
``funding.budget`` and ``funding.subsidy`` (the admin shows them read-only).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = {"agreementbudgetline": "v", "budgetadjustment": "v", "postsubsidyclaim": "v"}
GRANTS = {
    "finance": {"funding": VIEW},
    "officer": {"funding": VIEW},
    "supervisor": {"funding": VIEW},
}
VERBS = {"v": "view", "a": "add", "c": "change", "d": "delete"}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("funding")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_app in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, models in by_app.items():
            for model, verbs in models.items():
                codenames = [f"{VERBS[v]}_{model}" for v in verbs]
                group.permissions.add(
                    *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
                )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0006_backfill_budget_lines"),
        ("accounts", "0002_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
