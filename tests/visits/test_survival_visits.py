"""Survival contacts (SV, a log) hold the survival follow-up visits (protocol.md: Parameters,
survival follow-up every 84 days after EOT ±14 days; crf-spec SV one row per contact)."""

from __future__ import annotations

from datetime import date, timedelta

from visits.schedule import PlannedVisit, VisitKind, survival_visits_held

EOT = date(2026, 3, 1)


def surv(m: int) -> PlannedVisit:
    target = EOT + timedelta(days=84 * m)
    return PlannedVisit(
        code=f"SURV{m}",
        kind=VisitKind.SURV,
        number=m,
        target_date=target,
        window_start=target - timedelta(days=14),
        window_end=target + timedelta(days=14),
    )


def test_a_contact_in_the_window_holds_its_visit() -> None:
    contact = surv(1).target_date + timedelta(days=3)

    assert survival_visits_held([surv(1), surv(2)], [contact]) == {"SURV1": contact, "SURV2": None}


def test_the_window_ends_are_included() -> None:
    first, second = surv(1).window_start, surv(2).window_end

    held = survival_visits_held([surv(1), surv(2)], [first, second])

    assert held == {"SURV1": first, "SURV2": second}


def test_a_late_contact_still_holds_the_visit_before_the_next_window() -> None:
    late = surv(1).window_end + timedelta(days=20)  # before SURV2's window opens

    assert survival_visits_held([surv(1), surv(2)], [late])["SURV1"] == late


def test_a_contact_before_the_window_holds_nothing() -> None:
    early = surv(1).window_start - timedelta(days=1)

    assert survival_visits_held([surv(1)], [early]) == {"SURV1": None}


def test_the_first_of_two_contacts_in_a_window_is_the_held_date() -> None:
    a, b = surv(2).target_date, surv(2).target_date + timedelta(days=5)

    assert survival_visits_held([surv(1), surv(2)], [b, a]) == {"SURV1": None, "SURV2": a}


def test_other_visits_are_ignored() -> None:
    cycle = PlannedVisit("C2D1", VisitKind.CYCLE, 2, EOT, EOT, EOT)

    assert survival_visits_held([cycle, surv(1)], [EOT]) == {"SURV1": None}
