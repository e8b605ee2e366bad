"""The Chinese text of the 20 seed criteria of protocol version 1.0 (enrollment/reference_data.py).

Only where it is empty and the English text is still the seed's; going back leaves the texts.
"""

from django.db import migrations


def fill(apps, schema_editor):
    from enrollment.reference_data import fill_chinese_texts

    fill_chinese_texts(apps)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0003_criterion_text_zh_hans")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
