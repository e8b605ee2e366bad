"""The TEAE tables of protocol.md, computed by the pure core of adverse_events.safety."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from adverse_events.safety import (
    AeFact,
    PopulationSubject,
    Selection,
    by_soc,
    csv_rows,
    overview,
    parse_selection,
    sae_status,
    select_events,
    tables,
)

VASCULAR = "Vascular disorders"
GI = "Gastrointestinal disorders"
HTN = "Hypertension"


def subject(pk: int, site: str = "01") -> PopulationSubject:
    return PopulationSubject(pk=pk, subject_id=f"{site}-{pk:03d}", site=site)


_next_pk = iter(range(1, 10_000))


def ae(subject_pk: int, term: str = HTN, grade: int | None = 2, **kw: object) -> AeFact:
    values: dict[str, object] = {
        "pk": next(_next_pk),
        "subject_pk": subject_pk,
        "term": term,
        "soc": VASCULAR if term == HTN else GI,
        "grade": grade,
        "serious": False,
        "related": False,
        "action": "DOSE_NOT_CHANGED",
        "outcome": "NOT_RECOVERED",
        "teae": True,
    }
    values.update(kw)
    return AeFact(**values)  # type: ignore[arg-type]


def counts(rows) -> dict[str, tuple[int, Decimal | None]]:
    return {r.key: (r.n, r.percent) for r in rows}


def test_overview_counts_each_subject_once_per_row() -> None:
    population = [subject(1), subject(2), subject(3)]
    events = [
        ae(1, grade=3, serious=True, related=True),
        ae(1, grade=4, serious=True, related=True),  # same subject: still 1
        ae(2, "Diarrhea", grade=1, action="INTERRUPTED"),
        ae(2, "Diarrhea", grade=2, action="REDUCED"),
        ae(3, grade=5, outcome="FATAL", action="WITHDRAWN"),
    ]

    rows = overview(events, population)

    assert counts(rows) == {
        "any": (3, Decimal("100.0")),
        "grade3": (2, Decimal("66.7")),
        "serious": (1, Decimal("33.3")),
        "related": (1, Decimal("33.3")),
        "interrupted": (1, Decimal("33.3")),
        "reduced": (1, Decimal("33.3")),
        "discontinued": (1, Decimal("33.3")),
        "fatal": (1, Decimal("33.3")),
    }


def test_fatal_counts_outcome_fatal_and_grade_5() -> None:
    population = [subject(1), subject(2), subject(3)]
    events = [ae(1, grade=4, outcome="FATAL"), ae(2, grade=5), ae(3, grade=4)]

    assert counts(overview(events, population))["fatal"] == (2, Decimal("66.7"))


def test_grade_3_row_uses_the_protocol_threshold() -> None:
    population = [subject(1), subject(2)]
    events = [ae(1, grade=2), ae(2, grade=3)]

    assert counts(overview(events, population))["grade3"] == (1, Decimal("50.0"))


def test_non_treatment_emergent_aes_are_not_counted() -> None:
    population = [subject(1), subject(2)]
    events = [ae(1, grade=4, teae=False), ae(2, grade=1)]

    result = tables(events, population)

    assert counts(result.overview)["any"] == (1, Decimal("50.0"))
    assert counts(result.overview)["grade3"] == (0, Decimal("0.0"))
    assert [c.n for c in result.socs[0].terms[0].graded] == [1, 0, 0, 0, 0]


def test_subjects_without_a_dose_are_not_in_n_nor_counted() -> None:
    population = [subject(1), subject(2), subject(3), subject(4)]
    events = [ae(1), ae(99, grade=4)]  # subject 99 received no dose

    result = tables(events, population)

    assert result.population == 4
    assert counts(result.overview)["any"] == (1, Decimal("25.0"))
    assert counts(result.overview)["grade3"] == (0, Decimal("0.0"))


def test_percentages_round_half_up_to_one_decimal() -> None:
    population = [subject(pk) for pk in range(1, 9)]  # N = 8
    events = [ae(1)]  # 1/8 = 12.5 %

    assert counts(overview(events, population))["any"] == (1, Decimal("12.5"))
    population = [subject(pk) for pk in range(1, 7)]  # N = 6
    assert counts(overview([ae(1)], population))["any"] == (1, Decimal("16.7"))


def test_an_empty_population_has_no_percentages() -> None:
    assert counts(overview([], []))["any"] == (0, None)


def test_by_soc_counts_subjects_once_at_their_worst_grade() -> None:
    population = [subject(1), subject(2), subject(3)]
    events = [
        ae(1, grade=1),
        ae(1, grade=3),  # subject 1's worst hypertension: 3
        ae(1, grade=2),
        ae(2, grade=1),
        ae(2, "Diarrhea", grade=4),
    ]

    (gi, vascular) = sorted(by_soc(events, population), key=lambda r: r.soc)

    htn = vascular.terms[0]
    assert (htn.term, htn.n, htn.percent) == (HTN, 2, Decimal("66.7"))
    assert [c.n for c in htn.graded] == [1, 0, 1, 0, 0]
    assert (vascular.n, [c.n for c in vascular.graded]) == (2, [1, 0, 1, 0, 0])
    assert (gi.n, gi.percent, [c.n for c in gi.graded]) == (1, Decimal("33.3"), [0, 0, 0, 1, 0])


def test_soc_worst_grade_is_over_all_its_terms() -> None:
    population = [subject(1)]
    events = [ae(1, "Diarrhea", grade=1), ae(1, "Nausea", grade=3)]

    (gi,) = by_soc(events, population)

    assert [c.n for c in gi.graded] == [0, 0, 1, 0, 0]
    assert [(t.term, [c.n for c in t.graded]) for t in gi.terms] == [
        ("Diarrhea", [1, 0, 0, 0, 0]),
        ("Nausea", [0, 0, 1, 0, 0]),
    ]


def test_socs_and_terms_are_sorted_by_frequency_then_name() -> None:
    population = [subject(pk) for pk in range(1, 5)]
    events = [
        ae(1, "Nausea"),
        ae(2, "Nausea"),
        ae(3, "Diarrhea"),
        ae(1, "Vomiting"),
        ae(4, "Abdominal pain"),
        ae(1, HTN),
    ]

    socs = by_soc(events, population)

    assert [(s.soc, s.n) for s in socs] == [(GI, 4), (VASCULAR, 1)]
    assert [(t.term, t.n) for t in socs[0].terms] == [
        ("Nausea", 2),
        ("Abdominal pain", 1),
        ("Diarrhea", 1),
        ("Vomiting", 1),
    ]


def test_other_specify_terms_are_counted_by_their_verbatim() -> None:
    other = "Vascular disorders - Other, specify"
    population = [subject(1), subject(2)]
    events = [
        ae(1, f"{other}: Varicose veins", soc=VASCULAR),
        ae(2, f"{other}: Phlebitis", soc=VASCULAR),
    ]

    (vascular,) = by_soc(events, population)

    assert [(t.term, t.n) for t in vascular.terms] == [
        (f"{other}: Phlebitis", 1),
        (f"{other}: Varicose veins", 1),
    ]


def test_aes_without_a_grade_have_their_own_column() -> None:
    population = [subject(1), subject(2)]
    events = [ae(1, grade=None), ae(2, grade=None), ae(2, grade=2)]

    result = tables(events, population)

    htn = result.socs[0].terms[0]
    assert ([c.n for c in htn.graded], htn.missing.n) == ([0, 1, 0, 0, 0], 1)
    assert result.has_missing_grades is True


def test_a_term_without_a_grade_shows_the_column_even_when_its_soc_is_graded() -> None:
    population = [subject(1)]
    events = [ae(1, "Diarrhea", grade=None), ae(1, "Nausea", grade=2)]

    result = tables(events, population)

    (gi,) = result.socs
    assert (gi.missing.n, [t.missing.n for t in gi.terms]) == (0, [1, 0])
    assert result.has_missing_grades is True


def _every_number(result) -> list[tuple[int, str]]:
    numbers = [(r.n, r.query) for r in result.overview]
    for soc in result.socs:
        for row in (soc, *soc.terms):
            numbers.append((row.n, row.query))
            numbers.extend((c.n, c.query) for c in row.grades)
    return numbers


def test_every_number_selects_aes_of_exactly_that_many_subjects() -> None:
    population = [subject(pk) for pk in range(1, 6)]
    events = [
        ae(1, grade=1),
        ae(1, grade=3, serious=True),
        ae(2, grade=3, related=True, action="REDUCED"),
        ae(2, "Diarrhea", grade=2, action="INTERRUPTED"),
        ae(3, "Diarrhea", grade=None),
        ae(4, "Nausea", grade=5, outcome="FATAL", action="WITHDRAWN"),
        ae(5, grade=4, teae=False),
        ae(77, grade=4),  # not in the population
    ]
    result = tables(events, population)

    for n, query in _every_number(result):
        selection = parse_selection(dict(parse_qsl(query, keep_blank_values=True)))
        chosen = select_events(events, population, selection)
        assert len({e.subject_pk for e in chosen}) == n, query


def test_a_grade_cell_selects_the_aes_at_the_subjects_worst_grade() -> None:
    population = [subject(1), subject(2)]
    g1, g3, other_g1 = ae(1, grade=1), ae(1, grade=3), ae(2, grade=1)

    grade1 = select_events([g1, g3, other_g1], population, Selection(soc=VASCULAR, grade=1))
    grade3 = select_events([g1, g3, other_g1], population, Selection(soc=VASCULAR, grade=3))

    assert grade1 == [other_g1]  # subject 1 counts at grade 3, not 1
    assert grade3 == [g3]


def test_selection_round_trips_through_its_query() -> None:
    selection = Selection(soc="Skin and subcutaneous tissue disorders", term="Rash & itch", grade=2)

    assert parse_selection(dict(parse_qsl(selection.query))) == selection
    assert parse_selection({}) == Selection()
    assert parse_selection({"row": "grade3"}) == Selection(row="grade3")
    assert parse_selection({"soc": GI, "grade": "missing"}) == Selection(soc=GI, grade="missing")


@pytest.mark.parametrize(
    "params",
    [
        {"row": "nonsense"},
        {"soc": GI, "grade": "6"},
        {"soc": GI, "grade": "x"},
        {"term": HTN},
        {"grade": "3"},
        {"row": "any", "soc": GI},
    ],
)
def test_parse_selection_refuses_what_no_table_cell_asks(params) -> None:
    with pytest.raises(ValueError):
        parse_selection(params)


NOW = dt.datetime(2026, 3, 16, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("due_at", "completed_at", "closed_at", "expected"),
    [
        (None, None, None, "no_clock"),
        (NOW - dt.timedelta(minutes=1), None, None, "overdue"),
        (NOW + dt.timedelta(hours=3), None, None, "due"),
        (NOW - dt.timedelta(hours=3), NOW - dt.timedelta(hours=4), None, "complete"),
        (NOW - dt.timedelta(hours=3), None, NOW - dt.timedelta(hours=4), "closed"),
    ],
)
def test_sae_status(due_at, completed_at, closed_at, expected) -> None:
    status = sae_status(due_at=due_at, completed_at=completed_at, closed_at=closed_at, now=NOW)

    assert status == expected


def test_csv_rows_hold_both_tables_with_a_section_column() -> None:
    population = [subject(1), subject(2)]
    events = [ae(1, grade=3), ae(2, "Diarrhea", grade=1)]

    header, rows = csv_rows(tables(events, population))

    assert header[:7] == ["Section", "Row", "System organ class", "Term", "N", "n", "%"]
    assert len(header) == 13
    assert rows[0] == ["overview", "Any TEAE", "", "", 2, 2, Decimal("100.0")] + [""] * 6
    assert rows[8:] == [
        ["soc_term", "System organ class", GI, "", 2, 1, Decimal("50.0"), 1, 0, 0, 0, 0, 0],
        ["soc_term", "Term", GI, "Diarrhea", 2, 1, Decimal("50.0"), 1, 0, 0, 0, 0, 0],
        ["soc_term", "System organ class", VASCULAR, "", 2, 1, Decimal("50.0"), 0, 0, 1, 0, 0, 0],
        ["soc_term", "Term", VASCULAR, HTN, 2, 1, Decimal("50.0"), 0, 0, 1, 0, 0, 0],
    ]
