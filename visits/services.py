"""The visit schedule follows the subject: created at enrolment, moved with Day 1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connections, router, transaction

from crf.models import CaseReportForm, Visit, VisitKind
from crf.services import once_per_subject
from study.models import Subject
from visits import schedule, selectors

# The date variable of each visit form that says when the visit was held.
HELD_ON_FIELDS = {
    "VS": "assessed_on",
    "LB": "sampled_on",
    "EX": "first_dose_on",
    "TA": "scanned_on",
    "EOT": "decided_on",
    "SFU": "contacted_on",
}

# provider(subject) -> SubjectCourse fields (end of treatment, last dose, death, study end):
# registered by the outcomes app, which this app may not import.
CourseProvider = Callable[[Subject], Mapping[str, Any]]
_COURSE_PROVIDERS: list[CourseProvider] = []


def register_course_provider(provider: CourseProvider) -> CourseProvider:
    if provider not in _COURSE_PROVIDERS:
        _COURSE_PROVIDERS.append(provider)
    return provider


@transaction.atomic
def sync_schedule(subject: Subject) -> list[Visit]:
    """Create the subject's planned visits from Day 1 and move those not yet held.

    protocol.md: every study day counts from Day 1 (planned, then the actual first
    dose); moving Day 1 moves every visit that is not done. Held or missed visits
    keep their dates. Idempotent.
    """
    first_day = selectors.day1(subject)
    if first_day is None:
        return []
    more: dict[str, Any] = {}
    for provider in _COURSE_PROVIDERS:
        more.update(provider(subject))
    course = schedule.SubjectCourse(
        day1=first_day,
        screening_date=selectors.screening_date(subject),
        progression_on=selectors.progression_date(subject),
        **more,
    )
    planned = schedule.build_schedule(course)
    closed = course.death_on is not None or course.study_end_on is not None
    existing = {v.code: v for v in Visit.objects.select_for_update().filter(subject=subject)}
    planned_codes = {item.code for item in planned}
    changed: dict[str, set[str]] = {}  # visit code -> fields to write
    for code, held in existing.items():
        # protocol.md: TAs stop after progression (and, later, every visit after death or
        # study end): planned visits that no longer apply are marked so, never deleted.
        # An EOT visit opened by "end treatment" applies before its form gives the date.
        applies = (
            code in planned_codes or held.kind in ("SCR", "UNS", "EOT") or held.held_on is not None
        )
        if closed:  # protocol.md: death or study end closes every visit not held
            applies = held.held_on is not None or held.missed
        if held.not_applicable == applies:
            held.not_applicable = not applies
            changed.setdefault(code, set()).add("not_applicable")
    new: list[Visit] = []
    for item in planned:
        visit = existing.get(item.code)
        fields = {
            "planned_date": item.target_date,
            "window_start": item.window_start,
            "window_end": item.window_end,
        }
        if visit is None:
            visit = Visit(
                subject=subject,
                code=item.code,
                kind=str(item.kind),
                number=item.number,
                not_applicable=closed,
                **fields,
            )
            new.append(visit)
            existing[item.code] = visit
        elif (
            # EOT's target is the decision to stop (its form's date): it follows it, held or
            # not; a visit held before it had a plan (a study data file's) gets it.
            (
                visit.held_on is None
                or visit.kind == VisitKind.END_OF_TREATMENT
                or visit.planned_date is None
            )
            and not visit.missed
            and any(getattr(visit, k) != v for k, v in fields.items())
        ):
            for key, value in fields.items():
                setattr(visit, key, value)
            changed.setdefault(item.code, set()).update(fields)
    # One INSERT for the new visits and one statement for the changed ones, whatever their
    # number.
    if new:
        Visit.objects.bulk_create(new)
    if changed:
        update_visits([existing[code] for code in changed], sorted(set().union(*changed.values())))
    record_survival_contacts(subject)
    return sorted(existing.values(), key=lambda v: (v.planned_date or dt.date.max, v.pk))


# The survival contact log (registered by the outcomes app) and its date variable.
SURVIVAL_CONTACT_FORM, SURVIVAL_CONTACT_DATE = "SV", "contacted_on"


def record_survival_contacts(subject: Subject) -> None:
    """Survival contacts hold the survival follow-up visits (visits.schedule.
    survival_visits_held): a SURV visit has no form of its own, so without this it would
    stay overdue although the site called the patient. Runs when the schedule changes and
    after every SV save or deletion. Side effects: SURV visits' ``held_on``."""
    from crf import registry

    visits = list(
        Visit.objects.select_for_update().filter(subject=subject, kind=VisitKind.SURVIVAL_FOLLOW_UP)
    )
    if not visits:
        return
    try:
        spec = registry.get(SURVIVAL_CONTACT_FORM)
    except KeyError:  # not registered (the outcomes app is not installed)
        return
    contacts = list(
        spec.model.objects.filter(subject=subject, is_deleted=False)
        .exclude(**{SURVIVAL_CONTACT_DATE: None})
        .values_list(SURVIVAL_CONTACT_DATE, flat=True)
    )
    held = schedule.survival_visits_held(
        [
            schedule.PlannedVisit(
                code=v.code,
                kind=schedule.VisitKind.SURV,
                number=v.number,
                target_date=v.planned_date,
                window_start=v.window_start,
                window_end=v.window_end,
            )
            for v in visits
        ],
        contacts,
    )
    for visit in visits:
        if visit.held_on != held[visit.code]:
            visit.held_on = held[visit.code]
            visit.save(update_fields=["held_on"])


