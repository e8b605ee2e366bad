"""``manage.py queries``: every query as JSON or as a table, filtered by status."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from data_management.models import Query
from data_management.queries import answer_query, close_query, raise_query
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("queries", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def queries(people: dict[Role, Any], subject01: Any, subject02: Any) -> dict[str, Query]:
    investigator, monitor = people[Role.INVESTIGATOR], people[Role.MONITOR]
    form = save_xx(
        investigator, subject01, systolic=170, lesions=[{"lesion_id": "L1", "diameter": "21.0"}]
    )  # SYSBP >= 160: an automatic query
    lesion = raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        group="LS",
        row_key="L1",
        variable="LDIAM",
        text="The source says 19.5 mm.",
    )
    answer_query(actor=investigator, query=lesion, text="Corrected.")
    close_query(actor=monitor, query=lesion, text="Thank you.")
    other = raise_query(
        actor=people[Role.DATA_MANAGER],
        subject=subject02,
        form_code="XX",
        instance=save_xx(investigator, subject02),
        text="Whole form?",
    )
    return {
        "automatic": Query.objects.get(origin="automatic"),
        "lesion": Query.objects.get(pk=lesion.pk),
        "other": other,
    }


def test_queries_json_prints_every_query_with_its_thread(queries, subject01) -> None:
    document = json.loads(run("--json"))

    assert [(q["subject"], q["site"], q["origin"], q["status"]) for q in document] == [
        (subject01.label, "01", "automatic", "open"),
        (subject01.label, "01", "manual", "closed"),
        (queries["other"].subject.label, "02", "manual", "open"),
    ]
    lesion = document[1]
    closed_at = queries["lesion"].closed_at.astimezone(dt.UTC).isoformat(timespec="seconds")
    assert {k: v for k, v in lesion.items() if k not in ("raised_at", "answered_at", "thread")} == {
        "id": queries["lesion"].pk,
        "subject": subject01.label,
        "site": "01",
        "visit": "SCR",
        "form": "XX",
        "group": "LS",
        "variable": "LDIAM",
        "row_key": "L1",
        "origin": "manual",
        "check_code": "",
        "status": "closed",
        "text": "The source says 19.5 mm.",
        "raised_by": "mon01",
        "closed_at": closed_at,
    }
    assert closed_at.endswith("+00:00")
    assert [(s["step"], s["author"], s["text"], s["status"]) for s in lesion["thread"]] == [
        ("raise", "mon01", "The source says 19.5 mm.", "open"),
        ("answer", "inv01", "Corrected.", "answered"),
        ("close", "mon01", "Thank you.", "closed"),
    ]
    raised_at = queries["lesion"].raised_at.replace(microsecond=0)
    assert dt.datetime.fromisoformat(lesion["thread"][0]["at"]) == raised_at
    automatic = document[0]
    assert (automatic["check_code"], automatic["variable"], automatic["raised_by"]) == (
        "SYSBP_soft_high",
        "SYSBP",
        "system",
    )
    assert automatic["thread"][0]["author"] == "system"
    assert automatic["answered_at"] is None


def test_queries_json_filtered_by_status(queries) -> None:
    assert [q["id"] for q in json.loads(run("--json", "--status", "open"))] == [
        queries["automatic"].pk,
        queries["other"].pk,
    ]
    assert [q["id"] for q in json.loads(run("--json", "--status", "closed"))] == [
        queries["lesion"].pk
    ]
    assert json.loads(run("--json", "--status", "answered")) == []


def test_queries_table_is_readable(queries, subject01) -> None:
    lines = run().splitlines()

    assert lines[0].split() == [
        "Subject", "Site", "Visit", "Where", "Origin", "Status", "Raised", "Steps", "Query"
    ]  # fmt: skip
    assert lines[2].split()[:6] == [
        subject01.label,
        "01",
        "SCR",
        "XX.LS.L1.LDIAM",
        "manual",
        "closed",
    ]
    assert lines[-1] == "3 queries"


def test_queries_with_an_unknown_status_is_refused(db) -> None:
    with pytest.raises(CommandError, match="--status must be one of open, answered, closed"):
        run("--status", "pending")


def test_queries_json_with_no_query_prints_an_empty_array(db) -> None:
    assert json.loads(run("--json")) == []
