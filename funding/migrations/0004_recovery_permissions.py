"""Give the bureau roles the Django-admin view permissions on recovery orders (追回单) and repayments (缴回记录).

Finance, supervisors and officers view them. Nobody is granted add, change or delete: a recovery order is opened and
its repayments recorded and approved through ``funding.services`` alone (the admin shows them read-only and refuses
deleting them even to superusers).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RECOVERY_VIEW = {"recoveryorder": "v", "repayment": "v"}
GRANTS = {
    "finance": {"funding": RECOVERY_VIEW},
    "officer": {"funding": RECOVERY_VIEW},
    "supervisor": {"funding": RECOVERY_VIEW},
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
        ("funding", "0003_recovery"),
        ("accounts", "0002_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
