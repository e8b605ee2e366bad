import datetime as dt

from django.db import migrations, models


def add_28_rows(apps, schema_editor):
    """The 28 rows the bare read lists (the study's size)."""
    Row = apps.get_model("bench_baseline", "Row")
    Row.objects.bulk_create(
        Row(name=f"Row {i:02d}", value=i, recorded_on=dt.date(2026, 1, 1) + dt.timedelta(days=i))
        for i in range(1, 29)
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Row",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("value", models.IntegerField()),
                ("recorded_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(add_28_rows, migrations.RunPython.noop),
    ]
