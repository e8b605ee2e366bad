"""The subject × visit status matrix: columns in schedule order, a cell per visit with its
state and data-management marks, scoped to the reader's sites, filtered by site and status,
paged, and drawn from the same number of SQL queries at 3 and 30 subjects."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree.ElementTree import Element

import pytest
import tinyhtml5
from django.urls import reverse
from django.utils import timezone

from crf import registry
from crf.models import Visit
from data_management.matrix_selectors import CellState, cell_state
from data_management.models import (
    Lock,
    LockLevel,
    Query,
    QueryStatus,
    Signature,
    SignatureScope,
    SourceVerification,
)
from enrollment.demo import screen_and_enrol
from study.models import Role
from visits.demo import treat

NS = "{http://www.w3.org/1999/xhtml}"
URL = "/data-management/matrix/"
TODAY = dt.date(2026, 11, 23)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- pure rule


def _state(**overrides: Any) -> CellState:
    values: dict[str, Any] = {
        "kind": "CYCLE",
        "required": 3,
        "complete": 0,
        "started": 0,
        "held": False,
        "missed": False,
        "not_applicable": False,
        "window_end": TODAY + dt.timedelta(days=3),
        "today": TODAY,
    }
    return cell_state(**(values | overrides))


def test_cell_state_follows_the_schedule_rules() -> None:
    assert _state() == CellState.NOT_STARTED
    assert _state(started=1) == CellState.IN_PROGRESS
    assert _state(held=True) == CellState.IN_PROGRESS
    assert _state(complete=3, started=3, held=True) == CellState.COMPLETE
    assert _state(window_end=TODAY - dt.timedelta(days=1)) == CellState.OVERDUE
    # started without the date that holds it, window closed: still overdue (the worklist)
    assert _state(started=1, window_end=TODAY - dt.timedelta(days=1)) == CellState.OVERDUE
    assert _state(missed=True, window_end=TODAY - dt.timedelta(days=9)) == CellState.MISSED
    assert _state(not_applicable=True, missed=True) == CellState.NOT_APPLICABLE
    # a survival visit has no form: complete once held
    assert _state(kind="SURV", required=0, held=True) == CellState.COMPLETE
    # screening and unscheduled visits are never overdue
    assert _state(kind="SCR", window_end=TODAY - dt.timedelta(days=30)) == CellState.NOT_STARTED


# --------------------------------------------------------------------------- helpers


def _enrol(actor: Any, site: Any, *, days_ago: int = 80, cycles: int = 2) -> Any:
    subject = screen_and_enrol(
        actor, site, start=timezone.localdate() - dt.timedelta(days=days_ago)
    )
    if cycles:
        day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
        assert day1 is not None
        treat(actor, subject, day1=day1, cycles=cycles, course="SD")
    return subject


def _page(client: Any, query: str = "") -> Element:
    response = client.get(URL + query)
    assert response.status_code == 200
    return tinyhtml5.parse(response.content.decode())


def _columns(page: Element) -> list[str]:
    return [
        "".join(th.itertext())
        for th in page.iter(f"{NS}th")
        if "mx-code" in (th.get("class") or "").split()
    ]


def _cells(page: Element) -> dict[str, dict[str, tuple[str, str, str]]]:
    """{subject: {visit code: (state, name, href)}} of the matrix's cells."""
    found: dict[str, dict[str, tuple[str, str, str]]] = {}
    for row in page.iter(f"{NS}tr"):
        subject = row.get("data-subject")
        if subject is None:
            continue
        found[subject] = {}
        for link in row.iter(f"{NS}a"):
            name = link.get("aria-label") or ""
            if ":" not in name:
                continue
            code = name.split(":", 1)[0]
            state = next(c[3:] for c in link.get("class", "").split() if c.startswith("mx-"))
            found[subject][code] = (state, name, link.get("href", ""))
    return found


def _form(code: str, subject: Any, visit_code: str) -> Any:
    return registry.get(code).model.objects.get(subject=subject, visit__code=visit_code)


# --------------------------------------------------------------------------- the page


