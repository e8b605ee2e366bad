"""Reads of source data verification: one form's values with their verification, and the
progress of many forms (by site, subject, visit and form) from a constant number of SQL
queries whatever the number of subjects and forms (issue 12, "SDV progress by site,
subject and form")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from crf import registry
from crf.display import variable_text
from crf.registry import FormSpec, GroupSpec, Variable
from crf.values import audit_text
from data_management.models import SourceVerification
from data_management.sdv import Item, Key, items_of

# --- One form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueState:
    """One value of a form to verify, as the SDV panel and the marks show it."""

    item: Item
    variable: Variable
    group_title: str  # "" for a form variable
    shown: str  # the value as people read it (code label, unit)
    object_model: str  # the form's, or its row's for a row value (as its audit entries)
    object_id: int
    verification: SourceVerification | None  # in force, for exactly this value
    reset: SourceVerification | None  # the last one reset, when none is in force

    @property
    def verified(self) -> bool:
        return self.verification is not None

    @property
    def label(self) -> str:
        return self.variable.label

    @property
    def row(self) -> str:
        return self.item.key[1]


@dataclass(frozen=True)
class FormState:
    spec: FormSpec
    instance: Any
    values: list[ValueState]

    @property
    def verified(self) -> int:
        return sum(v.verified for v in self.values)

    @property
    def critical(self) -> int:
        return sum(v.item.critical for v in self.values)

    @property
    def critical_verified(self) -> int:
        return sum(v.verified and v.item.critical for v in self.values)

    @property
    def complete(self) -> bool:
        """Every value verified, critical ones included (and something to verify)."""
        return bool(self.values) and self.verified == len(self.values)

    @property
    def open_critical(self) -> list[ValueState]:
        return [v for v in self.values if v.item.critical and not v.verified]

    @property
    def open_other(self) -> list[ValueState]:
        return [v for v in self.values if not v.item.critical and not v.verified]

    def by_key(self) -> dict[Key, ValueState]:
        return {v.item.key: v for v in self.values}


def _shown(variable: Variable, value: Any) -> str:
    text = variable_text(variable, value)
    return f"{text} {variable.unit}" if variable.unit and text != "—" else text


def _other_variables(group: GroupSpec) -> list[Variable]:
    return [v for v in group.variables if v.name != group.key]


def form_state(spec: FormSpec, instance: Any) -> FormState:
    """The form's values to verify (sdv.items_of) with their verification in force, or the
    last reset one: one query per repeating group and one for the verifications."""
    visit_code = instance.visit.code if instance.visit_id else ""
    variables = {v.name: v for v in spec.input_variables}
    raw = {name: getattr(instance, v.field_name) for name, v in variables.items()}
    rows_of: dict[str, list[Any]] = {
        group.name: list(
            group.model.objects.filter(is_deleted=False, **{"form": instance}).order_by("id")
        )
        for group in spec.groups
    }
    row_objects: dict[tuple[str, str], Any] = {}
    rows: dict[str, list[tuple[str, dict[str, str | None]]]] = {}
    for group in spec.groups:
        key_field = group.variable(group.key).field_name
        rows[group.name] = []
        for row in rows_of[group.name]:
            row_key = str(getattr(row, key_field))
            row_objects[(group.name, row_key)] = row
            texts = {
                v.name: audit_text(getattr(row, v.field_name)) for v in _other_variables(group)
            }
            rows[group.name].append((row_key, texts))
    items = items_of(
        spec.code, visit_code, {name: audit_text(value) for name, value in raw.items()}, rows
    )
    verifications = (
        SourceVerification.objects.filter(object_model=instance._meta.label, object_id=instance.pk)
        .select_related("verified_by", "reset_by")
        .order_by("id")
    )
    active: dict[Key, SourceVerification] = {}
    reset: dict[Key, SourceVerification] = {}
    for verification in verifications:
        key = (verification.group, verification.row_key, verification.variable)
        if verification.reset_at is None:
            active[key] = verification
        else:
            reset[key] = verification  # the last one wins
    values = []
    groups = {g.name: g for g in spec.groups}
    for item in items:
        group_name, row_key, name = item.key
        if group_name:
            group = groups[group_name]
            row = row_objects[(group_name, row_key)]
            variable = group.variable(name)
            shown = _shown(variable, getattr(row, variable.field_name))
            owner_model, owner_id, title = row._meta.label, row.pk, str(group.title)
        else:
            variable = variables[name]
            shown = _shown(variable, raw[name])
            owner_model, owner_id, title = instance._meta.label, instance.pk, ""
        found = active.get(item.key)
        in_force = found if found is not None and found.value == item.text else None
        values.append(
            ValueState(
                item=item,
                variable=variable,
                group_title=title,
                shown=shown,
                object_model=owner_model,
                object_id=owner_id,
                verification=in_force,
                reset=reset.get(item.key) if in_force is None else None,
            )
        )
    return FormState(spec, instance, values)


# --- Many forms: progress -----------------------------------------------------------------


@dataclass
class Tally:
    """Counts of forms and values to verify and verified."""

    forms: int = 0
    forms_verified: int = 0
    values: int = 0
    values_verified: int = 0
    critical: int = 0
    critical_verified: int = 0

    def add(self, other: Tally) -> None:
        self.forms += other.forms
        self.forms_verified += other.forms_verified
        self.values += other.values
        self.values_verified += other.values_verified
        self.critical += other.critical
        self.critical_verified += other.critical_verified

    @property
    def forms_left(self) -> int:
        return self.forms - self.forms_verified

    @property
    def percent(self) -> int:
        """Values verified, in whole percent (rounded down: 100 only when all are)."""
        return self.values_verified * 100 // self.values if self.values else 0


@dataclass
class FormProgress:
    """One form's SDV progress (a form with at least one value entered)."""

    subject_id: int
    spec: FormSpec
    visit_code: str
    object_id: int
    status: str
    tally: Tally = field(default_factory=Tally)
    visit_date: Any = None  # the visit's planned date (orders a subject's forms)

    @property
    def verified(self) -> bool:
        return self.tally.forms_verified == 1

    @property
    def url(self) -> str:
        """The form's page (its SDV page for a form with a page of its own: IE, ENR)."""
        if self.spec.page:
            return sdv_form_url(self.subject_id, self.spec.code, self.object_id)
        if self.spec.is_log and not self.spec.once_per_subject:
            kwargs: dict[str, Any] = {"form_code": self.spec.code, "record_pk": self.object_id}
            return reverse("crf:log_record", kwargs={"subject_pk": self.subject_id, **kwargs})
        if self.visit_code:
            kwargs = {"visit_code": self.visit_code, "form_code": self.spec.code}
            return reverse("crf:visit_form", kwargs={"subject_pk": self.subject_id, **kwargs})
        kwargs = {"form_code": self.spec.code}
        return reverse("crf:form", kwargs={"subject_pk": self.subject_id, **kwargs})

    @property
    def sdv_url(self) -> str:
        return sdv_form_url(self.subject_id, self.spec.code, self.object_id)


