import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("adverse_events", "0003_ae_dv_sae"),
    ]

    operations = [
        migrations.AddField(
            model_name="saereport",
            name="serious_since",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the AE was first saved as serious (again, after a closed report).",
                verbose_name="saved as serious",
            ),
            preserve_default=False,
        ),
    ]
