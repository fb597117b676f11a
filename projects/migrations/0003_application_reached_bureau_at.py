from django.db import migrations, models
from django.db.models import Min


def backfill(apps, schema_editor):
    """Applications endorsed before this field existed: the time of their first 'endorse' audit event."""
    Application = apps.get_model("projects", "Application")
    AuditEvent = apps.get_model("activity", "AuditEvent")
    ContentType = apps.get_model("contenttypes", "ContentType")
    ct = ContentType.objects.filter(app_label="projects", model="application").first()
    if ct is None:
        return
    first_endorsed = (
        AuditEvent.objects.filter(target_type=ct, verb="endorse")
        .values("target_id")
        .annotate(at=Min("created_at"))
    )
    for row in first_endorsed.iterator():
        Application.objects.filter(pk=int(row["target_id"]), reached_bureau_at__isnull=True).update(
            reached_bureau_at=row["at"]
        )
    # States only reachable through an endorsement, without an event on file: the best time we have.
    for app in Application.objects.filter(
        reached_bureau_at__isnull=True, state__in=["endorsed", "accepted", "returned", "rejected"]
    ).only("pk", "submitted_at", "decided_at", "updated_at"):
        app.reached_bureau_at = app.submitted_at or app.decided_at or app.updated_at
        app.save(update_fields=["reached_bureau_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_role_permissions"),
        ("activity", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="reached_bureau_at",
            field=models.DateTimeField(
                blank=True, help_text="首次通过单位审核的时间；此后科技局可见", null=True, verbose_name="报送科技局时间"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
