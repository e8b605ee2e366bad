"""Load the CTCAE v5.0 term list shipped with the product (see adverse_events/data/SOURCE.md)."""

from django.db import migrations


def load(apps, schema_editor):
    from adverse_events.reference_data import load_ctcae_terms

    load_ctcae_terms(apps)


class Migration(migrations.Migration):
    dependencies = [("adverse_events", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
