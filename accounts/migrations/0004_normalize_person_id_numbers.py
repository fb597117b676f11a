"""失信 records' 证件号码 without spaces and in upper case, as every new record is stored."""

from django.db import migrations


def forwards(apps, schema_editor):
    CreditRecord = apps.get_model("accounts", "CreditRecord")
    for row in CreditRecord.objects.exclude(person_id_number="").only("pk", "person_id_number").iterator():
        value = "".join(row.person_id_number.split()).upper()
        if value != row.person_id_number:
            CreditRecord.objects.filter(pk=row.pk).update(person_id_number=value)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_state_labels")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
