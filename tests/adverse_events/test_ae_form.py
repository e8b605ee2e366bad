"""The AE form through crf.services: every crf-spec AE check, SOC and TEAE derived."""

from __future__ import annotations

import datetime as dt

import pytest

from adverse_events.models import AdverseEvent
from crf.models import AuditEntry, CheckFinding
from crf.services import CheckError

from .conftest import DAY1, SERIOUS, START, save_ae

pytestmark = pytest.mark.django_db


def refused(investigator, subject, **values) -> set[str]:
    with pytest.raises(CheckError) as error:
        save_ae(investigator, subject, **values)
    return {finding.check for finding in error.value.findings}


def test_ae_derives_soc_and_treatment_emergent_from_day1(investigator, treated) -> None:
    ae = save_ae(investigator, treated)

    assert (ae.soc, ae.treatment_emergent) == ("Vascular disorders", "Y")


def test_ae_before_day1_is_not_treatment_emergent(investigator, treated) -> None:
    ae = save_ae(investigator, treated, onset_on=DAY1 - dt.timedelta(days=1))

    assert ae.treatment_emergent == "N"


def test_ae_on_day1_is_treatment_emergent(investigator, treated) -> None:
    assert save_ae(investigator, treated, onset_on=DAY1).treatment_emergent == "Y"


def test_ae_term_must_come_from_ctcae(investigator, treated) -> None:
    assert refused(investigator, treated, term="High blood pressure") == {"AETERM_ctcae"}


def test_ae_other_specify_needs_the_verbatim_term(investigator, treated) -> None:
    checks = refused(investigator, treated, term="Vascular disorders - Other, specify", grade=2)

    assert checks == {"AETERMSP_required_other"}


def test_ae_grade_must_be_one_the_term_defines(investigator, treated) -> None:
    # CTCAE v5.0 "Alopecia" defines grades 1 and 2 only.
    assert refused(investigator, treated, term="Alopecia", grade=3) == {"AETOXGR_defined"}


def test_ae_end_before_onset_is_refused(investigator, treated) -> None:
    checks = refused(
        investigator,
        treated,
        ongoing="N",
        outcome="RECOVERED",
        resolved_on=DAY1 + dt.timedelta(days=6),
    )
    assert checks == {"AEENDAT_not_before_AESTDAT"}


def test_ae_ongoing_with_an_end_date_is_refused(investigator, treated) -> None:
    checks = refused(investigator, treated, resolved_on=DAY1 + dt.timedelta(days=9))

    assert checks == {"AEENDAT_empty_when_ongoing"}


def test_ae_not_ongoing_needs_an_end_date(investigator, treated) -> None:
    checks = refused(investigator, treated, ongoing="N", outcome="RECOVERED")

    assert checks == {"AEENDAT_required_when_not_ongoing", "AEENDAT_required_when_resolved"}


def test_ae_not_recovered_must_be_ongoing(investigator, treated) -> None:
    checks = refused(investigator, treated, ongoing="N", resolved_on=DAY1 + dt.timedelta(days=9))
    assert checks == {"AEONGO_when_not_recovered"}


def test_ae_grade5_exactly_when_fatal(investigator, treated) -> None:
    assert "AETOXGR_5_iff_fatal" in refused(investigator, treated, grade=5)
    end = DAY1 + dt.timedelta(days=9)
    checks = refused(investigator, treated, outcome="FATAL", ongoing="N", resolved_on=end, grade=3)
    assert "AETOXGR_5_iff_fatal" in checks


def test_fatal_ae_without_a_death_form_raises_a_soft_finding(investigator, treated) -> None:
    end = DAY1 + dt.timedelta(days=9)
    ae = save_ae(
        investigator,
        treated,
        outcome="FATAL",
        ongoing="N",
        resolved_on=end,
        **{**SERIOUS, "grade": 5, "results_in_death": "Y"},
        aware_on=end,
        narrative="Died of hypertensive crisis.",
    )
    codes = set(CheckFinding.objects.filter(object_id=ae.pk).values_list("check_code", flat=True))
    assert codes == {"AEOUT_fatal_needs_DD"}


def test_serious_needs_a_criterion_and_a_criterion_needs_serious(investigator, treated) -> None:
    checks = refused(
        investigator,
        treated,
        **{**SERIOUS, "hospitalisation": "N"},
        aware_on=DAY1 + dt.timedelta(days=8),
        narrative="Admitted for blood pressure control.",
    )
    assert checks == {"AESER_needs_criterion"}
    assert refused(investigator, treated, hospitalisation="Y") == {"AESHOSP_implies_AESER"}


def test_serious_needs_awareness_date_and_criteria(investigator, treated) -> None:
    checks = refused(investigator, treated, serious="Y", hospitalisation="Y")

    assert checks == {
        "SAEAWDAT_required_when_AESER",
        "AESDTH_required_when_AESER",
        "AESLIFE_required_when_AESER",
        "AESDISAB_required_when_AESER",
        "AESCONG_required_when_AESER",
        "AESMIE_required_when_AESER",
        "SAENARR_required_when_AESER",
    }


def test_serious_may_be_saved_before_its_narrative_but_not_completed(investigator, treated) -> None:
    aware = DAY1 + dt.timedelta(days=8)
    ae = save_ae(investigator, treated, complete=False, **SERIOUS, aware_on=aware)
    assert ae.status == "in_progress"

    with pytest.raises(CheckError) as error:
        save_ae(investigator, treated, instance=ae, complete=True)
    assert {f.check for f in error.value.findings} == {"SAENARR_required_when_AESER"}


def test_onset_before_consent_is_refused(investigator, treated) -> None:
    assert refused(investigator, treated, onset_on=START - dt.timedelta(days=1)) == {
        "AESTDAT_not_before_ICDAT"
    }


def test_every_ae_change_is_audited_with_old_and_new_values(investigator, treated) -> None:
    ae = save_ae(investigator, treated)
    save_ae(investigator, treated, instance=ae, grade=3)

    entry = AuditEntry.objects.get(form_code="AE", variable="AETOXGR", action="update")
    assert (entry.old_value, entry.new_value, entry.reason_code) == (
        "2",
        "3",
        "NEW_SOURCE_INFORMATION",
    )


def test_teae_follows_a_corrected_first_dose(investigator, treated) -> None:
    from crf import registry
    from crf.models import Visit
    from crf.services import Reason, save_form
    from visits.models import Exposure

    ae = save_ae(investigator, treated, onset_on=DAY1 + dt.timedelta(days=1))
    exposure = Exposure.objects.get(subject=treated, visit__code="C1D1")
    save_form(
        actor=investigator,
        spec=registry.get("EX"),
        subject=treated,
        visit=Visit.objects.get(subject=treated, code="C1D1"),
        instance=exposure,
        values={"first_dose_on": DAY1 + dt.timedelta(days=2)},
        complete=True,
        reason=Reason("TRANSCRIPTION_ERROR"),
    )

    ae.refresh_from_db()
    assert ae.treatment_emergent == "N"
    entry = AuditEntry.objects.filter(form_code="AE", variable="TEAE").last()
    assert (entry.old_value, entry.new_value, entry.reason_code, entry.source) == (
        "Y",
        "N",
        "DERIVATION",
        "service",
    )
    assert AdverseEvent.objects.count() == 1
