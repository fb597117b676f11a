"""Give the bureau roles the Django-admin permissions their work needs (officers work in the admin)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "officer": {
        "accounts": {"organization": "vc", "creditrecord": "vac", "user": "v"},
        "activity": {"auditevent": "v", "notification": "v"},
        "projects": {
            "program": "vac",
            "call": "vac",
            "calldocument": "vac",
            "application": "v",
            "attachment": "v",
            "applicationversion": "v",
            "formalreview": "v",
            "budgetline": "v",
            "teammember": "v",
            "performancetarget": "v",
            "partner": "v",
        },
    },
    "supervisor": {
        "accounts": {"organization": "v", "creditrecord": "v"},
        "activity": {"auditevent": "v"},
        "projects": {"program": "v", "call": "v", "application": "v", "formalreview": "v"},
    },
}
VERBS = {"v": "view", "a": "add", "c": "change"}


def grant(apps, schema_editor):
    for app_label in ("accounts", "activity", "projects"):
        app_config = apps.get_app_config(app_label)
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
        ("projects", "0001_initial"),
        ("activity", "0001_initial"),
        ("accounts", "0002_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