def sdv_form_url(subject_id: int, form_code: str, record_pk: int) -> str:
    return reverse(
        "data_management:sdv_form",
        kwargs={"subject_pk": subject_id, "form_code": form_code, "record_pk": record_pk},
    )


def progress(subjects: QuerySet[Any], *, form_code: str = "") -> list[FormProgress]:
    """SDV progress of every form (with a value entered) of ``subjects`` (a queryset, read
    as a subquery): one query per registered form and per repeating group, and one for the
    verifications in force, whatever the number of subjects and forms. ``form_code``: that
    form only."""
    specs = [s for s in registry.all_forms() if not form_code or s.code == form_code]
    subject_ids = subjects.order_by().values("pk")
    active: dict[tuple[str, int], dict[Key, str | None]] = defaultdict(dict)
    verifications = SourceVerification.objects.filter(
        subject__in=subject_ids, reset_at__isnull=True
    )
    if form_code:
        verifications = verifications.filter(form_code=form_code)
    for model, object_id, group, row_key, variable, value in verifications.values_list(
        "object_model", "object_id", "group", "row_key", "variable", "value"
    ):
        active[(model, object_id)][(group, row_key, variable)] = value
    found: list[FormProgress] = []
    for spec in specs:
        forms = spec.model.objects.filter(subject__in=subject_ids, is_deleted=False)
        inputs = spec.input_variables
        group_rows = _group_rows(spec, forms)
        label = spec.model._meta.label
        rows = forms.order_by("pk").values_list(
            "pk",
            "subject_id",
            "visit__code",
            "visit__planned_date",
            "status",
            *(v.field_name for v in inputs),
        )
        for pk, subject_id, visit_code, visit_date, status, *values in rows:
            texts = {v.name: audit_text(value) for v, value in zip(inputs, values, strict=True)}
            items = items_of(spec.code, visit_code or "", texts, group_rows.get(pk, {}))
            if not items:
                continue
            verified = active.get((label, pk), {})
            tally = _tally(items, verified)
            found.append(
                FormProgress(subject_id, spec, visit_code or "", pk, status, tally, visit_date)
            )
    return found


def _group_rows(
    spec: FormSpec, forms: QuerySet[Any]
) -> dict[int, dict[str, list[tuple[str, dict[str, str | None]]]]]:
    """Each form's rows by group (rows without their key variable), one query a group."""
    by_form: dict[int, dict[str, list[tuple[str, dict[str, str | None]]]]] = defaultdict(dict)
    for group in spec.groups:
        others = _other_variables(group)
        key_field = group.variable(group.key).field_name
        rows = (
            group.model.objects.filter(is_deleted=False, **{"form__in": forms.values("pk")})
            .order_by("id")
            .values_list("form_id", key_field, *(v.field_name for v in others))
        )
        for form_id, key, *values in rows:
            texts = {v.name: audit_text(value) for v, value in zip(others, values, strict=True)}
            by_form[form_id].setdefault(group.name, []).append((str(key), texts))
    return by_form


def _tally(items: Iterable[Item], verified: dict[Key, str | None]) -> Tally:
    tally = Tally(forms=1)
    for item in items:
        done = verified.get(item.key, "\0") == item.text
        tally.values += 1
        tally.values_verified += done
        tally.critical += item.critical
        tally.critical_verified += done and item.critical
    tally.forms_verified = int(tally.values == tally.values_verified)
    return tally


def in_order(forms: Iterable[FormProgress]) -> list[FormProgress]:
    """A subject's forms in visit order (planned date), then form order; log forms last."""
    import datetime as dt

    return sorted(
        forms,
        key=lambda f: (
            f.subject_id,
            f.visit_date is None and f.visit_code == "",
            f.visit_date or dt.date.max,
            f.visit_code,
            f.spec.order,
            f.object_id,
        ),
    )


def total(forms: Iterable[FormProgress]) -> Tally:
    tally = Tally()
    for form in forms:
        tally.add(form.tally)
    return tally


def by(forms: Iterable[FormProgress], key: Any) -> dict[Any, Tally]:
    """Tallies of ``forms`` grouped by ``key(form)``, in first-seen order."""
    tallies: dict[Any, Tally] = {}
    for form in forms:
        tallies.setdefault(key(form), Tally()).add(form.tally)
    return tallies
