"""证件号码 are compared without spaces and case (accounts.validators.normalize_id_number): bring rows
saved before that rule into the same form, so 多头申报 and 失信 checks match them."""

from django.db import migrations


def normalize(value: str) -> str:
    return "".join((value or "").split()).upper()


def forwards(apps, schema_editor):
    for model, field in (("Application", "leader_id_number"), ("TeamMember", "id_number")):
        Model = apps.get_model("projects", model)
        for row in Model.objects.exclude(**{field: ""}).only("pk", field).iterator():
            value = getattr(row, field)
            if normalize(value) != value:
                Model.objects.filter(pk=row.pk).update(**{field: normalize(value)})


class Migration(migrations.Migration):
    dependencies = [("projects", "0004_application_list_indexes")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