def test_matrix_columns_in_schedule_order_and_cells_link_to_the_visit(
    client, investigator, sites
) -> None:
    subject = _enrol(investigator, sites["01"], days_ago=80, cycles=2)
    client.force_login(investigator)

    page = _page(client)

    columns = _columns(page)
    assert columns[:3] == ["SCR", "C1D1", "C2D1"]
    cycles = [c for c in columns if c.startswith("C")]
    assert cycles == sorted(cycles, key=lambda c: int(c[1:-2]))
    assert columns.index("TA1") > columns.index(cycles[-1])
    cells = _cells(page)[subject.subject_id]
    assert cells["C1D1"][0] == "in_progress"  # EX and VS entered, LB and CP not
    subject_page = reverse("crf:subject_detail", kwargs={"subject_pk": subject.pk})
    assert cells["C1D1"][2] == f"{subject_page}#visit-C1D1"
    assert cells["C1D1"][1] == "C1D1: In progress"
    assert cells["LOGS"][0] == "not_started"
    planned_later = [c for c in cycles if c not in ("C1D1", "C2D1")]
    assert all(cells[c][0] in ("not_started", "overdue") for c in planned_later)


def test_a_cell_says_queries_verification_signature_and_lock(client, people, sites) -> None:
    investigator, monitor = people[Role.INVESTIGATOR], people[Role.MONITOR]
    subject = _enrol(investigator, sites["01"], cycles=2)
    now = timezone.now()
    vs = _form("VS", subject, "C1D1")
    for status in (QueryStatus.OPEN, QueryStatus.OPEN, QueryStatus.ANSWERED, QueryStatus.CLOSED):
        Query.objects.create(
            subject=subject,
            form_code="VS",
            visit_code="C1D1",
            object_model=vs._meta.label,
            object_id=vs.pk,
            variable="SYSBP",
            text="Please check",
            status=status,
            raised_by=monitor,
            raised_at=now,
        )
    c1 = Visit.objects.get(subject=subject, code="C1D1")
    for code in ("VS", "EX"):
        form = _form(code, subject, "C1D1")
        SourceVerification.objects.create(
            subject=subject,
            form_code=code,
            visit_code="C1D1",
            object_model=form._meta.label,
            object_id=form.pk,
            variable="",  # the whole-form row sdv writes once every value is verified
            value="x",
            verified_by=monitor,
            verified_at=now,
        )
    Signature.objects.create(
        subject=subject,
        scope=SignatureScope.VISIT,
        visit=c1,
        signer=investigator,
        printed_name="Wei Zhang",
        signed_at=now,
        site_time_zone="Asia/Shanghai",
        meaning="I attest",
        data_sha256="0" * 64,
    )
    Lock.objects.create(
        level=LockLevel.VISIT,
        subject=subject,
        visit=c1,
        reason="clean",
        locked_by=people[Role.DATA_MANAGER],
        locked_at=now,
    )
    client.force_login(monitor)

    cells = _cells(_page(client))[subject.subject_id]

    assert cells["C1D1"][1] == (
        "C1D1: In progress; 2 open queries; 1 answered query; source data verified; signed; locked"
    )
    assert cells["C2D1"][1] == "C2D1: In progress"


def test_a_reset_verification_and_an_invalidated_signature_show(client, people, sites) -> None:
    investigator, monitor = people[Role.INVESTIGATOR], people[Role.MONITOR]
    subject = _enrol(investigator, sites["01"], cycles=1)
    now = timezone.now()
    vs = _form("VS", subject, "C1D1")
    SourceVerification.objects.create(
        subject=subject,
        form_code="VS",
        visit_code="C1D1",
        object_model=vs._meta.label,
        object_id=vs.pk,
        variable="SYSBP",
        value="120",
        verified_by=monitor,
        verified_at=now,
        reset_at=now,
        reset_by=investigator,
        reset_note="changed",
    )
    Signature.objects.create(
        subject=subject,
        scope=SignatureScope.CASEBOOK,
        signer=investigator,
        printed_name="Wei Zhang",
        signed_at=now,
        site_time_zone="Asia/Shanghai",
        meaning="I attest",
        data_sha256="0" * 64,
        invalidated_at=now,
    )
    client.force_login(monitor)

    page = _page(client)

    assert _cells(page)[subject.subject_id]["C1D1"][1] == "C1D1: In progress"
    row = next(r for r in page.iter(f"{NS}tr") if r.get("data-subject") == subject.subject_id)
    assert "Casebook signature invalidated" in "".join(row.itertext())


def test_the_study_lock_locks_every_cell(client, people, sites) -> None:
    subject = _enrol(people[Role.INVESTIGATOR], sites["01"], cycles=1)
    Lock.objects.create(
        level=LockLevel.STUDY,
        reason="database lock",
        locked_by=people[Role.DATA_MANAGER],
        locked_at=timezone.now(),
    )
    client.force_login(people[Role.MONITOR])

    page = _page(client)

    cells = _cells(page)[subject.subject_id]
    assert all(name.endswith("; locked") for _state, name, _href in cells.values())
    assert any(e.get("data-testid") == "study-locked" for e in page.iter(f"{NS}div"))


