"""Visit forms through the services and pages: schedule, Day 1 moves, VS/LB/CP/EX, TA."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crf import registry
from crf.models import CheckFinding, Visit
from crf.services import CheckError, save_form
from enrollment.demo import screen_and_enrol
from study import protocol
from visits.models import LiverScores, TumourAssessment

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
PLDAY1 = START + dt.timedelta(days=5)


@pytest.fixture
def enrolled(investigator, sites):
    return screen_and_enrol(investigator, sites["01"], start=START)


def visit(subject, code: str) -> Visit:
    return Visit.objects.get(subject=subject, code=code)


def save(actor, subject, code: str, visit_code: str, values: dict, **kwargs):
    return save_form(
        actor=actor,
        spec=registry.get(code),
        subject=subject,
        visit=visit(subject, visit_code),
        values=values,
        complete=True,
        **kwargs,
    )


def test_enrolment_creates_the_schedule_from_the_planned_day1(enrolled) -> None:
    c2 = visit(enrolled, "C2D1")
    ta1 = visit(enrolled, "TA1")

    assert (c2.planned_date, c2.window_start, c2.window_end) == (
        PLDAY1 + dt.timedelta(days=protocol.CYCLE_LENGTH_DAYS),
        PLDAY1 + dt.timedelta(days=protocol.CYCLE_LENGTH_DAYS - protocol.CYCLE_VISIT_WINDOW_DAYS),
        PLDAY1 + dt.timedelta(days=protocol.CYCLE_LENGTH_DAYS + protocol.CYCLE_VISIT_WINDOW_DAYS),
    )
    assert ta1.planned_date == PLDAY1 + dt.timedelta(days=protocol.TA_INTERVAL_DAYS - 1)
    assert (
        Visit.objects.filter(subject=enrolled, code__startswith="TA").count()
        == protocol.MAX_TUMOUR_ASSESSMENTS
    )


def test_the_actual_first_dose_moves_every_visit_not_yet_held(investigator, enrolled) -> None:
    actual = PLDAY1 + dt.timedelta(days=2)
    save(
        investigator,
        enrolled,
        "EX",
        "C1D1",
        {
            "first_dose_on": actual,
            "last_dose_on": actual + dt.timedelta(days=13),
            "dose_mg": "12",
            "days_dosed": 14,
            "interrupted": "N",
            "reduced": "N",
        },
    )

    assert visit(enrolled, "C2D1").planned_date == actual + dt.timedelta(
        days=protocol.CYCLE_LENGTH_DAYS
    )
    assert visit(enrolled, "TA1").planned_date == actual + dt.timedelta(
        days=protocol.TA_INTERVAL_DAYS - 1
    )
    assert visit(enrolled, "C1D1").held_on == actual


def test_vitals_outside_the_window_are_kept_with_a_soft_finding(investigator, enrolled) -> None:
    c2 = visit(enrolled, "C2D1")
    late = c2.window_end + dt.timedelta(days=1)

    form = save(
        investigator,
        enrolled,
        "VS",
        "C2D1",
        {
            "assessed_on": late,
            "systolic_bp": 120,
            "diastolic_bp": 80,
            "weight_kg": Decimal("60.0"),
            "ecog": 1,
        },
    )

    assert form.assessed_on == late
    codes = CheckFinding.objects.filter(object_id=form.pk).values_list("check_code", flat=True)
    assert sorted(codes) == ["VSDAT_window", "VSDAT_window_deviation"]


def test_diastolic_must_be_below_systolic(investigator, enrolled) -> None:
    with pytest.raises(CheckError) as refused:
        save(
            investigator,
            enrolled,
            "VS",
            "C1D1",
            {
                "assessed_on": PLDAY1,
                "systolic_bp": 120,
                "diastolic_bp": 120,
                "weight_kg": Decimal("60.0"),
                "ecog": 1,
            },
        )
    assert [f.check for f in refused.value.findings] == ["DIABP_lt_SYSBP"]


def test_child_pugh_and_albi_come_from_the_same_visits_labs(investigator, enrolled) -> None:
    save(
        investigator,
        enrolled,
        "LB",
        "C1D1",
        {"sampled_on": PLDAY1, "tbil": Decimal("34"), "alb": Decimal("35"), "inr": Decimal("1.7")},
    )

    form = save(investigator, enrolled, "CP", "C1D1", {"ascites": "NONE", "encephalopathy": "NONE"})

    form = LiverScores.objects.get(pk=form.pk)
    assert (form.child_pugh_score, form.child_pugh_class) == (8, "B")  # 2 + 2 + 2 + 1 + 1
    assert form.albi_grade == 2


def test_a_dose_never_goes_back_up(investigator, enrolled) -> None:
    save(
        investigator,
        enrolled,
        "EX",
        "C1D1",
        {
            "first_dose_on": PLDAY1,
            "last_dose_on": PLDAY1 + dt.timedelta(days=13),
            "dose_mg": "10",
            "days_dosed": 14,
            "interrupted": "N",
            "reduced": "N",
        },
    )
    c2 = visit(enrolled, "C2D1").planned_date
    with pytest.raises(CheckError) as refused:
        save(
            investigator,
            enrolled,
            "EX",
            "C2D1",
            {
                "first_dose_on": c2,
                "last_dose_on": c2 + dt.timedelta(days=13),
                "dose_mg": "12",
                "days_dosed": 14,
                "interrupted": "N",
                "reduced": "N",
            },
        )
    assert [f.check for f in refused.value.findings] == ["EXDOSE_no_increase"]


def _ta_post(
    visit_code: str,
    scanned: str,
    targets: list[tuple[str, str, str, str]],
    extra: dict | None = None,
) -> dict:
    data = {
        "version": "0",
        "scanned_on": scanned,
        "method": "CT",
        "mark_complete": "on",
        "tl-TOTAL_FORMS": str(len(targets)),
        "tl-INITIAL_FORMS": "0",
        "tl-MIN_NUM_FORMS": "0",
        "tl-MAX_NUM_FORMS": "1000",
        "ntl-TOTAL_FORMS": "0",
        "ntl-INITIAL_FORMS": "0",
        "ntl-MIN_NUM_FORMS": "0",
        "ntl-MAX_NUM_FORMS": "1000",
        "nl-TOTAL_FORMS": "0",
        "nl-INITIAL_FORMS": "0",
        "nl-MIN_NUM_FORMS": "0",
        "nl-MAX_NUM_FORMS": "1000",
    }
    for i, (lesion, organ, status, diameter) in enumerate(targets):
        data |= {
            f"tl-{i}-lesion_id": lesion,
            f"tl-{i}-organ": organ,
            f"tl-{i}-is_node": "N",
            f"tl-{i}-status": status,
            f"tl-{i}-diameter_mm": diameter,
        }
    return data | (extra or {})


def test_baseline_with_three_targets_and_a_follow_up_with_one_gone(
    client, investigator, enrolled
) -> None:
    client.force_login(investigator)

    def url(code):
        return reverse(
            "crf:visit_form",
            kwargs={"subject_pk": enrolled.pk, "visit_code": code, "form_code": "TA"},
        )

    baseline = client.post(
        url("SCR"),
        _ta_post(
            "SCR",
            PLDAY1.isoformat(),
            [
                ("T01", "LIVER", "MEASURED", "30"),
                ("T02", "LIVER", "MEASURED", "20"),
                ("T03", "LUNG", "MEASURED", "10"),
            ],
        ),
    )
    assert baseline.status_code == 302
    assert TumourAssessment.objects.get(visit__code="SCR").sum_mm == Decimal("60.0")

    page = client.get(url("TA1")).content.decode()
    assert 'value="T01"' in page and 'value="T03"' in page  # carried forward

    ta1_day = visit(enrolled, "TA1").planned_date.isoformat()
    follow_up = client.post(
        url("TA1"),
        _ta_post(
            "TA1",
            ta1_day,
            [
                ("T01", "LIVER", "MEASURED", "20"),
                ("T02", "LIVER", "MEASURED", "15"),
                ("T03", "LUNG", "DISAPPEARED", "0"),
            ],
            {"investigator_response": "PR"},
        ),
    )
    assert follow_up.status_code == 302
    ta1 = TumourAssessment.objects.get(visit__code="TA1")
    assert (
        ta1.sum_mm,
        ta1.change_from_baseline_pct,
        ta1.target_response,
        ta1.overall_response,
    ) == (Decimal("35.0"), Decimal("-41.67"), "PR", "PR")


def test_baseline_refuses_what_recist_forbids_with_the_rule(client, investigator, enrolled) -> None:
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": enrolled.pk, "visit_code": "SCR", "form_code": "TA"}
    )

    response = client.post(
        url,
        _ta_post(
            "SCR",
            PLDAY1.isoformat(),
            [
                ("T01", "LIVER", "MEASURED", "30"),
                ("T02", "LIVER", "MEASURED", "20"),
                ("T03", "LIVER", "MEASURED", "15"),
            ],
        ),
    )

    assert response.status_code == 200
    assert "At most 2 target lesions per organ" in response.content.decode()
    assert not TumourAssessment.objects.exists()


def test_adding_a_lesion_row_saves_nothing_and_keeps_the_values(
    client, investigator, enrolled
) -> None:
    client.force_login(investigator)
    url = reverse(
        "crf:visit_form", kwargs={"subject_pk": enrolled.pk, "visit_code": "SCR", "form_code": "TA"}
    )
    data = _ta_post(
        "SCR", PLDAY1.isoformat(), [("T01", "LIVER", "MEASURED", "30")], {"add_row": "TL"}
    )

    response = client.post(url, data)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="tl-TOTAL_FORMS" value="2"' in page
    assert 'name="tl-0-lesion_id" value="T01"' in page and 'name="tl-1-lesion_id"' in page
    assert "is required" not in page
    assert not TumourAssessment.objects.exists()


def test_tumour_assessments_after_progression_no_longer_apply(investigator, enrolled) -> None:
    from visits.demo import treat

    treat(investigator, enrolled, day1=PLDAY1, cycles=1, course="PD")  # PD at TA1

    ta = {v.code: v for v in Visit.objects.filter(subject=enrolled, code__startswith="TA")}
    assert ta["TA1"].not_applicable is False
    assert all(ta[f"TA{k}"].not_applicable for k in range(2, protocol.MAX_TUMOUR_ASSESSMENTS + 1))
    assert visit(enrolled, "C2D1").not_applicable is False  # cycles stop at EOT, not at PD


def test_the_cp_page_shows_the_derived_scores(client, investigator, enrolled) -> None:
    save(
        investigator,
        enrolled,
        "LB",
        "C1D1",
        {"sampled_on": PLDAY1, "tbil": Decimal("20"), "alb": Decimal("40"), "inr": Decimal("1.0")},
    )
    save(investigator, enrolled, "CP", "C1D1", {"ascites": "NONE", "encephalopathy": "NONE"})
    client.force_login(investigator)

    page = client.get(
        reverse(
            "crf:visit_form",
            kwargs={"subject_pk": enrolled.pk, "visit_code": "C1D1", "form_code": "CP"},
        )
    ).content.decode()

    derived = page.split('data-testid="derived"')[1].split("</dl>")[0]
    assert '(CPSCORE)</span></dt><dd class="col-6 col-md-3 mb-1">5</dd>' in derived
    assert '(CPCLASS)</span></dt><dd class="col-6 col-md-3 mb-1">A</dd>' in derived
