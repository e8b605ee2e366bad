"""EOT, SFU, SV, DD, DS through the services: every crf-spec check, and the schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from crf import registry
from crf.models import CheckFinding, Visit
from crf.services import CheckError, save_form
from enrollment.demo import screen_and_enrol
from outcomes.services import open_end_of_treatment
from tests.adverse_events.conftest import SERIOUS, save_ae
from visits.demo import treat

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAY1 = START + dt.timedelta(days=5)
LAST_DOSE = DAY1 + dt.timedelta(days=21 + 13)  # end of cycle 2's dosing days
EOTDAT = LAST_DOSE + dt.timedelta(days=3)


@pytest.fixture
def treated(investigator, sites):
    subject = screen_and_enrol(investigator, sites["01"], start=START)
    treat(investigator, subject, day1=DAY1, cycles=2, course="SD")
    return subject


def save(actor, subject, code, values, visit=None, **kwargs):
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=visit,
        values=values,
        complete=True,
        **kwargs,
    )


def end_treatment(actor, subject, **values):
    visit = open_end_of_treatment(actor=actor, subject=subject)
    data = {"decided_on": EOTDAT, "last_dose_on": LAST_DOSE, "reason": "ADVERSE_EVENT"}
    data.update(values)
    return save(actor, subject, "EOT", data, visit=visit)


def codes(obj) -> set[str]:
    return set(
        CheckFinding.objects.filter(object_id=obj.pk, object_model=obj._meta.label).values_list(
            "check_code", flat=True
        )
    )


def test_eot_ends_the_cycles_and_plans_safety_and_survival_follow_up(investigator, treated):
    end_treatment(investigator, treated)

    visits = {v.code: v for v in Visit.objects.filter(subject=treated)}
    assert visits["C3D1"].not_applicable and visits["C10D1"].not_applicable
    assert not visits["C2D1"].not_applicable
    assert visits["EOT"].held_on == EOTDAT
    assert visits["SFU"].planned_date == LAST_DOSE + dt.timedelta(days=30)
    assert visits["SURV1"].planned_date == EOTDAT + dt.timedelta(days=84)
    assert not visits["TA2"].not_applicable  # TAs go on after EOT for reasons other than PD


def test_eot_checks(investigator, treated):
    with pytest.raises(CheckError) as error:
        end_treatment(
            investigator, treated, last_dose_on=DAY1 - dt.timedelta(days=1), reason="OTHER"
        )
    assert {f.check for f in error.value.findings} == {
        "LASTDOSE_not_before_DAY1",
        "EOTRSSP_required_when_EOTRS",
    }
    with pytest.raises(CheckError) as error:
        end_treatment(investigator, treated, decided_on=LAST_DOSE - dt.timedelta(days=1))
    assert {f.check for f in error.value.findings} == {"EOTDAT_not_before_LASTDOSE"}


def test_eot_last_dose_differing_from_exposure_is_queried(investigator, treated):
    eot = end_treatment(investigator, treated, last_dose_on=LAST_DOSE - dt.timedelta(days=2))

    assert codes(eot) == {"LASTDOSE_eq_EXENDAT"}


def test_sfu_outside_its_window_is_queried(investigator, treated):
    end_treatment(investigator, treated)
    sfu_visit = Visit.objects.get(subject=treated, code="SFU")

    sfu = save(
        investigator,
        treated,
        "SFU",
        {
            "contacted_on": LAST_DOSE + dt.timedelta(days=38),
            "contact": "PHONE",
            "new_adverse_events": "N",
        },
        visit=sfu_visit,
    )

    assert codes(sfu) == {"SFUDAT_window"}


def test_sv_new_therapy_needs_its_start_and_type(investigator, treated):
    with pytest.raises(CheckError) as error:
        save(
            investigator,
            treated,
            "SV",
            {
                "contacted_on": EOTDAT + dt.timedelta(days=80),
                "method": "PHONE",
                "status_found": "ALIVE",
                "new_therapy": "Y",
            },
        )
    assert {f.check for f in error.value.findings} == {
        "NACTSTDAT_required_when_NACT",
        "NACTTYPE_required_when_NACT",
    }


def test_death_closes_every_visit_not_held(investigator, treated):
    died = DAY1 + dt.timedelta(days=200)

    save(investigator, treated, "DD", {"died_on": died, "cause": "DISEASE_PROGRESSION"})

    open_visits = Visit.objects.filter(
        subject=treated, not_applicable=False, held_on=None, missed=False
    )
    assert list(open_visits.values_list("code", flat=True)) == []
    assert Visit.objects.get(subject=treated, code="C2D1").not_applicable is False


def test_death_before_another_date_of_the_subject_is_refused(investigator, treated):
    with pytest.raises(CheckError) as error:
        save(investigator, treated, "DD", {"died_on": DAY1, "cause": "UNKNOWN"})

    assert {f.check for f in error.value.findings} == {"DTHDAT_last_date"}


def test_death_with_an_open_ae_not_fatal_is_queried(investigator, treated):
    save_ae(investigator, treated)  # ongoing hypertension, not recovered

    death = save(
        investigator,
        treated,
        "DD",
        {"died_on": DAY1 + dt.timedelta(days=200), "cause": "DISEASE_PROGRESSION"},
    )

    assert codes(death) == {"DTHDAT_open_aes"}


def test_fatal_ae_matches_the_death_date_once_dd_exists(investigator, treated):
    died = DAY1 + dt.timedelta(days=200)
    save(investigator, treated, "DD", {"died_on": died, "cause": "ADVERSE_EVENT"})
    fatal = {
        **SERIOUS,
        "grade": 5,
        "results_in_death": "Y",
        "outcome": "FATAL",
        "ongoing": "N",
        "aware_on": died,
        "narrative": "Died of hypertensive crisis.",
    }

    with pytest.raises(CheckError) as error:
        save_ae(investigator, treated, **fatal, resolved_on=died - dt.timedelta(days=1))
    assert {f.check for f in error.value.findings} == {"AEENDAT_eq_DTHDAT"}

    ae = save_ae(investigator, treated, **fatal, resolved_on=died)
    assert codes(ae) == set()  # the death form exists: no "needs a DD" finding


def test_ds_of_death_without_dd_is_queried(investigator, treated):
    ds = save(
        investigator,
        treated,
        "DS",
        {"ended_on": DAY1 + dt.timedelta(days=60), "reason": "DEATH"},
    )

    assert codes(ds) == {"DSDECOD_death_needs_DD"}


def test_teae_window_closes_30_days_after_the_last_dose(investigator, treated):
    late = save_ae(investigator, treated, onset_on=LAST_DOSE + dt.timedelta(days=31))
    assert late.treatment_emergent == "Y"  # still on treatment when recorded

    end_treatment(investigator, treated)

    late.refresh_from_db()
    assert late.treatment_emergent == "N"


def test_end_treatment_button_opens_the_eot_form(client, investigator, treated):
    client.force_login(investigator)
    page = reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk})
    assert 'data-testid="end-treatment"' in client.get(page).content.decode()

    response = client.post(reverse("outcomes:end_treatment", kwargs={"subject_pk": treated.pk}))

    assert response["Location"] == reverse(
        "crf:visit_form",
        kwargs={"subject_pk": treated.pk, "visit_code": "EOT", "form_code": "EOT"},
    )
    assert 'data-testid="end-treatment"' not in client.get(page).content.decode()


def test_a_death_form_settles_the_fatal_ae_and_ds_queries(investigator, treated):
    died = DAY1 + dt.timedelta(days=200)
    fatal = {
        **SERIOUS,
        "grade": 5,
        "results_in_death": "Y",
        "outcome": "FATAL",
        "ongoing": "N",
        "resolved_on": died,
        "aware_on": died,
        "narrative": "Died of hypertensive crisis.",
    }
    ae = save_ae(investigator, treated, **fatal)
    ds = save(investigator, treated, "DS", {"ended_on": died, "reason": "DEATH"})
    assert (codes(ae), codes(ds)) == ({"AEOUT_fatal_needs_DD"}, {"DSDECOD_death_needs_DD"})

    save(investigator, treated, "DD", {"died_on": died, "cause": "ADVERSE_EVENT"})

    open_codes = set(
        CheckFinding.objects.filter(subject=treated, status="open").values_list(
            "check_code", flat=True
        )
    )
    assert open_codes == set()


def test_closing_the_last_open_ae_settles_the_death_query(investigator, treated):
    from tests.adverse_events.conftest import kwargs_reason

    ae = save_ae(investigator, treated)  # ongoing
    died = DAY1 + dt.timedelta(days=200)
    death = save(investigator, treated, "DD", {"died_on": died, "cause": "DISEASE_PROGRESSION"})
    assert codes(death) == {"DTHDAT_open_aes"}

    save_form(
        actor=investigator,
        spec=registry.get("AE"),
        subject=treated,
        instance=ae,
        values={"ongoing": "N", "resolved_on": died, "outcome": "RECOVERED"},
        complete=True,
        reason=kwargs_reason(ae),
    )

    assert not CheckFinding.objects.filter(object_id=death.pk, status="open").exists()


def test_the_eot_visit_follows_its_decision_date_once_held(investigator, treated):
    # Opened today for a decision taken earlier: the visit moves to the decision date, so
    # the EOT vital signs and labs taken that day are inside its window.
    end_treatment(investigator, treated)

    visit = Visit.objects.get(subject=treated, code="EOT")
    assert (visit.planned_date, visit.window_start, visit.held_on) == (EOTDAT, EOTDAT, EOTDAT)
