"""Officers view the checkpoint records in the admin (中期报告, 验收申请, their attachments, 延期申请) and hold change on
the ones the bureau acts on (every change still goes through the services: the admin itself is read-only, and its
one batch action approves extension requests); supervisors view them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "officer": {"projects": {
        "midtermreport": "vc", "acceptancereport": "vc", "extensionrequest": "vc", "checkpointattachment": "v",
    }},
    "supervisor": {"projects": {
        "midtermreport": "v", "acceptancereport": "v", "extensionrequest": "v", "checkpointattachment": "v",
    }},
}
VERBS = {"v": "view", "a": "add", "c": "change"}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("projects")
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
        ("projects", "0012_checkpoints"),
        ("accounts", "0002_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
