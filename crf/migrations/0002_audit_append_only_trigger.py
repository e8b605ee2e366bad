"""On PostgreSQL, refuse UPDATE and DELETE on the audit trail in the database itself.

The application already refuses them (AuditEntry.save/delete, no admin); the
trigger also stops raw SQL and other clients. SQLite, the embedded development
default, has no such trigger: the hash chain (manage.py verify_audit) still
shows any edit there.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION crf_auditentry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on crf_auditentry', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS crf_auditentry_append_only ON crf_auditentry;
CREATE TRIGGER crf_auditentry_append_only
    BEFORE UPDATE OR DELETE ON crf_auditentry
    FOR EACH ROW EXECUTE FUNCTION crf_auditentry_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS crf_auditentry_append_only ON crf_auditentry;
DROP FUNCTION IF EXISTS crf_auditentry_refuse_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("crf", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
