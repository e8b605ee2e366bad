"""The demo study's data management (make run): what a monitor, a data manager and the
site 01 PI find on their pages the first time they sign in (issue 12).

Built after the clinical demo (outcomes' ``seed_demo`` command), through the services alone
(queries, sdv, signatures, crf.services.save_form), so every step is in the subjects'
audit chains:

- Source data verification by the monitor (``sdv.seed_demo``): the screening visit in full
  and C1D1 but its Day 1, for site 01's first four subjects and 02-001.
- Queries raised by the monitor (automatic queries come by themselves from the soft
  findings of the clinical demo):
  * 01-001, its latest tumour assessment, a target lesion's diameter: the investigator
    corrected it ("Correction in response to a query") and answered; the monitor closed
    the query and verified the form (its critical values one by one, then the rest).
  * 01-002, its latest tumour assessment, a target lesion's diameter: corrected and
    answered, awaiting the monitor. The correction invalidated the PI's signature of that
    visit (signed before the query): the subject is back in the PI's signing queue.
  * 01-003, the weight of its latest cycle visit: open, awaiting the site.
  * 02-001, the laboratory form of its latest cycle visit (the whole form): open.
- The site 01 PI (``investigator``) signed 01-001's screening visit: a valid signature.
- No lock: locking is left for a user to try.

Deterministic for a given day (the subjects, lesions and texts follow the clinical demo);
the steps are dated when the demo is built (the services' clock), never after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from crf import registry
from crf.models import ChangeReason, FormStatus, Visit, VisitKind
from crf.services import Reason, save_form
from data_management import queries, sdv, sdv_selectors, signatures
from data_management.models import Query, Signature
from study.models import Subject

# Whose casebooks the monitor has started to verify: the first of site 01, one of site 02
# (each subject costs the demo about 0.3 s).
SDV_SUBJECTS = ("01-001", "01-002", "01-003", "01-004", "02-001")


@dataclass
class DemoDataManagement:
    """What was built (the command's summary and the tests read it)."""

    values_verified: int = 0
    queries: dict[str, Query] = field(default_factory=dict)  # by state in the tour
    signed: Signature | None = None
    invalidated: Signature | None = None


def _user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def _subject(label: str) -> Subject:
    return Subject.objects.select_related("site").get(subject_id=label)


def _latest_measured_lesion(subject: Subject) -> tuple[Any, Any]:
    """The subject's latest tumour assessment with a measured target lesion, and that
    lesion (the first measured row)."""
    forms: Any = registry.get("TA").model.objects.filter(subject=subject, is_deleted=False)
    for form in forms.select_related("visit").order_by("-visit__planned_date", "-pk"):
        rows = form.targets.filter(is_deleted=False, status="MEASURED").order_by("lesion_id")
        row = next((r for r in rows if r.diameter_mm), None)
        if row is not None:
            return form, row
    raise LookupError(f"{subject.label} has no measured target lesion")


def _targets(form: Any, lesion_id: str, diameter: Decimal) -> list[dict[str, Any]]:
    """The form's target lesions as save_form takes them, one diameter changed."""
    return [
        {
            "lesion_id": row.lesion_id,
            "organ": row.organ,
            "is_node": row.is_node,
            "status": row.status,
            "diameter_mm": diameter if row.lesion_id == lesion_id else row.diameter_mm,
        }
        for row in form.targets.filter(is_deleted=False).order_by("id")
    ]


def _corrected(diameter: Decimal) -> Decimal:
    """The value in the (imagined) radiology report: 2 mm more than transcribed."""
    return diameter + Decimal(2)


def _lesion_query_answered(
    monitor: Any, investigator: Any, subject: Subject
) -> tuple[Query, Any, Any]:
    """The monitor queries a lesion's diameter against the report; the investigator
    corrects it with the reason "Correction in response to a query" and answers."""
    form, row = _latest_measured_lesion(subject)
    old = format(row.diameter_mm.normalize(), "f")
    new = _corrected(row.diameter_mm)
    shown = format(new.normalize(), "f")
    query = queries.raise_query(
        actor=monitor,
        subject=subject,
        form_code="TA",
        instance=form,
        group="TL",
        row_key=row.lesion_id,
        variable="TLDIAM",
        text=(
            f"{row.lesion_id}: the radiology report of {form.scanned_on:%Y-%m-%d} gives "
            f"{shown} mm; the form has {old} mm. Please check against the report."
        ),
    )
    form = save_form(
        actor=investigator,
        spec=registry.get("TA"),
        subject=subject,
        visit=form.visit,
        instance=form,
        values={},
        groups={"TL": _targets(form, row.lesion_id, new)},
        complete=form.status == FormStatus.COMPLETE,
        reason=Reason(ChangeReason.QUERY_RESPONSE),
    )
    query = queries.answer_query(
        actor=investigator,
        query=query,
        text=f"Transcription error: corrected to {shown} mm as in the radiology report.",
    )
    return query, form, row


def _verify_in_full(monitor: Any, form: Any) -> int:
    """The monitor verifies the form: its critical values one by one, then the rest."""
    spec = registry.get("TA")
    state = sdv_selectors.form_state(spec, form)
    keys = [v.item.key for v in state.open_critical]
    done = sdv.verify_values(actor=monitor, instance=form, keys=keys).verified
    return done + sdv.verify_form(actor=monitor, instance=form).verified


def _latest_cycle_form(subject: Subject, code: str) -> Any:
    spec = registry.get(code)
    forms = spec.model.objects.filter(
        subject=subject, is_deleted=False, visit__kind=VisitKind.CYCLE
    ).select_related("visit")
    form = forms.order_by("-visit__planned_date", "-pk").first()
    if form is None:
        raise LookupError(f"{subject.label} has no {code} at a cycle visit")
    return form


def seed_data_management(*, password: str) -> DemoDataManagement:
    """Build the demo's data-management state (see the module); ``password`` is the demo
    users' (the PI re-enters it to sign). Call once, after the clinical demo."""
    monitor = _user("monitor")
    pi01 = _user("investigator")
    built = DemoDataManagement()

    built.values_verified = sdv.seed_demo(
        actor=monitor, subjects=[_subject(label) for label in SDV_SUBJECTS]
    )

    # 01-002: the PI signed its latest scan's visit; the monitor's query led to a
    # correction, which invalidated the signature; the answer awaits the monitor.
    s0102 = _subject("01-002")
    scan, _row = _latest_measured_lesion(s0102)
    visit = Visit.objects.get(pk=scan.visit_id)
    invalidated = signatures.sign(actor=pi01, subject=s0102, visit=visit, password=password)
    built.queries["answered"], _form, _row = _lesion_query_answered(monitor, pi01, s0102)
    invalidated.refresh_from_db()
    built.invalidated = invalidated

    # 01-001: the same, closed by the monitor, who then verified the form.
    s0101 = _subject("01-001")
    answered, form, _row = _lesion_query_answered(monitor, pi01, s0101)
    built.queries["closed"] = queries.close_query(
        actor=monitor, query=answered, text="Checked against the radiology report. Thank you."
    )
    built.values_verified += _verify_in_full(monitor, form)

    # Open queries, awaiting the sites: a value, and a whole form at site 02.
    s0103 = _subject("01-003")
    vs = _latest_cycle_form(s0103, "VS")
    built.queries["open"] = queries.raise_query(
        actor=monitor,
        subject=s0103,
        form_code="VS",
        instance=vs,
        variable="WEIGHT",
        text=(
            f"The weight of {vs.assessed_on:%Y-%m-%d} is not in the nursing chart. "
            "Please confirm it from the source, or correct it."
        ),
    )
    s0201 = _subject("02-001")
    lb = _latest_cycle_form(s0201, "LB")
    built.queries["open_form"] = queries.raise_query(
        actor=monitor,
        subject=s0201,
        form_code="LB",
        instance=lb,
        text=(
            f"The laboratory report of the sample of {lb.sampled_on:%Y-%m-%d} is not in "
            "the site file. Please file it and confirm the values entered."
        ),
    )

    # 01-001's screening visit, verified in full, signed by the site 01 PI.
    screening = Visit.objects.get(subject=s0101, code="SCR")
    built.signed = signatures.sign(actor=pi01, subject=s0101, visit=screening, password=password)
    return built
