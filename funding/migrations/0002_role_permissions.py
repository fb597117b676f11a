"""Give the bureau roles the Django-admin permissions their funding work needs.

Finance views every funding record. Officers view them all and configure the default tranche plans (拨付方案 and
their steps: view, add, change; a step may be removed); they may open a 任务书 in the admin, where it is shown
read-only (it changes through the services alone). Supervisors view. Nobody is granted to delete an agreement, a
tranche or a disbursement: money records are never deleted (the admin refuses it even to superusers).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ALL_VIEW = {"fundingscheme": "v", "schemetranche": "v", "taskagreement": "v", "tranche": "v", "disbursement": "v"}
GRANTS = {
    "finance": {"funding": ALL_VIEW},
    "officer": {
        "funding": {**ALL_VIEW, "taskagreement": "vc", "fundingscheme": "vac", "schemetranche": "vacd"},
    },
    "supervisor": {"funding": ALL_VIEW},
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
        ("funding", "0001_initial"),
        ("accounts", "0002_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
