"""Reference data present after migrate: see enrollment/reference_data.py."""

from django.db import migrations


def seed(apps, schema_editor):
    from enrollment.reference_data import seed_reference_data

    seed_reference_data(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0001_initial"),
        ("study", "0002_studyparameters_subject_enrolled_at"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