def schedule_after_forms(subject: Subject, instances: Sequence[CaseReportForm], actor: Any) -> None:
    """The visit hooks once for a batch of a subject's forms (crf.services.SubjectBatch):
    the held dates of their visits, then the schedule, which holds the survival visits.
    Held dates first, so a visit the forms held is never marked as no longer applying."""
    record_held_dates(
        [i.visit_id for i in instances if i.visit_id is not None and _held_by(i)]  # type: ignore[attr-defined]
    )
    if not sync_schedule(subject):
        record_survival_contacts(subject)


def _held_by(instance: CaseReportForm) -> bool:
    from crf import registry

    return registry.for_model(type(instance)).code in HELD_ON_FIELDS


@once_per_subject(schedule_after_forms)
def after_survival_contact(instance: CaseReportForm, actor: Any) -> None:
    record_survival_contacts(instance.subject)


@once_per_subject(schedule_after_forms)
def after_enrolment_or_exposure(instance: CaseReportForm, actor: Any) -> None:
    """ENR gives the planned Day 1, EX at C1D1 the actual one: the schedule follows."""
    sync_schedule(instance.subject)


@once_per_subject(schedule_after_forms)
def record_held_on(instance: CaseReportForm, actor: Any) -> None:
    """The visit was held on the earliest date of its forms (VSDAT, LBDAT, EXSTDAT, TADAT)."""
    if instance.visit_id is not None:  # type: ignore[attr-defined]
        record_held_dates([instance.visit_id])  # type: ignore[attr-defined]


def record_held_dates(visit_ids: Sequence[int]) -> None:
    """Each visit was held on the earliest date of its forms (HELD_ON_FIELDS): one query for
    the dates of every form of these visits (a UNION), one UPDATE for those that changed."""
    from crf import registry

    if not visit_ids:
        return
    visits = list(Visit.objects.select_for_update().filter(pk__in=set(visit_ids)).order_by("pk"))
    kinds = {visit.kind for visit in visits}
    queries = []
    for code, field in HELD_ON_FIELDS.items():
        try:
            spec = registry.get(code)
        except KeyError:  # not registered (yet)
            continue
        if not kinds & set(spec.visit_kinds):
            continue
        queries.append(
            spec.model.objects.filter(visit_id__in=[v.pk for v in visits], is_deleted=False)
            .exclude(**{field: None})
            .order_by()
            .values_list("visit_id", field)
        )
    earliest: dict[int, dt.date] = {}
    if queries:
        for visit_id, day in queries[0].union(*queries[1:], all=True):
            if visit_id not in earliest or day < earliest[visit_id]:
                earliest[visit_id] = day
    changed = []
    for visit in visits:
        if visit.held_on != earliest.get(visit.pk):
            visit.held_on = earliest.get(visit.pk)
            changed.append(visit)
    if changed:
        update_visits(changed, ["held_on"])


def update_visits(visits: Sequence[Visit], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``visits``: one UPDATE statement run for every visit (executemany).
    What ``bulk_update`` does, without its CASE expression of one branch per visit and
    field, whose building costs more than the schedule of a subject (a study data file
    import plans and holds some 50 visits a subject)."""
    connection = connections[router.db_for_write(Visit)]
    model_fields = [Visit._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(Visit._meta.db_table),
        ", ".join(f"{quote(str(field.column))} = %s" for field in model_fields),  # type: ignore[union-attr]
        quote(str(Visit._meta.pk.column)),
    )
    params = [
        [
            *(
                field.get_db_prep_save(getattr(v, field.attname), connection)  # type: ignore[union-attr]
                for field in model_fields
            ),
            v.pk,
        ]
        for v in visits
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def why_not_missable(visit: Visit) -> str:
    """Why the visit cannot be declared missed (already missed, no longer applies, held), or
    "" when it can: one rule for the worklist's button, the confirmation page and the service."""
    from django.utils.translation import gettext as _

    if visit.missed:
        return _("%(visit)s has already been declared missed.") % {"visit": visit.code}
    if visit.not_applicable:
        return _("%(visit)s no longer applies to this subject.") % {"visit": visit.code}
    if visit.held_on is not None:
        return _("%(visit)s was held on %(date)s; it cannot be missed.") % {
            "visit": visit.code,
            "date": visit.held_on.isoformat(),
        }
    return ""


@transaction.atomic
def declare_missed(*, actor: Any, visit: Visit, reason: str) -> Visit:
    """Declare a visit missed, with a reason (audited). A held, already missed or no longer
    applicable visit cannot be (``why_not_missable``)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from crf import audit, registry
    from crf.models import AuditAction, ChangeReason

    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    registry.check_write(
        registry.WriteAttempt(actor, visit.subject, None, visit=visit, action="visit")
    )
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason the visit was missed.")})
    refused = why_not_missable(visit)
    if refused:
        raise ValidationError(refused)
    visit.missed, visit.missed_reason = True, reason.strip()
    visit.save(update_fields=["missed", "missed_reason"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        form_code="VISIT",
        obj=visit,
        subject_id=visit.subject_id,
        visit_code=visit.code,
        changes=[("MISSED", "N", "Y")],
        reason_code=ChangeReason.OTHER,
        reason_text=reason.strip(),
    )
    return visit
