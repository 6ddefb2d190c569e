"""The churn state moves from the wide customer table to customers_customerchurn (issue 10)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_customer_churn_score_salesteam_retention_queue_and_more'),
        ('tenancy', '0005_deadletter_jobstate'),
    ]

    operations = [
        migrations.AlterField(
            model_name='churnalert',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='churn_alerts', to='customers.customer', verbose_name='customer'),
        ),
        migrations.CreateModel(
            name='CustomerChurn',
            fields=[
                ('customer', models.OneToOneField(db_column='id', on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='churn', serialize=False, to='customers.customer', verbose_name='customer')),
                ('risk', models.CharField(blank=True, choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High')], max_length=10, verbose_name='churn risk')),
                ('score', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='churn risk score')),
                ('reasons', models.JSONField(blank=True, default=list, verbose_name='reasons')),
                ('scored_at', models.DateTimeField(blank=True, null=True, verbose_name='score last changed')),
                ('tenant', models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.tenant')),
            ],
            options={
                'verbose_name': 'customer churn state',
                'verbose_name_plural': 'customer churn states',
                'indexes': [models.Index(fields=['tenant', 'risk'], name='customerchurn_risk')],
            },
        ),
        # Score changes rewrite a row in place (a HOT update) when its page has room.
        migrations.RunSQL("ALTER TABLE customers_customerchurn SET (fillfactor = 90)",
                          "ALTER TABLE customers_customerchurn RESET (fillfactor)"),
        # No row means low with no reasons, so only the other states are copied.
        migrations.RunSQL(
            """INSERT INTO customers_customerchurn (id, tenant_id, risk, score, reasons, scored_at)
               SELECT id, tenant_id, churn_risk, churn_score, churn_reasons, churn_scored_at
               FROM customers_customer
               WHERE churn_risk <> '' AND NOT (churn_risk = 'low' AND coalesce(churn_score, 0) = 0
                                               AND churn_reasons = '[]'::jsonb)""",
            """UPDATE customers_customer c SET churn_risk = n.risk, churn_score = n.score,
                                              churn_reasons = n.reasons, churn_scored_at = n.scored_at
               FROM customers_customerchurn n WHERE n.id = c.id"""),
        migrations.RemoveField(
            model_name='customer',
            name='churn_reasons',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='churn_risk',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='churn_score',
        ),
        migrations.RemoveField(
            model_name='customer',
            name='churn_scored_at',
        ),
    ]
