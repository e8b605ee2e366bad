"""Automatic queries: each soft finding is a query raised by the system once, closed by
the system when the data no longer trigger the check, on every write path (issue 12)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from crf import audit, registry
from crf.models import AuditAction, AuditEntry, AuditSource, CheckFinding, FindingStatus, Visit
from crf.services import Reason, SubjectBatch, delete_form, recheck_findings, save_form
from data_management.auto_queries import _where, raise_automatic_queries
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus
from data_management.queries import answer_query, close_query
from enrollment.demo import screen_and_enrol
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

HIGH = "SYSBP is 170 mmHg, at or above 160: please confirm."
CLOSED_TEXT = "The data no longer trigger this check: closed by the system."
CORRECTION = Reason("TRANSCRIPTION_ERROR")


def thread(query: Query) -> list[tuple[str, str, str, str]]:
    return [
        (m.step, m.author.username if m.author else "system", m.text, m.status_after)
        for m in QueryMessage.objects.filter(query=query)
    ]


def query_audit(subject: Any) -> list[tuple[str, str, str | None, str | None, str, str]]:
    return [
        (e.actor_username, e.variable, e.old_value, e.new_value, e.reason_text, e.source)
        for e in AuditEntry.objects.filter(subject=subject, action=AuditAction.QUERY)
    ]


def chain_intact() -> bool:
    return not [p for p in audit.verify_chains() if isinstance(p, audit.ChainProblem)]


@pytest.fixture
def high(investigator: Any, subject01: Any) -> Any:
    """Form XX saved with a systolic pressure that fires the soft check SYSBP_soft_high."""
    return save_xx(investigator, subject01, systolic=170)


def test_a_soft_finding_raises_an_automatic_query(high, subject01) -> None:
    finding = CheckFinding.objects.get(object_id=high.pk, check_code="SYSBP_soft_high")

    query = Query.objects.get()

    assert (
        query.origin,
        query.check_code,
        query.finding_id,
        query.text,
        query.raised_by,
        query.status,
        query.form_code,
        query.visit_code,
        query.object_id,
        query.variable,
    ) == (
        QueryOrigin.AUTOMATIC,
        "SYSBP_soft_high",
        finding.pk,
        HIGH,
        None,
        QueryStatus.OPEN,
        "XX",
        "SCR",
        high.pk,
        "SYSBP",
    )
    assert thread(query) == [("raise", "system", HIGH, "open")]
    assert query_audit(subject01) == [("system", "SYSBP", None, "open", HIGH, AuditSource.SERVICE)]
    assert chain_intact()


def test_saving_again_raises_no_duplicate(investigator, subject01, high) -> None:
    high = save_xx(investigator, subject01, instance=high, comment="checked twice")
    high = save_xx(investigator, subject01, instance=high, systolic=175)

    query = Query.objects.get()
    assert query.status == QueryStatus.OPEN
    assert len(thread(query)) == 1


def test_correcting_the_data_closes_the_automatic_query(investigator, subject01, high) -> None:
    high = save_xx(investigator, subject01, instance=high, systolic=150)

    query = Query.objects.get()
    assert (query.status, query.closed_by) == (QueryStatus.CLOSED, None)
    assert query.closed_at is not None
    assert CheckFinding.objects.get(pk=query.finding_id).status == FindingStatus.RESOLVED
    assert thread(query) == [
        ("raise", "system", HIGH, "open"),
        ("auto_close", "system", CLOSED_TEXT, "closed"),
    ]
    assert query_audit(subject01)[-1] == (
        "system",
        "SYSBP",
        "open",
        "closed",
        CLOSED_TEXT,
        AuditSource.SERVICE,
    )
    assert chain_intact()


def test_an_answered_automatic_query_closes_when_the_data_are_corrected(
    investigator, subject01, high
) -> None:
    query = Query.objects.get()
    answer_query(actor=investigator, query=query, text="Will correct.")

    high = save_xx(investigator, subject01, instance=high, systolic=150)

    assert [step for step, *_ in thread(query)] == ["raise", "answer", "auto_close"]
    assert query_audit(subject01)[-1][2:4] == ("answered", "closed")


def test_a_finding_that_fires_again_reopens_its_query(investigator, subject01, high) -> None:
    high = save_xx(investigator, subject01, instance=high, systolic=150)
    high = save_xx(investigator, subject01, instance=high, systolic=180)

    query = Query.objects.get()
    new_finding = CheckFinding.objects.get(object_id=high.pk, status=FindingStatus.OPEN)
    reopened_text = "SYSBP is 180 mmHg, at or above 160: please confirm."
    assert (query.status, query.finding_id, query.closed_at) == ("open", new_finding.pk, None)
    assert thread(query) == [
        ("raise", "system", HIGH, "open"),
        ("auto_close", "system", CLOSED_TEXT, "closed"),
        ("reopen", "system", reopened_text, "open"),
    ]
    assert query_audit(subject01)[-1][2:4] == ("closed", "open")
    # ... and closes again when corrected again.
    high = save_xx(investigator, subject01, instance=high, systolic=140)
    assert Query.objects.get().status == QueryStatus.CLOSED


def test_a_query_closed_by_the_monitor_stays_closed(people, investigator, subject01, high) -> None:
    query = Query.objects.get()
    close_query(actor=people[Role.MONITOR], query=query, text="Confirmed in the source.")

    high = save_xx(investigator, subject01, instance=high, comment="saved again")
    high = save_xx(investigator, subject01, instance=high, systolic=150)

    assert Query.objects.count() == 1
    assert [step for step, *_ in thread(query)] == ["raise", "close"]


def test_a_new_finding_for_an_open_automatic_query_reuses_it(subject01, high) -> None:
    query = Query.objects.get()
    old = CheckFinding.objects.get(pk=query.finding_id)
    CheckFinding.objects.filter(pk=old.pk).update(status=FindingStatus.RESOLVED)
    again = CheckFinding.objects.create(
        subject=subject01,
        form_code="XX",
        visit_code="SCR",
        object_model=old.object_model,
        object_id=old.object_id,
        variable="SYSBP",
        check_code="SYSBP_soft_high",
        message="again",
    )

    with transaction.atomic():
        raise_automatic_queries([again])

    query.refresh_from_db()
    assert (Query.objects.count(), query.finding_id, query.status) == (1, again.pk, "open")
    assert len(thread(query)) == 1


def test_deleting_the_form_closes_its_automatic_queries(investigator, subject01, high) -> None:
    delete_form(
        actor=investigator,
        spec=registry.get("XX"),
        instance=high,
        reason=Reason("ENTERED_IN_ERROR"),
    )

    assert thread(Query.objects.get())[-1] == ("auto_close", "system", CLOSED_TEXT, "closed")


def test_the_import_batch_raises_automatic_queries(investigator, subject01) -> None:
    with transaction.atomic():
        batch = SubjectBatch(actor=investigator, subject=subject01, today=dt.date(2026, 11, 23))
        batch.save(
            spec=registry.get("XX"),
            visit=batch.visit("SCR"),
            values={"assessed_on": dt.date(2026, 1, 5), "systolic": 170, "diastolic": 80},
        )
        batch.finish()

    query = Query.objects.get()
    assert (query.origin, query.check_code, query.status) == (
        "automatic",
        "SYSBP_soft_high",
        "open",
    )
    assert thread(query) == [("raise", "system", HIGH, "open")]
    assert chain_intact()


def test_a_finding_on_a_group_sits_on_the_row_its_check_names(investigator, subject01) -> None:
    form = save_xx(investigator, subject01, lesions=[{"lesion_id": "L1"}, {"lesion_id": "L2"}])
    finding = CheckFinding(
        form_code="XX", object_id=form.pk, variable="LS", check_code="LS_L2_vs_TA"
    )
    unnamed = CheckFinding(form_code="XX", object_id=form.pk, variable="LS", check_code="LS_any")

    assert _where(finding) == ("LS", "L2", "")
    assert _where(unnamed) == ("LS", "", "")


# --- A real soft check of the study's forms through save_form -------------------------------

START = dt.date(2026, 3, 2)


def test_a_visit_out_of_its_window_raises_queries_closed_when_the_date_is_corrected(
    investigator, sites
) -> None:
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    c2 = Visit.objects.get(subject=subject, code="C2D1")
    late = c2.window_end + dt.timedelta(days=1)
    values = {
        "assessed_on": late,
        "systolic_bp": 120,
        "diastolic_bp": 80,
        "weight_kg": Decimal("60.0"),
        "ecog": 1,
    }
    spec = registry.get("VS")
    form = save_form(
        actor=investigator, spec=spec, subject=subject, visit=c2, values=values, complete=True
    )

    raised = Query.objects.filter(object_id=form.pk, form_code="VS").order_by("check_code")
    assert [(q.check_code, q.variable, q.visit_code, q.status) for q in raised] == [
        ("VSDAT_window", "VSDAT", "C2D1", "open"),
        ("VSDAT_window_deviation", "VSDAT", "C2D1", "open"),
    ]
    assert raised[0].text == (
        f"VSDAT {late.isoformat()} is outside the visit window "
        f"{c2.window_start.isoformat()} to {c2.window_end.isoformat()}."
    )

    save_form(
        actor=investigator,
        spec=spec,
        subject=subject,
        visit=c2,
        instance=form,
        values={"assessed_on": c2.window_end},
        complete=True,
        reason=CORRECTION,
    )

    assert [q.status for q in raised.all()] == ["closed", "closed"]
    assert chain_intact()


# --- The data migration: findings already in the database ---------------------------------


def test_the_data_migration_turns_open_findings_into_automatic_queries(subject01, high) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("data_management.migrations.0003_findings_to_queries")
    old = dict(
        subject=subject01,
        form_code="XX",
        visit_code="SCR",
        object_model="crftest.DemoVitals",
        object_id=high.pk,
    )
    # Findings written before automatic queries existed (no listener ran for them).
    before = CheckFinding.objects.create(
        **old, variable="DIABP", check_code="DIABP_old", message="An old finding."
    )
    CheckFinding.objects.create(
        **old,
        variable="XXDAT",
        check_code="XXDAT_old",
        message="Resolved already.",
        status=FindingStatus.RESOLVED,
    )
    audit_entries = AuditEntry.objects.count()

    created = migration.findings_to_queries(apps)

    assert created == 1
    query = Query.objects.get(finding=before)
    assert (
        query.origin,
        query.check_code,
        query.variable,
        query.visit_code,
        query.status,
        query.text,
        query.raised_by,
        query.raised_at,
    ) == (
        "automatic",
        "DIABP_old",
        "DIABP",
        "SCR",
        "open",
        "An old finding.",
        None,
        before.created_at,
    )
    assert thread(query) == [("raise", "system", "An old finding.", "open")]
    assert AuditEntry.objects.count() == audit_entries
    # The finding that already had its query (SYSBP) kept it; a second run adds nothing.
    assert Query.objects.count() == 2
    assert migration.findings_to_queries(apps) == 0


def test_an_ie_contradiction_raises_a_query_on_the_criterions_row(investigator, sites) -> None:
    from enrollment.demo import screen

    subject = screen(investigator, sites["01"], start=START, birth_date="1940")

    query = Query.objects.get(subject=subject, check_code="IE_IN01_vs_DM")
    assert (query.form_code, query.group, query.row_key, query.variable, query.status) == (
        "IE",
        "IE",
        "IN01",
        "",
        "open",
    )

    dm = registry.get("DM")
    save_form(
        actor=investigator,
        spec=dm,
        subject=subject,
        visit=Visit.objects.get(subject=subject, code="SCR"),
        instance=dm.model.objects.get(subject=subject),
        values={"birth_date": "1962-04"},
        complete=True,
        reason=CORRECTION,
    )
    # The IE form's checks run again (crf.services.recheck_findings, the cross-form path).
    ie = registry.get("IE")
    recheck_findings(spec=ie, instance=ie.model.objects.get(subject=subject))

    assert Query.objects.get(pk=query.pk).status == QueryStatus.CLOSED


def test_the_listener_costs_the_same_for_1_and_5_findings(investigator, subject01) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from data_management.auto_queries import findings_changed

    form = save_xx(investigator, subject01)

    def findings(prefix: str, n: int) -> list[CheckFinding]:
        return [
            CheckFinding.objects.create(
                subject=subject01,
                form_code="XX",
                visit_code="SCR",
                object_model="crftest.DemoVitals",
                object_id=form.pk,
                variable="SYSBP",
                check_code=f"{prefix}{i}",
                message=f"{prefix} {i}",
            )
            for i in range(n)
        ]

    costs = []
    for prefix, n in (("one", 1), ("five", 5)):
        opened = findings(prefix, n)
        with transaction.atomic(), CaptureQueriesContext(connection) as raised:
            findings_changed(opened, [])
        with transaction.atomic(), CaptureQueriesContext(connection) as closed:
            findings_changed([], [f.pk for f in opened])
        costs.append((len(raised), len(closed)))

    assert costs[0] == costs[1] == (6, 6)
    assert Query.objects.filter(status=QueryStatus.CLOSED).count() == 6
