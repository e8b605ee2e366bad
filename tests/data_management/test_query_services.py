"""Query services: raise, answer, close, re-open and comment; who may; where; the thread
and the audit trail (issue 12, "Queries")."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crf import audit
from crf.models import AuditAction, AuditEntry
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus, QueryStep
from data_management.queries import (
    answer_query,
    close_query,
    comment_query,
    queries_for_user,
    raise_query,
    reopen_query,
)
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(people: dict[Role, Any]) -> Any:
    return people[Role.MONITOR]


@pytest.fixture
def data_manager(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


@pytest.fixture
def coordinator(people: dict[Role, Any]) -> Any:
    return people[Role.SITE_COORDINATOR]


@pytest.fixture
def form(investigator: Any, subject01: Any) -> Any:
    return save_xx(
        investigator,
        subject01,
        lesions=[{"lesion_id": "L1", "diameter": "21.0"}, {"lesion_id": "L2", "diameter": "9.5"}],
    )


@pytest.fixture
def query(monitor: Any, subject01: Any, form: Any) -> Query:
    return raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        variable="SYSBP",
        text="Please check the systolic pressure against the source.",
    )


def thread(query: Query) -> list[tuple[str, str, str, str]]:
    return [
        (m.step, m.author.username if m.author else "system", m.text, m.status_after)
        for m in QueryMessage.objects.filter(query=query)
    ]


def query_audit(subject: Any) -> list[tuple[str, str, str, str, str | None, str | None, str]]:
    return [
        (e.actor_username, e.group, e.row_key, e.variable, e.old_value, e.new_value, e.reason_text)
        for e in AuditEntry.objects.filter(subject=subject, action=AuditAction.QUERY)
    ]


def chain_intact() -> bool:
    return not [p for p in audit.verify_chains() if isinstance(p, audit.ChainProblem)]


# --- Raising -------------------------------------------------------------------------------


def test_raise_query_on_a_value_opens_it_with_its_first_step(query, subject01, form) -> None:
    assert (
        query.status,
        query.origin,
        query.form_code,
        query.visit_code,
        query.object_model,
        query.object_id,
        query.variable,
        query.raised_by.username,
    ) == (
        QueryStatus.OPEN,
        QueryOrigin.MANUAL,
        "XX",
        "SCR",
        "crftest.DemoVitals",
        form.pk,
        "SYSBP",
        "mon01",
    )
    assert thread(query) == [
        ("raise", "mon01", "Please check the systolic pressure against the source.", "open")
    ]
    assert query_audit(subject01) == [
        (
            "mon01",
            "",
            "",
            "SYSBP",
            None,
            "open",
            "Please check the systolic pressure against the source.",
        )
    ]
    entry = AuditEntry.objects.get(subject=subject01, action=AuditAction.QUERY)
    assert (entry.form_code, entry.visit_code, entry.object_model, entry.object_id) == (
        "XX",
        "SCR",
        "data_management.Query",
        query.pk,
    )
    assert chain_intact()


def test_raise_query_on_a_lesion_row(monitor, subject01, form) -> None:
    query = raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        group="LS",
        row_key="L2",
        variable="LDIAM",
        text="The source says 19.5 mm.",
    )

    assert (query.group, query.row_key, query.variable) == ("LS", "L2", "LDIAM")
    assert query_audit(subject01) == [
        ("mon01", "LS", "L2", "LDIAM", None, "open", "The source says 19.5 mm.")
    ]


def test_raise_query_on_the_whole_form_by_a_data_manager(data_manager, subject01, form) -> None:
    query = raise_query(
        actor=data_manager, subject=subject01, form_code="XX", instance=form, text="  Form? "
    )

    assert (query.group, query.row_key, query.variable, query.text) == ("", "", "", "Form?")


def test_raise_query_refused_to_a_site_role(investigator, coordinator, subject01, form) -> None:
    for actor in (investigator, coordinator):
        with pytest.raises(PermissionDenied):
            raise_query(actor=actor, subject=subject01, form_code="XX", instance=form, text="Q")

    assert Query.objects.count() == 0


def test_raise_query_refused_on_another_sites_subject(monitor, investigator, subject02) -> None:
    other = save_xx(investigator, subject02)

    with pytest.raises(PermissionDenied):
        raise_query(actor=monitor, subject=subject02, form_code="XX", instance=other, text="Q")

    assert Query.objects.count() == 0


def test_raise_query_refused_without_text(monitor, subject01, form) -> None:
    with pytest.raises(ValidationError) as error:
        raise_query(actor=monitor, subject=subject01, form_code="XX", instance=form, text="  ")

    assert error.value.message_dict == {"text": ["Write the question for the site."]}
    assert Query.objects.count() == 0


@pytest.mark.parametrize(
    ("where", "field", "message"),
    [
        ({"variable": "NOPE"}, "variable", "XX has no variable NOPE."),
        ({"variable": "LDIAM"}, "variable", "XX has no variable LDIAM."),
        ({"group": "LS", "row_key": "L9"}, "row_key", "LS has no row L9 on this form."),
        ({"group": "LS"}, "row_key", "Choose the row the query is about."),
        ({"row_key": "L1"}, "row_key", "A row needs its group."),
        ({"group": "ZZ", "row_key": "L1"}, "group", "XX has no group ZZ."),
        (
            {"group": "LS", "row_key": "L1", "variable": "SYSBP"},
            "variable",
            "XX.LS has no variable SYSBP.",
        ),
    ],
)
def test_raise_query_refused_on_a_place_the_form_does_not_have(
    monitor, subject01, form, where, field, message
) -> None:
    with pytest.raises(ValidationError) as error:
        raise_query(
            actor=monitor, subject=subject01, form_code="XX", instance=form, text="Q", **where
        )

    assert error.value.message_dict == {field: [message]}


def test_raise_query_refused_on_a_deleted_row(monitor, investigator, subject01, form) -> None:
    from crf.services import Reason

    save_xx(
        investigator,
        subject01,
        instance=form,
        lesions=[{"lesion_id": "L1", "diameter": "21.0"}],
        reason=Reason("ENTERED_IN_ERROR"),
    )

    with pytest.raises(ValidationError) as error:
        raise_query(
            actor=monitor,
            subject=subject01,
            form_code="XX",
            instance=form,
            group="LS",
            row_key="L2",
            text="Q",
        )

    assert error.value.message_dict == {"row_key": ["LS has no row L2 on this form."]}


def test_raise_query_refused_on_another_subjects_form(
    monitor, investigator, subject01, sites
) -> None:
    from enrollment.services import register_screening

    other = register_screening(actor=investigator, site=sites["01"])
    their_form = save_xx(investigator, other)

    with pytest.raises(ValidationError) as error:
        raise_query(actor=monitor, subject=subject01, form_code="XX", instance=their_form, text="Q")

    assert error.value.message_dict == {
        "form_code": ["This form is not a saved form of this subject."]
    }


def test_raise_query_refused_on_an_unknown_form(monitor, subject01, form) -> None:
    with pytest.raises(ValidationError) as error:
        raise_query(actor=monitor, subject=subject01, form_code="QQ", instance=form, text="Q")

    assert error.value.message_dict == {"form_code": ["QQ is not a form of this study."]}


# --- Answering -----------------------------------------------------------------------------


def test_answer_query_by_the_investigator(investigator, subject01, query) -> None:
    answered = answer_query(actor=investigator, query=query, text="Corrected from the chart.")

    assert answered.status == QueryStatus.ANSWERED
    assert answered.answered_at is not None
    assert Query.objects.get(pk=query.pk).status == QueryStatus.ANSWERED
    assert thread(query)[-1] == ("answer", "inv01", "Corrected from the chart.", "answered")
    assert query_audit(subject01)[-1] == (
        "inv01",
        "",
        "",
        "SYSBP",
        "open",
        "answered",
        "Corrected from the chart.",
    )
    assert chain_intact()


def test_answer_query_by_the_site_coordinator(coordinator, query) -> None:
    assert answer_query(actor=coordinator, query=query, text="Checked.").status == "answered"


def test_answer_query_refused_to_the_monitor(monitor, query) -> None:
    with pytest.raises(PermissionDenied):
        answer_query(actor=monitor, query=query, text="I answer myself")


def test_answer_query_refused_to_another_sites_investigator(make_person, query) -> None:
    other_investigator = make_person("inv02", Role.INVESTIGATOR, ("02",))

    with pytest.raises(PermissionDenied):
        answer_query(actor=other_investigator, query=query, text="Not mine")

    assert Query.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_answer_query_refused_without_text(investigator, query) -> None:
    with pytest.raises(ValidationError) as error:
        answer_query(actor=investigator, query=query, text="")

    assert error.value.message_dict == {"text": ["Write the answer for the monitor."]}


def test_answer_query_refused_once_answered(investigator, query) -> None:
    answer_query(actor=investigator, query=query, text="Done.")

    with pytest.raises(ValidationError) as error:
        answer_query(actor=investigator, query=query, text="Again.")

    assert error.value.messages == ["Only an open query can be answered; this one is answered."]
    assert len(thread(query)) == 2


# --- Closing and re-opening ---------------------------------------------------------------


def test_close_query_once_answered(monitor, investigator, subject01, query) -> None:
    answer_query(actor=investigator, query=query, text="Done.")

    closed = close_query(actor=monitor, query=query)

    assert (closed.status, closed.closed_by.username) == ("closed", "mon01")
    assert closed.closed_at is not None
    assert thread(query)[-1] == ("close", "mon01", "", "closed")
    assert query_audit(subject01)[-1][4:6] == ("answered", "closed")


def test_close_query_while_open_by_a_data_manager(data_manager, query) -> None:
    closed = close_query(actor=data_manager, query=query, text="Raised in error.")

    assert thread(query)[-1] == ("close", "dm", "Raised in error.", "closed")
    assert closed.status == QueryStatus.CLOSED


def test_close_query_refused_to_the_investigator(investigator, query) -> None:
    with pytest.raises(PermissionDenied):
        close_query(actor=investigator, query=query)


def test_close_query_refused_when_closed(monitor, query) -> None:
    close_query(actor=monitor, query=query)

    with pytest.raises(ValidationError) as error:
        close_query(actor=monitor, query=query)

    assert error.value.messages == ["This query is already closed."]


def test_reopen_query_after_closing(monitor, investigator, subject01, query) -> None:
    answer_query(actor=investigator, query=query, text="Done.")
    close_query(actor=monitor, query=query)

    reopened = reopen_query(actor=monitor, query=query, text="The value is still wrong.")

    assert (reopened.status, reopened.closed_at, reopened.closed_by) == ("open", None, None)
    assert [step for step, *_ in thread(query)] == ["raise", "answer", "close", "reopen"]
    assert [(old, new) for *_, old, new, _text in query_audit(subject01)] == [
        (None, "open"),
        ("open", "answered"),
        ("answered", "closed"),
        ("closed", "open"),
    ]
    # Answered again after re-opening.
    answer_query(actor=investigator, query=query, text="Now corrected.")
    assert Query.objects.get(pk=query.pk).status == QueryStatus.ANSWERED
    assert chain_intact()


def test_reopen_query_from_answered(monitor, investigator, query) -> None:
    answer_query(actor=investigator, query=query, text="Done.")

    assert reopen_query(actor=monitor, query=query, text="Not enough.").status == "open"


def test_reopen_query_refused_when_open(monitor, query) -> None:
    with pytest.raises(ValidationError) as error:
        reopen_query(actor=monitor, query=query, text="Why")

    assert error.value.messages == ["This query is already open."]


def test_reopen_query_refused_without_text(monitor, query) -> None:
    close_query(actor=monitor, query=query)

    with pytest.raises(ValidationError) as error:
        reopen_query(actor=monitor, query=query, text=" ")

    assert error.value.message_dict == {"text": ["Say why the query is re-opened."]}
    assert Query.objects.get(pk=query.pk).status == QueryStatus.CLOSED


def test_reopen_query_refused_to_the_coordinator(monitor, coordinator, query) -> None:
    close_query(actor=monitor, query=query)

    with pytest.raises(PermissionDenied):
        reopen_query(actor=coordinator, query=query, text="Please look again")


# --- Comments ------------------------------------------------------------------------------


def test_comment_query_by_either_side_keeps_the_state(monitor, investigator, query) -> None:
    comment_query(actor=investigator, query=query, text="Looking for the chart.")
    comment_query(actor=monitor, query=query, text="Thank you.")

    assert Query.objects.get(pk=query.pk).status == QueryStatus.OPEN
    assert thread(query)[1:] == [
        (QueryStep.COMMENT, "inv01", "Looking for the chart.", "open"),
        (QueryStep.COMMENT, "mon01", "Thank you.", "open"),
    ]


def test_comment_query_refused_to_a_medical_monitor(people, query) -> None:
    with pytest.raises(PermissionDenied):
        comment_query(actor=people[Role.MEDICAL_MONITOR], query=query, text="Hm")


def test_comment_query_refused_without_text(investigator, query) -> None:
    with pytest.raises(ValidationError):
        comment_query(actor=investigator, query=query, text="")


# --- Reading -------------------------------------------------------------------------------


def test_queries_for_user_keeps_to_the_users_sites(
    monitor, data_manager, investigator, people, make_person, subject01, subject02, query
) -> None:
    other = raise_query(
        actor=data_manager,
        subject=subject02,
        form_code="XX",
        instance=save_xx(investigator, subject02),
        text="Site 02 question",
    )
    monitor02 = make_person("mon02", Role.MONITOR, ("02",))

    assert list(queries_for_user(monitor)) == [query]
    assert list(queries_for_user(investigator)) == [query]
    assert list(queries_for_user(monitor02)) == [other]
    assert list(queries_for_user(data_manager)) == [other, query]
    assert list(queries_for_user(people[Role.ADMINISTRATOR])) == []


# --- Locks ---------------------------------------------------------------------------------


def test_query_steps_refused_on_a_locked_form(
    monitor, investigator, data_manager, subject01, form, query
) -> None:
    from crf import registry
    from data_management.locks import lock_form

    lock_form(actor=data_manager, spec=registry.get("XX"), instance=form, reason="Final.")
    steps = [
        lambda: raise_query(
            actor=monitor, subject=subject01, form_code="XX", instance=form, text="Q"
        ),
        lambda: answer_query(actor=investigator, query=query, text="A"),
        lambda: close_query(actor=monitor, query=query),
        lambda: comment_query(actor=monitor, query=query, text="C"),
    ]

    for step in steps:
        with pytest.raises(ValidationError) as error:
            step()
        assert error.value.messages[0].startswith("Locked: Test vitals (XX) at SCR of subject")

    assert Query.objects.count() == 1
    assert len(thread(query)) == 1