def test_another_sites_subjects_are_not_there(client, people, sites) -> None:
    investigator = people[Role.INVESTIGATOR]
    own = _enrol(investigator, sites["01"], cycles=0)
    other = _enrol(investigator, sites["02"], cycles=0)
    client.force_login(people[Role.MONITOR])  # site 01 only

    assert list(_cells(_page(client))) == [own.subject_id]
    assert list(_cells(_page(client, "?site=02"))) == [own.subject_id]  # not a choice: ignored

    client.force_login(people[Role.DATA_MANAGER])  # every site
    assert list(_cells(_page(client))) == [own.subject_id, other.subject_id]
    assert list(_cells(_page(client, "?site=02"))) == [other.subject_id]


def test_the_status_filter_keeps_subjects_with_such_a_visit(client, people, sites) -> None:
    investigator, monitor = people[Role.INVESTIGATOR], people[Role.MONITOR]
    queried = _enrol(investigator, sites["01"], cycles=1)
    quiet = _enrol(investigator, sites["01"], cycles=1)
    vs = _form("VS", queried, "C1D1")
    Query.objects.create(
        subject=queried,
        form_code="VS",
        visit_code="C1D1",
        object_model=vs._meta.label,
        object_id=vs.pk,
        text="?",
        raised_by=monitor,
        raised_at=timezone.now(),
    )
    SourceVerification.objects.create(
        subject=quiet,
        form_code="VS",
        visit_code="C1D1",
        object_model=vs._meta.label,
        object_id=_form("VS", quiet, "C1D1").pk,
        variable="SYSBP",
        value="120",
        verified_by=monitor,
        verified_at=timezone.now(),
    )
    client.force_login(monitor)

    assert list(_cells(_page(client, "?status=open_query"))) == [queried.subject_id]
    assert list(_cells(_page(client, "?status=answered_query"))) == []
    assert list(_cells(_page(client, "?status=awaiting_sdv"))) == [
        queried.subject_id,
        quiet.subject_id,  # its other complete forms are not verified
    ]
    assert list(_cells(_page(client, "?status=overdue"))) == [
        queried.subject_id,
        quiet.subject_id,
    ]  # C2D1 (window closed, 80 days after screening)
    assert list(_cells(_page(client, "?status=locked"))) == []
    assert len(_cells(_page(client, "?status=nonsense"))) == 2  # not a choice: ignored


def test_the_matrix_pages_by_subject(client, investigator, sites, monkeypatch) -> None:
    from data_management import matrix_selectors

    monkeypatch.setattr(matrix_selectors, "SUBJECTS_PER_PAGE", 2)
    subjects = [_enrol(investigator, sites["01"], cycles=0) for _ in range(3)]
    client.force_login(investigator)

    assert list(_cells(_page(client))) == [s.subject_id for s in subjects[:2]]
    assert list(_cells(_page(client, "?page=2"))) == [subjects[2].subject_id]


# --------------------------------------------------------------------------- cost


def test_the_matrix_costs_the_same_with_3_and_28_subjects(
    client, people, sites, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    investigator, monitor = people[Role.INVESTIGATOR], people[Role.MONITOR]
    client.force_login(people[Role.DATA_MANAGER])
    for _ in range(3):
        _enrol(investigator, sites["01"], cycles=1)
    client.get(URL)  # the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL + "?status=awaiting_sdv").status_code == 200

    for n in range(25):  # the study's target enrolment: 28
        subject = _enrol(investigator, sites["01" if n % 2 else "02"], cycles=2)
        vs = _form("VS", subject, "C1D1")
        Query.objects.create(
            subject=subject,
            form_code="VS",
            visit_code="C1D1",
            object_model=vs._meta.label,
            object_id=vs.pk,
            text="?",
            raised_by=monitor,
            raised_at=timezone.now(),
        )

    with django_assert_max_num_queries(len(small)):
        page = client.get(URL + "?status=awaiting_sdv")
    assert page.status_code == 200
    assert len(_cells(tinyhtml5.parse(page.content.decode()))) == 28
    assert len(small) <= 18


def test_the_menu_offers_the_matrix_to_every_role_that_reads_data(people) -> None:
    from study.navigation import items_for

    offered = {
        role: any(item["url"] == URL for item in items_for(user)) for role, user in people.items()
    }

    assert offered == {role: role != Role.ADMINISTRATOR for role in Role}
