"""Give the bureau roles the Django-admin permissions their expert-review work needs.

Officers run the pool and the rounds in the admin (view/add/change what they set up; the records of a
review — draws, invitations, commitments, scores, 立项 lists, objections — only to view: those change
through the services alone). Supervisors view rounds, 立项 lists and objections.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "officer": {
        "experts": {
            "expert": "vac",
            "unavailability": "vac",
            "declaredrelation": "vac",
            "reviewround": "vac",
            "criterion": "vac",
            "panel": "vac",
            "reviewitem": "vac",
            "draw": "v",
            "assignment": "v",
            "alternate": "v",
            "commitment": "v",
            "review": "v",
            "score": "v",
            "fundinglist": "v",
            "fundinglistentry": "v",
            "objection": "v",
        },
    },
    "supervisor": {
        "experts": {"reviewround": "v", "fundinglist": "v", "fundinglistentry": "v", "objection": "v"},
    },
}
VERBS = {"v": "view", "a": "add", "c": "change"}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("experts")
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
        ("experts", "0001_initial"),
        ("accounts", "0002_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
