"""Rules every form shares, applied once in crf.services.save_form: no date in the future
(unless crf-spec allows it), no control character in text, one line in a single-line field.

Walks every registered form (crf.registry.all_forms), its variables and its repeating
groups', so a form added later is covered without a line here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crf import registry
from crf.checks import (
    Severity,
    control_character_finding,
    forbidden_character,
    future_date_finding,
)
from crf.models import AuditEntry, Visit, VisitKind
from crf.partial_dates import in_future
from crf.registry import FormSpec
from crf.services import CheckError, save_form, site_today

TODAY = dt.date(2026, 12, 1)
TOMORROW = TODAY + dt.timedelta(days=1)

# crf-spec "Forms": the dates marked *partial*.
CRF_SPEC_PARTIAL_DATES = {"BRTHDAT", "DIAGDAT", "LENSTDAT", "LENENDAT", "CMSTDAT", "CMENDAT"}
# crf-spec: the only date allowed after today is ENR PLDAY1, the planned Day 1 (≤ ENRDAT + 7).
CRF_SPEC_FUTURE_DATES = {("ENR", "PLDAY1")}

VISIT_CODES = {
    VisitKind.SCREENING: "SCR",
    VisitKind.CYCLE: "C1D1",
    VisitKind.TUMOUR_ASSESSMENT: "TA1",
    VisitKind.END_OF_TREATMENT: "EOT",
    VisitKind.SAFETY_FOLLOW_UP: "SFU",
    VisitKind.SURVIVAL_FOLLOW_UP: "SURV1",
    VisitKind.UNSCHEDULED: "UNS1",
}


def _variables(keep: Any) -> list[Any]:
    """(form, group or None, variable) of every registered form that ``keep`` selects."""
    found = []
    for spec in registry.all_forms():
        for variable in spec.input_variables:
            if keep(variable):
                found.append(
                    pytest.param(spec.code, None, variable.name, id=f"{spec.code}-{variable.name}")
                )
        for group in spec.groups:
            for variable in group.variables:
                if keep(variable):
                    found.append(
                        pytest.param(
                            spec.code,
                            group.name,
                            variable.name,
                            id=f"{spec.code}-{group.name}-{variable.name}",
                        )
                    )
    return found


def _is_date(variable: Any) -> bool:
    return variable.is_date or variable.is_partial_date


DATES = _variables(_is_date)
TEXTS = _variables(lambda variable: variable.is_text)


def _visit(spec: FormSpec, subject: Any) -> Visit | None:
    if spec.is_log:
        return None
    kind = spec.visit_kinds[0]
    return Visit.objects.get_or_create(
        subject=subject, code=VISIT_CODES[VisitKind(kind)], defaults={"kind": kind}
    )[0]


def _save(
    actor: Any, subject: Any, code: str, group: str | None, name: str, value: Any, **kwargs: Any
) -> Any:
    """Save ``value`` as variable ``name`` (of a row of ``group``) of form ``code``."""
    spec = registry.get(code)
    visit = _visit(spec, subject)
    active = spec.model.objects.filter(subject=subject, is_deleted=False)
    instance = active.first() if spec.once_per_subject else active.filter(visit=visit).first()
    if spec.is_log and not spec.once_per_subject:
        instance = None
    values: dict[str, Any] = {}
    groups = None
    if group is None:
        values[spec.variable(name).field_name] = value
    else:
        row_spec = spec.group(group)
        row = {row_spec.variable(row_spec.key).field_name: "K01"}
        row[row_spec.variable(name).field_name] = value
        groups = {group: [row]}
    return save_form(
        actor=actor,
        spec=spec,
        subject=subject,
        visit=visit,
        instance=instance,
        values=values,
        groups=groups,
        **kwargs,
    )


def _checks_fired(call: Any) -> set[str]:
    try:
        call()
    except CheckError as error:
        return {finding.check for finding in error.findings}
    except ValidationError:
        return set()  # e.g. a reason for change: the checks passed
    return set()


def _partial_or_date(code: str, group: str | None, name: str, day: dt.date) -> Any:
    spec = registry.get(code)
    variable = spec.group(group).variable(name) if group else spec.variable(name)
    return day.isoformat() if variable.is_partial_date else day


# --- the pure rules -----------------------------------------------------------------------


def test_partial_date_in_the_future_at_year_precision() -> None:
    assert in_future("2027", TODAY) is True
    assert in_future("2026", TODAY) is False


def test_partial_date_in_the_future_at_month_precision() -> None:
    assert in_future("2027-01", TODAY) is True
    assert in_future("2026-12", TODAY) is False
    assert in_future("2026-11", TODAY) is False


def test_partial_date_in_the_future_at_day_precision() -> None:
    assert in_future("2026-12-02", TODAY) is True
    assert in_future("2026-12-01", TODAY) is False


def test_future_date_finding_names_the_field_the_value_and_today() -> None:
    finding = future_date_finding("EXENDAT", TOMORROW, TODAY, label="Last dosing day of the cycle")

    assert finding is not None
    assert (finding.variable, finding.severity, finding.check) == (
        "EXENDAT",
        Severity.HARD,
        "EXENDAT_not_future",
    )
    assert str(finding.message) == (
        "Last dosing day of the cycle (EXENDAT) cannot be in the future: "
        "2026-12-02 is after today (2026-12-01)."
    )


def test_future_date_finding_of_a_group_row_names_the_row() -> None:
    finding = future_date_finding("NLDAT", TOMORROW, TODAY, label="Date first seen", row=2)

    assert finding is not None
    assert str(finding.message).startswith("Date first seen (NLDAT) in row 2 cannot be")


def test_future_date_finding_ignores_today_empty_and_unreadable_values() -> None:
    assert future_date_finding("EXENDAT", TODAY, TODAY) is None
    assert future_date_finding("EXENDAT", None, TODAY) is None
    assert future_date_finding("BRTHDAT", "", TODAY) is None
    assert future_date_finding("BRTHDAT", "20x7", TODAY) is None  # the format check says so


def test_single_line_text_refuses_line_breaks_and_control_characters() -> None:
    assert forbidden_character("crisis\r\nBcc: x@y", multiline=False) == "\r"
    assert forbidden_character("crisis\nBcc: x@y", multiline=False) == "\n"
    assert forbidden_character("a\u2028b", multiline=False) == "\u2028"
    assert forbidden_character("a\tb", multiline=False) == "\t"
    assert forbidden_character("a\x00b", multiline=False) == "\x00"
    assert forbidden_character("高血压危象 (crisis)", multiline=False) is None


def test_multi_line_text_keeps_line_breaks_and_tabs_only() -> None:
    assert forbidden_character("Admitted.\r\nAmlodipine\tstarted.", multiline=True) is None
    assert forbidden_character("bell\x07", multiline=True) == "\x07"
    assert forbidden_character("escape\x1b[31m", multiline=True) == "\x1b"
    assert forbidden_character("form feed\x0c", multiline=True) == "\x0c"
    assert forbidden_character("next line\x85", multiline=True) == "\x85"


def test_control_character_messages_say_what_to_remove() -> None:
    line = control_character_finding(
        "AETERMSP", "crisis\r\nBcc: x@y", multiline=False, label="Term, if other"
    )
    bell = control_character_finding("SAENARR", "bell\x07", multiline=True, label="SAE narrative")

    assert line is not None and bell is not None
    assert (line.check, line.severity) == ("AETERMSP_control_characters", Severity.HARD)
    assert (
        str(line.message)
        == "Term, if other (AETERMSP) must be a single line: remove the line break."
    )
    assert str(bell.message) == (
        "SAE narrative (SAENARR) contains an invisible control character (U+0007): remove it."
    )


# --- the registry knows which variables the rules apply to ---------------------------------


def test_the_partial_dates_are_those_crf_spec_marks_partial() -> None:
    partial = {
        variable.name
        for spec in registry.all_forms()
        for variable in (*spec.variables, *(v for g in spec.groups for v in g.variables))
        if variable.is_partial_date
    }

    assert partial == CRF_SPEC_PARTIAL_DATES


def test_only_the_dates_crf_spec_allows_may_be_in_the_future() -> None:
    declared = {(spec.code, name) for spec in registry.all_forms() for name in spec.future_dates}

    assert declared == CRF_SPEC_FUTURE_DATES


def test_a_form_cannot_declare_a_future_date_that_is_no_date() -> None:
    spec = registry.get("ENR")

    with pytest.raises(ValueError, match="are no dates"):
        registry.register(
            spec.model,
            code="ENR_TEST",
            title="x",
            visit_kinds=spec.visit_kinds,
            future_dates=["ENRDAT", "NOPE"],
        )


# --- every form, through save_form ----------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytestmark_db
@pytest.mark.parametrize(("code", "group", "name"), DATES)
def test_every_date_refuses_tomorrow_unless_declared(
    investigator, subject01, code: str, group: str | None, name: str
) -> None:
    value = _partial_or_date(code, group, name, TOMORROW)
    before = AuditEntry.objects.count()

    fired = _checks_fired(
        lambda: _save(investigator, subject01, code, group, name, value, today=TODAY)
    )

    if (code, name) in CRF_SPEC_FUTURE_DATES:
        assert f"{name}_not_future" not in fired
    else:
        assert f"{name}_not_future" in fired
        assert AuditEntry.objects.count() == before


@pytestmark_db
@pytest.mark.parametrize(("code", "group", "name"), DATES)
def test_every_date_accepts_today(
    investigator, subject01, code: str, group: str | None, name: str
) -> None:
    value = _partial_or_date(code, group, name, TODAY)

    fired = _checks_fired(
        lambda: _save(investigator, subject01, code, group, name, value, today=TODAY)
    )

    assert f"{name}_not_future" not in fired


@pytestmark_db
@pytest.mark.parametrize(("code", "group", "name"), TEXTS)
def test_every_text_refuses_a_control_character(
    investigator, subject01, code: str, group: str | None, name: str
) -> None:
    fired = _checks_fired(
        lambda: _save(investigator, subject01, code, group, name, "T01\x1b[2J", today=TODAY)
    )

    assert f"{name}_control_characters" in fired


@pytestmark_db
@pytest.mark.parametrize(("code", "group", "name"), TEXTS)
def test_every_text_takes_line_breaks_only_when_multi_line(
    investigator, subject01, code: str, group: str | None, name: str
) -> None:
    spec = registry.get(code)
    variable = spec.group(group).variable(name) if group else spec.variable(name)

    fired = _checks_fired(
        lambda: _save(investigator, subject01, code, group, name, "crisis\r\nBcc: x@y", today=TODAY)
    )

    assert (f"{name}_control_characters" in fired) is (not variable.is_multiline)


@pytest.mark.django_db
def test_the_refusal_is_at_the_field_of_the_form(investigator, subject01) -> None:
    with pytest.raises(CheckError) as refused:
        _save(investigator, subject01, "XX", None, "XXDAT", TOMORROW, today=TODAY)

    assert refused.value.message_dict["assessed_on"] == [
        "Date (XXDAT) cannot be in the future: 2026-12-02 is after today (2026-12-01)."
    ]


@pytest.mark.django_db
def test_a_partial_date_at_year_precision_is_refused_in_the_future(investigator, subject01) -> None:
    with pytest.raises(CheckError) as refused:
        _save(investigator, subject01, "DM", None, "BRTHDAT", "2027", today=TODAY)

    assert refused.value.message_dict["birth_date"][0] == (
        "Date of birth (BRTHDAT) cannot be in the future: 2027 is after today (2026-12-01)."
    )


@pytest.mark.django_db
def test_a_partial_date_of_this_month_is_not_in_the_future(investigator, subject01) -> None:
    fired = _checks_fired(
        lambda: _save(investigator, subject01, "DM", None, "BRTHDAT", "2026-12", today=TODAY)
    )

    assert "BRTHDAT_not_future" not in fired


@pytest.mark.django_db
def test_today_is_the_sites_date_not_the_servers(investigator, subject01) -> None:
    """UTC+14 is always a day ahead of UTC-11: the same date is today at one, tomorrow at the other."""
    ahead = timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Kiritimati"))
    site = subject01.site

    site.time_zone = "Pacific/Kiritimati"
    site.save()
    subject01.refresh_from_db()
    assert site_today(subject01) == ahead
    fired_ahead = _checks_fired(lambda: _save(investigator, subject01, "XL", None, "XLDAT", ahead))

    site.time_zone = "Pacific/Pago_Pago"
    site.save()
    subject01.refresh_from_db()
    fired_behind = _checks_fired(lambda: _save(investigator, subject01, "XL", None, "XLDAT", ahead))

    assert "XLDAT_not_future" not in fired_ahead
    assert "XLDAT_not_future" in fired_behind


# --- the EX last dose of the issue, through the web form and the import --------------------


@pytest.fixture
def dosing(investigator, sites) -> Any:
    """A subject enrolled recently: Day 1 ten days ago at the site, C1D1 not yet entered."""
    from enrollment.demo import screen_and_enrol

    day1 = timezone.localdate(timezone=zoneinfo.ZoneInfo(sites["01"].time_zone)) - dt.timedelta(
        days=10
    )
    return screen_and_enrol(investigator, sites["01"], start=day1 - dt.timedelta(days=5))


def _ex_post(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "first_dose_on": first.isoformat(),
        "last_dose_on": last.isoformat(),
        "dose_mg": "12",
        "days_dosed": "14",
        "interrupted": "N",
        "reduced": "N",
        "tablets_dispensed": "14",
        "tablets_returned": "0",
        "version": "0",
    }


@pytest.mark.django_db
def test_ex_last_dose_after_today_is_refused_at_its_field_in_the_web_form(
    client, investigator, dosing
) -> None:
    from visits.models import Exposure

    today = site_today(dosing)
    first, last = today - dt.timedelta(days=10), today + dt.timedelta(days=3)
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": dosing.pk, "visit_code": "C1D1", "form_code": "EX"}
    )

    response = client.post(url, _ex_post(first, last))

    assert response.status_code == 200
    message = (
        f"Last dosing day of the cycle (EXENDAT) cannot be in the future: "
        f"{last.isoformat()} is after today ({today.isoformat()})."
    )
    assert response.context["form"].errors["last_dose_on"] == [message]
    assert message in response.content.decode()
    assert not Exposure.objects.filter(subject=dosing).exists()


@pytest.mark.django_db
def test_ex_last_dose_after_today_is_listed_by_the_import_which_writes_nothing(
    people, investigator, dosing
) -> None:
    from crf.datafile import export_document, import_document
    from study.models import Role
    from visits.models import Exposure

    today = site_today(dosing)
    _save(
        investigator,
        dosing,
        "EX",
        None,
        "EXSTDAT",
        today - dt.timedelta(days=10),
    )
    exposure = Exposure.objects.get(subject=dosing)
    data_manager = people[Role.DATA_MANAGER]
    document = export_document(user=data_manager)
    ex = next(
        form
        for subject in document["subjects"]
        for form in subject["forms"]
        if form["form"] == "EX"
    )
    late = (today + dt.timedelta(days=3)).isoformat()
    ex["data"]["EXENDAT"] = late
    before = AuditEntry.objects.count()

    report = import_document(
        document=document, actor=data_manager, reason="Corrected from source", file_sha256="0" * 64
    )

    assert [(e.subject, e.visit, e.form, e.variable) for e in report.errors] == [
        (dosing.label, "C1D1", "EX", "EXENDAT")
    ]
    assert report.errors[0].message == (
        f"Last dosing day of the cycle (EXENDAT) cannot be in the future: "
        f"{late} is after today ({today.isoformat()})."
    )
    assert AuditEntry.objects.count() == before
    assert Exposure.objects.get(pk=exposure.pk).last_dose_on is None


@pytest.mark.django_db
def test_a_line_break_in_the_ae_other_term_is_listed_by_the_import(
    people, investigator, dosing
) -> None:
    from adverse_events.models import AdverseEvent
    from crf.datafile import export_document, import_document
    from study.models import Role

    data_manager = people[Role.DATA_MANAGER]
    document = export_document(user=data_manager)
    subject = next(s for s in document["subjects"] if s["subject_id"] == dosing.subject_id)
    subject["forms"].append(
        {
            "form": "AE",
            "data": {
                "AETERM": "Vascular disorders - Other, specify",
                "AETERMSP": "crisis\r\nBcc: x@y",
                "AESTDAT": site_today(dosing).isoformat(),
                "AEONGO": "Y",
                "AETOXGR": 3,
                "AESER": "N",
            },
        }
    )

    report = import_document(
        document=document, actor=data_manager, reason="Paper CRFs", file_sha256="1" * 64
    )

    assert [(e.form, e.variable, e.message) for e in report.errors] == [
        (
            "AE",
            "AETERMSP",
            "Term, if other (AETERMSP) must be a single line: remove the line break.",
        )
    ]
    assert not AdverseEvent.objects.exists()
