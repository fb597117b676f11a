# The deadline sweeper (funding.obligations) reads the open rows by state and date.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('funding', '0007_budget_subsidy_permissions'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='budgetadjustment',
            index=models.Index(fields=['state', 'requested_at'], name='budget_adjustment_queue'),
        ),
        migrations.AddIndex(
            model_name='postsubsidyclaim',
            index=models.Index(fields=['state', 'submitted_at'], name='subsidy_claim_queue'),
        ),
        migrations.AddIndex(
            model_name='recoveryorder',
            index=models.Index(fields=['state', 'due_date'], name='recovery_state_due'),
        ),
        migrations.AddIndex(
            model_name='taskagreement',
            index=models.Index(fields=['state', 'created_at'], name='agreement_state_created'),
        ),
    ]
