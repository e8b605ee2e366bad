"""On PostgreSQL, refuse TRUNCATE of the audit trail and its chain heads in the database itself.

crf 0002 refuses UPDATE and DELETE of audit entries row by row; TRUNCATE fires no row
trigger, so a probe could empty crf_auditentry and crf_auditchain and verify_audit then read
"intact: 0 entries". A statement-level BEFORE TRUNCATE trigger on both tables refuses it,
also when it comes by CASCADE from another table. The app role (manage.py create_app_role)
has no TRUNCATE privilege anyway; this holds against the tables' owner too, who would have to
disable the trigger first (ALTER TABLE, a change of schema that the app role may not make),
and the anchors outside the database (data_management.anchors) report what was lost.

One exception, in Django's test databases only (named ``test_...``): the test framework's
``flush``, which empties every table in one TRUNCATE after a transactional test, is let
through. It is recognised by naming django_content_type as well; a TRUNCATE of the audit
tables alone is refused there as everywhere.

SQLite, the development default, has no such trigger: the hash chains and the anchors still
report a truncated trail there.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION edc_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_database() LIKE 'test\_%'
       AND position('django_content_type' IN current_query()) > 0 THEN
        RETURN NULL;  -- the test framework emptying every table (see the migration)
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS crf_auditentry_no_truncate ON crf_auditentry;
CREATE TRIGGER crf_auditentry_no_truncate
    BEFORE TRUNCATE ON crf_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION edc_audit_refuse_truncate();

DROP TRIGGER IF EXISTS crf_auditchain_no_truncate ON crf_auditchain;
CREATE TRIGGER crf_auditchain_no_truncate
    BEFORE TRUNCATE ON crf_auditchain
    FOR EACH STATEMENT EXECUTE FUNCTION edc_audit_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS crf_auditentry_no_truncate ON crf_auditentry;
DROP TRIGGER IF EXISTS crf_auditchain_no_truncate ON crf_auditchain;
DROP FUNCTION IF EXISTS edc_audit_refuse_truncate();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("data_management", "0001_initial"),
        ("crf", "0002_audit_append_only_trigger"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
