"""What is due for a person on a chosen date: pure, no database."""

from __future__ import annotations

import datetime as dt

from notifications import due

TODAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC)


def subject(state: str = due.ACTIVE, pk: int = 1) -> due.SubjectFact:
    return due.SubjectFact(pk=pk, label=f"01-00{pk}", site_id=1, state=state)


def visit(pk: int, kind: str, target: dt.date, *, half: int = 3, **kw: object) -> due.VisitFact:
    return due.VisitFact(
        pk=pk,
        subject_pk=kw.pop("subject_pk", 1),  # type: ignore[arg-type]
        code=f"V{pk}",
        kind=kind,
        planned_date=target,
        window_start=target - dt.timedelta(days=half),
        window_end=target + dt.timedelta(days=half),
        **kw,  # type: ignore[arg-type]
    )


def kinds(items: list[due.DueItem]) -> list[tuple[str, str]]:
    return [(i.kind, i.object_key) for i in items]


def test_window_opening_within_7_days_lists_tumour_assessments_first() -> None:
    visits = [
        visit(1, due.CYCLE, TODAY + dt.timedelta(days=5)),
        visit(2, due.TUMOUR_ASSESSMENT, TODAY + dt.timedelta(days=9)),
        visit(3, due.CYCLE, TODAY + dt.timedelta(days=30)),
    ]
    items = due.due_for_person(subjects=[subject()], visits=visits, today=TODAY, now=NOW)
    assert kinds(items) == [("visit_window", "visit:2"), ("visit_window", "visit:1")]
    assert [i.days for i in items] == [6, 2]


def test_due_today_and_overdue_with_days_overdue() -> None:
    visits = [
        visit(1, due.CYCLE, TODAY),
        visit(2, due.CYCLE, TODAY - dt.timedelta(days=10)),  # window closed 7 days ago
    ]
    items = due.due_for_person(subjects=[subject()], visits=visits, today=TODAY, now=NOW)
    assert kinds(items) == [("visit_overdue", "visit:2"), ("visit_due", "visit:1")]
    assert items[0].days == 7


def test_forms_missing_after_a_held_visit_and_nothing_when_complete() -> None:
    held = TODAY - dt.timedelta(days=2)
    visits = [
        visit(1, due.CYCLE, held, held_on=held, missing_forms=2),
        visit(2, due.CYCLE, held, held_on=held, missing_forms=0),
    ]
    items = due.due_for_person(subjects=[subject()], visits=visits, today=TODAY, now=NOW)
    assert kinds(items) == [("forms_missing", "visit:1")]
    assert (items[0].count, items[0].days) == (2, 2)


def test_after_eot_tumour_assessments_stay_due_unless_progression() -> None:
    visits = [
        visit(1, due.CYCLE, TODAY),
        visit(2, due.TUMOUR_ASSESSMENT, TODAY),
        visit(3, "safety_follow_up", TODAY),
    ]
    other = due.due_for_person(
        subjects=[subject(due.FOLLOW_UP)], visits=visits, today=TODAY, now=NOW
    )
    assert kinds(other) == [("visit_due", "visit:2"), ("visit_due", "visit:3")]
    progressed = due.due_for_person(
        subjects=[subject(due.FOLLOW_UP_PROGRESSED)], visits=visits, today=TODAY, now=NOW
    )
    assert kinds(progressed) == [("visit_due", "visit:3")]


def test_after_death_or_study_end_no_visit_reminders() -> None:
    visits = [visit(1, due.TUMOUR_ASSESSMENT, TODAY), visit(2, due.CYCLE, TODAY - dt.timedelta(9))]
    items = due.due_for_person(subjects=[subject(due.ENDED)], visits=visits, today=TODAY, now=NOW)
    assert items == []


def test_old_queries_sae_clock_and_signatures() -> None:
    s = subject()
    items = due.due_for_person(
        subjects=[s],
        queries=[
            due.QueryFact(1, 1, TODAY - dt.timedelta(days=8), "VS"),
            due.QueryFact(2, 1, TODAY - dt.timedelta(days=7), "LB"),
        ],
        saes=[
            due.SaeFact(1, 1, 11, NOW + dt.timedelta(hours=20)),
            due.SaeFact(2, 1, 12, NOW - dt.timedelta(hours=3)),
            due.SaeFact(3, 1, 13, NOW + dt.timedelta(hours=30)),
        ],
        signatures=[due.SignatureFact(1, casebook=True)],
        today=TODAY,
        now=NOW,
    )
    assert kinds(items) == [
        ("sae_due", "sae:2"),
        ("sae_due", "sae:1"),
        ("query_old", "query:1"),
        ("signature_waiting", "signature:1"),
    ]
    assert items[0].days == -3


def test_only_the_persons_subjects_and_kinds() -> None:
    visits = [visit(1, due.CYCLE, TODAY, subject_pk=2)]
    assert due.due_for_person(subjects=[subject()], visits=visits, today=TODAY, now=NOW) == []
    mine = [visit(1, due.CYCLE, TODAY)]
    assert (
        due.due_for_person(
            subjects=[subject()], visits=mine, today=TODAY, now=NOW, kinds=["query_old"]
        )
        == []
    )


def test_forms_awaiting_sdv_one_line_per_site_with_forms_to_verify() -> None:
    """Issue 14: the monitor's weekly digest lists forms awaiting SDV by site."""
    sdv = [due.SdvFact(1, "01", 12), due.SdvFact(2, "02", 0), due.SdvFact(3, "03", 1)]
    items = due.due_for_person(subjects=[], sdv=sdv, today=TODAY, now=NOW)
    assert [(i.kind, i.object_key, i.subject_label, i.count) for i in items] == [
        ("sdv_waiting", "site:1", "01", 12),
        ("sdv_waiting", "site:3", "03", 1),
    ]
    daily = due.due_for_person(
        subjects=[], sdv=sdv, today=TODAY, now=NOW, kinds=["visit_due", "query_old"]
    )
    assert daily == []
