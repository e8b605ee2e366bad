"""Open soft findings already in the database become automatic queries (issue 12).

From this release on, data_management.auto_queries raises an automatic query when a
finding opens; the findings opened before it (crf.CheckFinding, status open, with no
query) get theirs here: origin automatic, the finding's check code, message, form, visit
and variable (placed as auto_queries places it), raised by the system at the finding's
time, status open, with its first thread step (RAISE, author None). Resolved findings get
none (nothing left to ask).

No audit entries are written: the subject's hash chains are not touched by the migration
(each query's RAISE step keeps when the finding was raised; the queries' later steps are
audited by the services). Running it again adds nothing (a finding with a query is
skipped). Reversing it removes nothing (query records are never deleted).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _place(finding: Any) -> tuple[str, str, str]:
    """(group, row_key, variable) as data_management.auto_queries places a finding; the
    finding's variable as it is when the form is no longer registered."""
    from data_management.auto_queries import _where

    try:
        return _where(finding)
    except Exception:  # noqa: BLE001 - a form's code changed since: keep the variable
        return "", "", finding.variable


def findings_to_queries(apps: Any, schema_editor: Any = None) -> int:
    """Create the automatic query (and its RAISE step) of every open finding that has
    none; returns how many were created."""
    CheckFinding = apps.get_model("crf", "CheckFinding")
    Query = apps.get_model("data_management", "Query")
    QueryMessage = apps.get_model("data_management", "QueryMessage")
    asked = Query.objects.filter(finding__isnull=False).values_list("finding_id", flat=True)
    findings = list(CheckFinding.objects.filter(status="open").exclude(pk__in=asked).order_by("id"))
    queries = []
    for finding in findings:
        group, row_key, variable = _place(finding)
        queries.append(
            Query(
                subject_id=finding.subject_id,
                form_code=finding.form_code,
                visit_code=finding.visit_code,
                object_model=finding.object_model,
                object_id=finding.object_id,
                group=group,
                row_key=row_key,
                variable=variable,
                origin="automatic",
                check_code=finding.check_code,
                finding_id=finding.pk,
                status="open",
                text=finding.message,
                raised_by=None,
                raised_at=finding.created_at,
            )
        )
    created = Query.objects.bulk_create(queries, batch_size=500)
    QueryMessage.objects.bulk_create(
        [
            QueryMessage(
                query_id=query.pk,
                step="raise",
                author=None,
                at=query.raised_at,
                text=query.text,
                status_after="open",
            )
            for query in created
        ],
        batch_size=500,
    )
    return len(created)


def forwards(apps: Any, schema_editor: Any) -> None:
    findings_to_queries(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("crf", "0005_alter_auditentry_action"),
        ("data_management", "0002_audit_truncate_trigger"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
