"""Reads of source data verification: one form's values with their verification, and the
progress of many forms (by site, subject, visit and form) from a constant number of SQL
queries whatever the number of subjects and forms (issue 12, "SDV progress by site,
subject and form")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    CharField,
    ExpressionWrapper,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.urls import reverse

from crf import registry
from crf.display import variable_text
from crf.registry import FormSpec, GroupSpec, Variable
from crf.values import audit_text
from data_management.models import SourceVerification
from data_management.sdv import CRITICAL_FIELDS, Item, Key, is_critical, items_of

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
    as a subquery), counted in SQL: one query for every form of the registry (a UNION of
    each form's count of values entered and critical values), one for every repeating group
    (the same by form), one for the verifications in force, whatever the number of subjects
    and forms. ``form_code``: that form only. The values counted are those of
    ``form_state`` (sdv.items_of); the verifications in force are those of the values as
    they are (a change resets the verification of the value it changes)."""
    specs = [s for s in registry.all_forms() if not form_code or s.code == form_code]
    subject_ids = subjects.order_by().values("pk")
    forms: dict[tuple[str, int], FormProgress] = {}
    by_code = {spec.code: spec for spec in specs}
    parts = [_form_counts(spec, subject_ids) for spec in specs]
    if parts:
        for code, pk, subject_id, visit_code, visit_date, status, values, critical in parts[
            0
        ].union(*parts[1:], all=True):
            spec = by_code[code]
            tally = Tally(forms=1, values=values or 0, critical=critical or 0)
            progress = FormProgress(
                subject_id, spec, visit_code or "", pk, status, tally, visit_date
            )
            forms[(spec.model._meta.label, pk)] = progress
    rows = [_row_counts(spec, group, subject_ids) for spec in specs for group in spec.groups]
    if rows:
        for code, form_id, values, critical in rows[0].union(*rows[1:], all=True):
            found = forms.get((by_code[code].model._meta.label, form_id))
            if found is not None:
                found.tally.values += values or 0
                found.tally.critical += critical or 0
    verifications = SourceVerification.objects.filter(
        subject__in=subject_ids, reset_at__isnull=True
    ).exclude(group="", variable="")  # the whole form's verification is no value
    if form_code:
        verifications = verifications.filter(form_code=form_code)
    for model, object_id, code, visit_code, group, row_key, variable in verifications.values_list(
        "object_model", "object_id", "form_code", "visit_code", "group", "row_key", "variable"
    ):
        found = forms.get((model, object_id))
        if found is not None:
            found.tally.values_verified += 1
            found.tally.critical_verified += is_critical(
                code, visit_code, (group, row_key, variable)
            )
    done = []
    for found in forms.values():
        tally = found.tally
        if not tally.values:
            continue
        tally.forms_verified = int(tally.values_verified >= tally.values)
        done.append(found)
    return sorted(done, key=lambda f: (f.spec.order, f.spec.code, f.object_id))


def _filled(field: Any) -> Q:
    """A value entered (sdv.items_of: crf.values.audit_text is not None), in SQL."""
    name = field.name
    entered = Q(**{f"{name}__isnull": False})
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField"):
        entered &= ~Q(**{name: ""})
    elif kind == "JSONField":
        entered &= ~Q(**{name: []})
    return entered


def _count(conditions: list[Q]) -> Any:
    """How many of ``conditions`` hold, as an SQL expression (0 for none)."""
    terms = [Case(When(c, then=Value(1)), default=Value(0)) for c in conditions]
    if not terms:
        return Value(0, output_field=IntegerField())
    total: Any = terms[0]
    for term in terms[1:]:
        total = total + term
    return ExpressionWrapper(total, output_field=IntegerField())


def _form_counts(spec: FormSpec, subject_ids: Any) -> QuerySet[Any]:
    entered, critical = [], []
    for variable in spec.input_variables:
        condition = _filled(variable.field)
        entered.append(condition)
        for rule in CRITICAL_FIELDS:
            if rule.form == spec.code and variable.name in rule.variables:
                visits = Q(visit__code__in=sorted(rule.visits)) if rule.visits else Q()
                critical.append(condition & visits)
    return (
        spec.model.objects.filter(subject__in=subject_ids, is_deleted=False)
        .order_by()
        .annotate(
            sdv_form=Value(spec.code, output_field=CharField()),
            sdv_values=_count(entered),
            sdv_critical=_count(critical),
        )
        .values_list(
            "sdv_form",
            "pk",
            "subject_id",
            "visit__code",
            "visit__planned_date",
            "status",
            "sdv_values",
            "sdv_critical",
        )
    )


def _row_counts(spec: FormSpec, group: GroupSpec, subject_ids: Any) -> QuerySet[Any]:
    entered = [_filled(v.field) for v in _other_variables(group)]
    critical = any(r.form == spec.code and group.name in r.groups for r in CRITICAL_FIELDS)
    rows = group.model.objects.filter(
        is_deleted=False,
        **{"form__is_deleted": False, "form__subject__in": subject_ids},
    )
    parent = "form_id"  # (a variable: the rows' model is known at run time only)
    return (
        rows.order_by()
        .values(parent)
        .annotate(
            sdv_form=Value(spec.code, output_field=CharField()),
            sdv_values=Sum(_count(entered)),
            sdv_critical=Sum(_count(entered if critical else [])),
        )
        .values_list("sdv_form", parent, "sdv_values", "sdv_critical")
    )


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
