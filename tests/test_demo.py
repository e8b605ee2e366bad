"""The demo study of `make run`, as a new user meets it (issue 10: items 4 and 9, "Done when").

`seed_demo` runs once for the module (it takes a while) inside a transaction that is rolled
back at the end, so no other test sees its data. The demo must look like a well-run study on
whatever day it is built: nothing dated after today, every held visit with its forms, the
subjects' statuses following their data, a worklist with only a few deliberate gaps.
The plan behind it on later days: tests/outcomes/test_demo_plan.py.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from crf import registry
from crf.models import FormStatus, Visit, VisitKind
from crf.partial_dates import parse_partial_date
from outcomes.management.commands import seed_demo
from study import protocol
from study.models import StudyParameters, Subject
from visits.models import Exposure
from visits.worklist import WorkKind, build_worklist

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]

TODAY = timezone.localdate()  # the server's (UTC): no date of the demo after it
SITE_TODAY = seed_demo.demo_days()[0]  # what the demo sites' pages show (Asia/Shanghai)


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The demo study, built once for the module and rolled back after it."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# The test settings add a small CRF app whose form XX belongs to cycle visits: not the demo's.
TEST_FORMS = {s.code for s in registry.all_forms() if s.model._meta.app_label == "crftest"}


def _missing(item: Any) -> list[tuple[str, bool]]:
    """A worklist item's missing forms (code, in progress), the test app's left out."""
    return [(m.code, m.in_progress) for m in item.missing if m.code not in TEST_FORMS]


def _user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def _dates(spec: registry.FormSpec, record: Any, variables: Any) -> Iterator[tuple[str, dt.date]]:
    for variable in variables:
        value = getattr(record, variable.field_name)
        if value in (None, "") or variable.name in spec.future_dates:
            continue
        if variable.is_date:
            yield variable.name, value
        elif variable.is_partial_date:
            yield variable.name, parse_partial_date(str(value)).earliest


def test_demo_holds_no_date_after_today() -> None:
    future = []
    for spec in registry.all_forms():
        for record in spec.model.objects.filter(is_deleted=False):
            for name, value in _dates(spec, record, spec.variables):
                if value > TODAY:
                    future.append((str(record.subject), spec.code, name, value))
            for group in spec.groups:
                rows = group.model.objects.filter(form=record, is_deleted=False)  # type: ignore[misc]
                for row in rows:
                    for name, value in _dates(spec, row, group.variables):
                        if value > TODAY:
                            future.append((str(record.subject), spec.code, name, value))
    held_later = list(Visit.objects.filter(held_on__gt=TODAY).values_list("code", "held_on"))

    assert (future, held_later) == ([], [])


def test_demo_study_is_at_its_cap_with_every_screening_state() -> None:
    statuses = Counter(Subject.objects.values_list("status", flat=True))
    enrolled = Subject.objects.filter(subject_id__isnull=False).count()

    assert enrolled == StudyParameters.objects.current().target_enrolment == 28
    assert (statuses["screen_failed"], statuses["screening"], statuses["died"]) == (5, 2, 2)
    assert statuses["on_treatment"] + statuses["follow_up"] + statuses["died"] == 28


def test_demo_statuses_follow_end_of_treatment_and_death() -> None:
    from outcomes.models import Death, EndOfTreatment

    ended = set(EndOfTreatment.objects.filter(is_deleted=False).values_list("subject", flat=True))
    died = set(Death.objects.filter(is_deleted=False).values_list("subject", flat=True))
    by_status = {
        status: set(Subject.objects.filter(status=status).values_list("pk", flat=True))
        for status in ("on_treatment", "follow_up", "died")
    }

    assert by_status["died"] == died
    assert by_status["follow_up"] == ended - died
    assert by_status["on_treatment"].isdisjoint(ended)
    assert len(by_status["follow_up"]) >= 5


def test_demo_dashboard_counts_subjects_by_status_and_outcomes_count_two_deaths() -> None:
    from enrollment.dashboard import enrolment_dashboard
    from outcomes.study import enrolled_subjects, study_outcomes, study_summary

    dashboard = enrolment_dashboard(_user("studycoord"))
    counts = {row.status: row.count for row in dashboard.statuses}
    outcomes = study_outcomes(enrolled_subjects(Subject.objects.all()), today=TODAY)
    summary = study_summary(outcomes)

    assert counts == dict(Counter(Subject.objects.values_list("status", flat=True))) | {
        status: counts[status] for status in counts if counts[status] == 0
    }
    assert counts["died"] == summary.os.events == 2
    assert counts["on_treatment"] > 10
    censored_later = [
        o.subject_id for o in outcomes if o.result.os.date and o.result.os.date > TODAY
    ]
    assert censored_later == []


def test_demo_worklist_has_one_recently_overdue_visit() -> None:
    worklist = build_worklist(_user("datamanager"), today=SITE_TODAY)
    overdue = [item for item in worklist.items if item.kind == WorkKind.OVERDUE]

    assert [(i.visit.subject.site.number, i.visit.kind) for i in overdue] == [
        ("01", VisitKind.CYCLE)
    ]
    assert 1 <= overdue[0].days_overdue <= 10


def _being_dosed(item: Any) -> bool:
    """The EX of a cycle still being dosed: entered at the visit, complete after its last
    dosing day (visits.demo)."""
    last_dosing_day = item.visit.planned_date + dt.timedelta(
        days=protocol.DOSING_DAYS_PER_CYCLE - 1
    )
    return _missing(item) == [("EX", True)] and last_dosing_day >= TODAY


def test_demo_forms_missing_on_the_worklist_are_the_cycles_being_dosed_and_one_lab() -> None:
    worklist = build_worklist(_user("datamanager"), today=SITE_TODAY)
    missing = [
        item
        for item in worklist.items
        if item.kind == WorkKind.MISSING
        and _missing(item)
        and item.visit.kind != VisitKind.END_OF_TREATMENT  # see the test of EOT visits below
    ]
    other = [
        (i.visit.subject.site.number, [code for code, _started in _missing(i) if code != "EX"])
        for i in missing
        if not _being_dosed(i)
    ]

    assert other == [("02", ["LB", "CP"])]
    per_site = Counter(i.visit.subject.site.number for i in missing)
    assert max(per_site.values()) <= 8


def test_demo_held_visits_have_their_forms_but_the_one_lab_gap() -> None:
    gaps = []
    for visit in Visit.objects.filter(held_on__isnull=False).exclude(
        kind=VisitKind.END_OF_TREATMENT
    ):
        for spec in registry.forms_for_visit_kind(visit.kind):
            if spec.once_per_subject or spec.code in {"EX", *TEST_FORMS}:
                continue
            record = spec.model.objects.filter(visit=visit, is_deleted=False).first()
            if record is None or record.status != FormStatus.COMPLETE:
                gaps.append((visit.subject.site.number, visit.code, spec.code))

    assert len(gaps) == 2
    assert {(site, form) for site, _code, form in gaps} == {("02", "LB"), ("02", "CP")}


def test_demo_end_of_treatment_visits_have_their_assessments() -> None:
    incomplete = []
    for visit in Visit.objects.filter(kind=VisitKind.END_OF_TREATMENT, held_on__isnull=False):
        for spec in registry.forms_for_visit_kind(visit.kind):
            if spec.code in TEST_FORMS:
                continue
            record = spec.model.objects.filter(visit=visit, is_deleted=False).first()
            if record is None or record.status != FormStatus.COMPLETE:
                incomplete.append((visit.subject.subject_id, spec.code))

    assert incomplete == []


def test_demo_has_one_overdue_sae_report_at_site_01_and_one_completed_on_time() -> None:
    from adverse_events.models import SaeReport

    reports = SaeReport.objects.select_related("subject__site").order_by("due_at")
    now = timezone.now()
    overdue = [r.subject.site.number for r in reports.overdue(now)]
    complete = [r for r in reports if r.completed_at is not None]

    assert overdue == ["01"]
    assert [r.completed_at <= r.due_at for r in complete] == [True]


def test_demo_has_one_missed_visit_with_its_reason() -> None:
    missed = list(Visit.objects.filter(missed=True).values_list("subject__site__number", "code"))
    reasons = list(Visit.objects.filter(missed=True).values_list("missed_reason", flat=True))

    assert missed == [("01", f"C{seed_demo.MISSED_CYCLE}D1")]
    assert reasons == [seed_demo.MISSED_REASON]


def test_demo_subjects_enrolled_last_have_c1d1_due_today_or_soon() -> None:
    recent = Subject.objects.filter(subject_id__isnull=False).order_by("-enrolled_at")[:2]
    c1d1 = list(
        Visit.objects.filter(subject__in=list(recent), code="C1D1")
        .order_by("planned_date")
        .values_list("planned_date", flat=True)
    )

    assert c1d1 == [SITE_TODAY, SITE_TODAY + dt.timedelta(days=2)]
    assert not Exposure.objects.filter(subject__in=list(recent)).exists()


def test_demo_doses_are_reduced_for_some_subjects_and_interrupted_for_a_few() -> None:
    reduced = set(
        Exposure.objects.filter(reduced="Y").values_list("subject__subject_id", flat=True)
    )
    interrupted = set(
        Exposure.objects.filter(interrupted="Y").values_list("subject__subject_id", flat=True)
    )

    assert len(reduced) >= 3
    assert len(interrupted) >= 1


# --- Data management (issue 12): what the monitor, the data manager and the PI find ---------


def test_demo_has_the_monitors_queries_in_every_state_one_on_a_lesion_measurement() -> None:
    from data_management.models import Query, QueryOrigin

    manual = Query.objects.filter(origin=QueryOrigin.MANUAL).select_related("subject")
    by_status = Counter(manual.values_list("status", flat=True))
    lesions = {
        (q.subject.label, q.status)
        for q in manual.filter(form_code="TA", group="TL", variable="TLDIAM")
    }

    assert by_status == {"open": 2, "answered": 1, "closed": 1}
    assert set(manual.values_list("raised_by__username", flat=True)) == {"monitor"}
    assert lesions == {("01-001", "closed"), ("01-002", "answered")}
    assert {q.subject.label for q in manual.filter(status="open")} == {"01-003", "02-001"}


def test_demo_lesion_queries_were_answered_after_a_correction_with_its_reason() -> None:
    from crf.models import AuditEntry
    from data_management.models import Query

    for query in Query.objects.filter(form_code="TA", origin="manual"):
        steps = list(query.messages.order_by("at", "id").values_list("step", "author__username"))
        corrections = AuditEntry.objects.filter(
            subject_id=query.subject_id,
            visit_code=query.visit_code,
            form_code="TA",
            group="TL",
            row_key=query.row_key,
            variable="TLDIAM",
            reason_code="QUERY_RESPONSE",
        )
        expected = [("raise", "monitor"), ("answer", "investigator")]
        if query.status == "closed":
            expected.append(("close", "monitor"))
        assert steps == expected
        assert list(corrections.values_list("actor__username", flat=True)) == ["investigator"]


def test_demo_automatic_queries_come_from_soft_findings() -> None:
    from crf.models import CheckFinding
    from data_management.models import Query

    automatic = Query.objects.filter(origin="automatic")

    assert automatic.exists()
    assert set(automatic.values_list("finding_id", flat=True)) <= set(
        CheckFinding.objects.values_list("pk", flat=True)
    )


def test_demo_sdv_has_progress_at_both_sites_more_at_site_01() -> None:
    from data_management import sdv_selectors
    from data_management.models import Query

    by_site = {
        number: sdv_selectors.total(
            sdv_selectors.progress(Subject.objects.filter(site__number=number))
        )
        for number in ("01", "02", "03")
    }
    closed = Query.objects.get(origin="manual", status="closed")
    ta = registry.get("TA").model.objects.get(pk=closed.object_id)

    assert by_site["01"].values_verified > by_site["02"].values_verified > 0
    assert by_site["01"].forms_verified > by_site["02"].forms_verified > 0
    assert by_site["03"].values_verified == 0
    assert sdv_selectors.form_state(registry.get("TA"), ta).complete  # verified once closed


def test_demo_has_one_valid_visit_signature_and_one_invalidated_by_a_correction() -> None:
    from data_management import signatures
    from data_management.models import Signature

    valid = Signature.objects.get(invalidated_at__isnull=True)
    invalidated = Signature.objects.get(invalidated_at__isnull=False)
    queue = signatures.signing_queue(Subject.objects.filter(site__number="01"))
    invalidated_in_queue = [
        (row.subject.label, visit.code)
        for row in queue
        for visit in row.visits
        if visit.state == "invalidated"
    ]

    assert list(
        Signature.objects.filter(pk=valid.pk).values_list(
            "subject__subject_id", "scope", "visit__code", "signer__username"
        )
    ) == [("01-001", "visit", "SCR", "investigator")]
    assert signatures.matching(valid.subject, [valid]) == {valid.pk: True}
    assert invalidated.subject.label == "01-002"
    assert signatures.invalidation_text(invalidated).startswith(
        "Signature invalidated by the change of"
    )
    assert invalidated_in_queue == [("01-002", getattr(invalidated.visit, "code", None))]


def test_demo_has_no_lock_and_an_intact_audit_trail() -> None:
    from data_management.models import Lock

    out = io.StringIO()
    call_command("verify_audit", stdout=out)

    assert not Lock.objects.exists()
    assert "Audit trail intact" in out.getvalue()
