"""A survival contact (SV) holds its survival follow-up visit, on every save path, so a
called patient is not an overdue visit; deleting the contact opens the visit again."""

from __future__ import annotations

import datetime as dt

import pytest

from crf import registry
from crf.models import ChangeReason, Visit
from crf.selectors import subject_form_sections
from crf.services import Reason, delete_form
from tests.outcomes.test_outcome_forms import EOTDAT, end_treatment, save, treated  # noqa: F401

pytestmark = pytest.mark.django_db


def contact(on: dt.date) -> dict[str, object]:
    return {"contacted_on": on, "method": "PHONE", "status_found": "ALIVE", "new_therapy": "N"}


def test_a_contact_holds_its_survival_visit_and_deleting_it_opens_it_again(
    investigator,
    treated,  # noqa: F811
) -> None:
    end_treatment(investigator, treated)
    surv1 = Visit.objects.get(subject=treated, code="SURV1")
    on = surv1.planned_date + dt.timedelta(days=2)

    record = save(investigator, treated, "SV", contact(on), today=on)

    surv1.refresh_from_db()
    assert surv1.held_on == on
    section = next(s for s in subject_form_sections(treated) if s.title == "SURV1")
    assert section.status == "done"

    delete_form(
        actor=investigator,
        spec=registry.get("SV"),
        instance=record,
        reason=Reason(ChangeReason.ENTERED_IN_ERROR),
    )

    surv1.refresh_from_db()
    assert surv1.held_on is None


def test_a_contact_recorded_before_the_end_of_treatment_holds_the_visit_once_planned(
    investigator,
    treated,  # noqa: F811
) -> None:
    on = EOTDAT + dt.timedelta(days=84)
    save(investigator, treated, "SV", contact(on), today=on)

    end_treatment(investigator, treated)

    assert Visit.objects.get(subject=treated, code="SURV1").held_on == on


def test_a_death_found_at_a_survival_contact_is_not_refused_by_the_visit_it_holds(
    investigator,
    treated,  # noqa: F811
) -> None:
    end_treatment(investigator, treated)
    surv2 = Visit.objects.get(subject=treated, code="SURV2")  # after the subject's last TA
    found = surv2.planned_date
    died = found - dt.timedelta(days=10)
    save(investigator, treated, "SV", {**contact(found), "status_found": "DEAD"}, today=found)

    death = save(
        investigator,
        treated,
        "DD",
        {"died_on": died, "cause": "DISEASE_PROGRESSION", "autopsy": "N"},
        today=found,
    )

    assert death.died_on == died
    assert Visit.objects.get(subject=treated, code="SURV2").held_on == found


def test_the_subject_page_folds_the_forms_of_visits_that_no_longer_apply(
    client,
    investigator,
    treated,  # noqa: F811
) -> None:
    from django.urls import reverse

    end_treatment(investigator, treated)
    client.force_login(investigator)

    url = reverse("crf:subject_detail", kwargs={"subject_pk": treated.pk})
    page = client.get(url).content.decode()

    c3 = page.split('id="visit-C3D1"')[1].split("</section>")[0]
    assert "Not applicable" in c3
    assert "/visits/C3D1/forms/" not in c3  # no list of forms nobody will fill
    c2 = page.split('id="visit-C2D1"')[1].split("</section>")[0]
    assert "/visits/C2D1/forms/VS/" in c2 and "edc-form-grid" in c2
