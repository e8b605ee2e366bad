"""Reads of case report forms shared by pages, exports and reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Value
from django.urls import reverse

from crf import registry
from crf.models import CaseReportForm, FormStatus, Visit
from crf.registry import FormSpec
from study.models import Subject


@dataclass
class FormSlot:
    spec: FormSpec
    url: str
    status: str
    status_label: str
    record: CaseReportForm | None = None

    @property
    def summary(self) -> str:
        """What tells one log record from another: its first two values given."""
        if self.record is None or not self.spec.is_log:
            return ""
        shown = []
        for variable in self.spec.input_variables:
            value = getattr(self.record, variable.field_name)
            if value in (None, "", []):
                continue
            if variable.field.choices:
                value = getattr(self.record, f"get_{variable.field_name}_display")()
            elif isinstance(value, dt.date):
                value = value.isoformat()
            shown.append(str(value))
            if len(shown) == 2:
                break
        return " · ".join(shown)


@dataclass
class Section:
    title: str
    visit: Visit | None
    slots: list[FormSlot] = field(default_factory=list)
    status: str = ""
    status_label: str = ""
    later: bool = False  # opens more than two weeks ahead: folded on the subject page
    add_url: str = ""  # a log form: where a new record is entered
    anchor: str = ""  # the section's id on the subject page (a save returns there)

    @property
    def has_data(self) -> bool:
        """Any of its forms started or complete."""
        return any(slot.status != FormStatus.NOT_STARTED for slot in self.slots)

    @property
    def missing(self) -> list[FormSlot]:
        return [slot for slot in self.slots if slot.status != FormStatus.COMPLETE]


def form_url(subject: Subject, spec: FormSpec, obj: CaseReportForm | None) -> str:
    if spec.is_log and not spec.once_per_subject:
        if obj is None or obj.pk is None:
            return reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": spec.code})
        return reverse(
            "crf:log_record",
            kwargs={"subject_pk": subject.pk, "form_code": spec.code, "record_pk": obj.pk},
        )
    if obj is not None and obj.visit is not None:
        return reverse(
            "crf:visit_form",
            kwargs={"subject_pk": subject.pk, "visit_code": obj.visit.code, "form_code": spec.code},
        )
    return reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": spec.code})


def _status(obj: CaseReportForm | None) -> tuple[str, str]:
    status = FormStatus(obj.status) if obj is not None else FormStatus.NOT_STARTED
    return status.value, str(status.label)


def _visit_form_rows(subject: Subject) -> dict[str, list[tuple[int, int | None, str]]]:
    """(pk, visit id, status) of the subject's visit forms, by form code: one UNION query
    for every visit form of the registry, whatever their number."""
    specs = [spec for spec in registry.all_forms() if not spec.is_log]
    queries = [
        spec.model.objects.filter(subject=subject, is_deleted=False)
        .order_by()
        .annotate(form_code=Value(spec.code, output_field=CharField()))
        .values_list("form_code", "pk", "visit_id", "status")
        for spec in specs
    ]
    rows: dict[str, list[tuple[int, int | None, str]]] = {spec.code: [] for spec in specs}
    if queries:
        for code, pk, visit_id, status in queries[0].union(*queries[1:], all=True):
            rows[code].append((pk, visit_id, status))
    return rows


def subject_form_sections(subject: Subject) -> list[Section]:
    """The subject's visits with their forms and statuses, then the log forms.

    One query for the visits, one for every visit form (a UNION) and one per log form,
    whatever the number of visits and forms.
    """
    from django.utils import timezone

    today = timezone.localdate()
    visits = list(Visit.objects.filter(subject=subject).order_by("planned_date", "id"))
    visit_rows = _visit_form_rows(subject)
    logs: dict[str, list[CaseReportForm]] = {
        spec.code: list(spec.model.objects.filter(subject=subject, is_deleted=False).order_by("id"))
        for spec in registry.log_forms()
    }
    sections: list[Section] = []
    for visit in visits:
        section = Section(title=visit.code, visit=visit, anchor=f"visit-{visit.code}")
        for spec in registry.forms_for_visit_kind(visit.kind):
            rows = visit_rows[spec.code]
            found = rows[:1] if spec.once_per_subject else [r for r in rows if r[1] == visit.pk]
            status = FormStatus(found[0][2]) if found else FormStatus.NOT_STARTED
            url = (
                reverse(spec.page, kwargs={"subject_pk": subject.pk})
                if spec.page
                else reverse(
                    "crf:visit_form",
                    kwargs={
                        "subject_pk": subject.pk,
                        "visit_code": visit.code,
                        "form_code": spec.code,
                    },
                )
            )
            section.slots.append(FormSlot(spec, url, status.value, str(status.label)))
        told = registry.visit_status(
            visit,
            today=today,
            required=len(section.slots),
            complete=sum(s.status == FormStatus.COMPLETE for s in section.slots),
            started=sum(s.status != FormStatus.NOT_STARTED for s in section.slots),
        )
        if told is not None:
            section.status, section.status_label = told
        opens = visit.window_start or visit.planned_date
        section.later = opens is not None and opens > today + dt.timedelta(days=14)
        sections.append(section)
    for spec in registry.log_forms():
        section = Section(
            title=str(spec.title),
            visit=None,
            add_url=reverse("crf:form", kwargs={"subject_pk": subject.pk, "form_code": spec.code}),
            anchor=f"form-{spec.code}",
        )
        for obj in logs[spec.code]:
            code, label = _status(obj)
            section.slots.append(FormSlot(spec, form_url(subject, spec, obj), code, label, obj))
        sections.append(section)
    return sections


__all__: list[Any] = ["Section", "FormSlot", "form_url", "subject_form_sections"]
