"""The study data file (crf-spec "The study data file"): one JSON document, export and import.

Both directions work over the form registry, so a form registered later joins
without new code here. Values are written in crf-spec terms: dates as
``YYYY-MM-DD``, decimals exactly as numbers, ``codes`` as lists, repeating groups
as lists of objects inside ``data``, derived variables written (and ignored on
import, which recomputes them through ``save_form``).

Import rules (decided here, shown in the preview):

* All or nothing: everything runs inside one transaction, every hard edit check
  runs (``crf.services.save_form``), and any error rolls the whole file back.
* Status: a form is imported *complete* when every required variable (after
  derivation, e.g. IEYN) has a value, else *in progress*; the file carries no
  status, so this keeps export → import → export stable.
* A subject is matched by its screening number. A form that exists is matched by
  visit (once-per-subject forms: by subject; log forms: the n-th record of the
  file is the n-th record in the database). A variable left out of a form's
  ``data`` is empty. An existing form whose values differ is changed, with the
  import's reason; one whose values are the same is left as it is (nothing
  written, its status kept). Forms and subjects absent from the file are left
  as they are; nothing is deleted.
* A screening number of another site, a subject ID that differs from the one in
  the database or is taken by another subject, are errors.
* Sites named in the file are created when absent; an existing site keeps its name.
* Study parameters: a top-level ``"parameters"`` object carries the study-level values
  of ``study.models.StudyParameters`` that the data depend on; today one,
  ``"target_enrolment"`` (a whole number ≥ 1: the number of subjects the study may
  enrol, crf-spec ENR "enrolment cap not reached"), e.g.
  ``"parameters": {"target_enrolment": 30}``. The export always writes it; the import
  reads it *before* any subject, so the cap of every ENR in the file is the file's
  target, and a study whose target was raised round-trips. A changed target is audited
  like a data manager's change (form code PARAM, variable TARGET_ENROLMENT, source
  import, the file's SHA-256 and the import's reason). The import may lower the target,
  never below the number of subjects already enrolled in the database (an error). A
  file without ``"parameters"`` (or without the value) keeps the database's target.
* Enrolment cap: every ENR the import saves passes the same check as the enrol page
  (``enrollment.services.enforce_enrolment_cap``, an ENR after-save hook): a file that
  enrols more subjects than the target is refused, the first one beyond it listed as
  ``subject / SCR / ENR / ENRDAT: Enrolment is closed …``, and nothing is written. A
  subject who died or left the study still counts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.checks import CheckContext, run_checks
from crf.models import (
    AuditAction,
    AuditEntry,
    AuditSource,
    CaseReportForm,
    ChangeReason,
    Visit,
    VisitKind,
    visit_kind_for_code,
)
from crf.registry import FormSpec, GroupSpec, Variable
from crf.services import CheckError, Reason, StaleFormError, save_form
from crf.values import audit_text
from study import protocol
from study.models import Site, StudyParameters, Subject

FORMAT = "edc-study-data/1"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SITE = re.compile(r"^\d{2}$")
_LISTS = ("sites", "subjects", "screening")
PARAMETERS = "parameters"
TARGET_ENROLMENT = "target_enrolment"
# The largest value StudyParameters.target_enrolment holds (PositiveSmallIntegerField).
_MAX_TARGET = 32767


# --- Writing and reading the JSON text ------------------------------------------------------


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be written as a JSON number")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _encode(value: Any, level: int) -> str:
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _encode(v, level + 1) for v in value) + "\n" + pad + "]"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def dumps(document: Mapping[str, Any]) -> str:
    """The document as JSON text: indent 2, UTF-8 characters as they are, decimals exact.

    Keys keep the order the export gives them, so the same data give the same text.
    """
    return _encode(document, 0) + "\n"


class DataFileError(ValueError):
    """The text is not a study data file at all (not JSON, not an object)."""


def parse(text: str, *, max_depth: int = 32) -> dict[str, Any]:
    """Read a study data file; decimals are read exactly (``Decimal``).

    A study data file nests about 8 lists and objects (document, subjects, forms, data,
    lesion rows, codes). Deeper text is refused here, at ``max_depth`` levels, with the
    same message whether the JSON reader ran out of Python's recursion limit or a
    readable document is merely deep: either would otherwise fail later as a server error.
    """
    too_deep = DataFileError(
        _(
            "The file nests lists and objects more than %(limit)d levels deep; "
            "a study data file has at most %(limit)d."
        )
        % {"limit": max_depth}
    )
    try:
        document = json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as error:
        raise DataFileError(
            _("The file is not valid JSON (line %(line)d, column %(column)d: %(message)s).")
            % {"line": error.lineno, "column": error.colno, "message": error.msg}
        ) from None
    if not isinstance(document, dict):
        raise DataFileError(_("The file must hold one JSON object."))
    # Walked with a stack, not recursion, so the check itself cannot run out of stack.
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise too_deep
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return document


# --- Export ----------------------------------------------------------------------------------

_VISIT_KIND_RANK = {kind.value: rank for rank, kind in enumerate(VisitKind)}


def visit_sort_key(code: str) -> tuple[int, int, str]:
    """Visits in schedule order: SCR, C1D1, C2D1 …, TA1 …, EOT, SFU, SURV1 …, UNS1 …"""
    try:
        kind, number = visit_kind_for_code(code)
    except ValueError:
        return (len(_VISIT_KIND_RANK), 0, code)
    return (_VISIT_KIND_RANK[kind], number, code)


def _export_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _data(variables: Sequence[Variable], obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for variable in variables:
        value = getattr(obj, variable.field_name)
        if not _empty(value):
            data[variable.name] = _export_value(value)
    return data


def _form_entries(spec: FormSpec, subject_ids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
    """subject pk -> [(sort key, entry)] of one form, with its repeating rows."""
    records = list(
        spec.model.objects.filter(subject_id__in=subject_ids, is_deleted=False)
        .select_related("visit")
        .order_by("id")
    )
    rows: dict[str, dict[int, list[Any]]] = {}
    for group in spec.groups:
        by_form: dict[int, list[Any]] = {}
        parents = {"form_id__in": [r.pk for r in records]}  # every row model has its "form"
        for row in group.model.objects.filter(**parents, is_deleted=False).order_by("id"):
            by_form.setdefault(row.form_id, []).append(row)  # type: ignore[attr-defined]
        rows[group.name] = by_form
    found: dict[int, list[tuple[Any, ...]]] = {}
    for record in records:
        entry: dict[str, Any] = {"form": spec.code}
        visit_code = record.visit.code if record.visit is not None else ""
        if not spec.is_log:
            entry["visit"] = visit_code
        data = _data(spec.variables, record)
        for group in spec.groups:
            data[group.name] = [
                _data(group.variables, row) for row in rows[group.name].get(record.pk, [])
            ]
        entry["data"] = data
        key = (spec.order, spec.code, visit_sort_key(visit_code), record.pk)
        found.setdefault(record.subject_id, []).append((key, entry))
    return found


def export_document(*, user: Any = None) -> dict[str, Any]:
    """The study's clinical data as a study data file document.

    ``user`` None exports everything; otherwise only the subjects of
    ``Subject.objects.for_user(user)`` and only the sites the user may see, so
    the file holds no trace of another site's subjects. Reads only.
    """
    from study.scoping import sites_for_user

    subjects_qs = Subject.objects.all() if user is None else Subject.objects.for_user(user)
    subjects = list(subjects_qs.select_related("site"))
    sites = Site.objects.all() if user is None else sites_for_user(user)
    subject_ids = [s.pk for s in subjects]
    forms: dict[int, list[tuple[Any, ...]]] = {}
    for spec in registry.all_forms():
        for subject_pk, entries in _form_entries(spec, subject_ids).items():
            forms.setdefault(subject_pk, []).extend(entries)

    def subject_forms(subject: Subject) -> list[dict[str, Any]]:
        return [entry for _key, entry in sorted(forms.get(subject.pk, []), key=lambda e: e[0])]

    enrolled = sorted(
        (s for s in subjects if s.subject_id),
        key=lambda s: (s.site.number, s.subject_id or ""),
    )
    screened = sorted(
        (s for s in subjects if not s.subject_id),
        key=lambda s: (s.site.number, s.screening_id),
    )
    return {
        "format": FORMAT,
        "study": protocol.STUDY_CODE,
        "created": timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        PARAMETERS: {TARGET_ENROLMENT: StudyParameters.objects.current().target_enrolment},
        "sites": [{"site": s.number, "name": s.name} for s in sites.order_by("number")],
        "subjects": [
            {
                "site": s.site.number,
                "subject_id": s.subject_id,
                "screening_id": s.screening_id,
                "forms": subject_forms(s),
            }
            for s in enrolled
        ],
        "screening": [
            {"site": s.site.number, "screening_id": s.screening_id, "forms": subject_forms(s)}
            for s in screened
        ],
    }


# --- Import: the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Error:
    """One error of a file, located as crf-spec asks: subject / visit / form / variable."""

    subject: str
    visit: str
    form: str
    variable: str
    message: str

    def __str__(self) -> str:
        where = " / ".join(part or "-" for part in (self.subject, self.visit, self.form))
        return f"{where} / {self.variable or '-'}: {self.message}"


@dataclass(frozen=True)
class FormChange:
    """An existing form the import changes, and the variables (or groups) that change."""

    subject: str
    visit: str
    form: str
    variables: tuple[str, ...]


@dataclass
class Summary:
    sites_created: int = 0
    subjects_created: int = 0
    subjects_changed: int = 0
    forms_created: int = 0
    forms_changed: int = 0
    forms_unchanged: int = 0
    values_changed: int = 0


@dataclass
class ImportReport:
    file_sha256: str
    dry_run: bool
    errors: list[Error] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    changed_forms: list[FormChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> bool:
        """The file's data are in the database (not a preview, no errors)."""
        return self.ok and not self.dry_run


class _Rollback(Exception):
    """Raised inside the import's transaction to undo it (errors, or a dry run)."""


# --- Import: converting JSON values to model values -----------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _codes_of(spec: FormSpec, variable: Variable) -> set[str] | None:
    """The codes a ``codes`` list may hold: from the model field, else the web form's field."""
    if variable.field.choices:
        return {str(code) for code, _label in variable.field.flatchoices}
    form_class = spec.form_class
    form_field = form_class.base_fields.get(variable.field_name) if form_class else None
    choices = getattr(form_field, "choices", None)
    if choices:
        return {str(code) for code, _label in choices}
    return None


def _run_validators(model_field: models.Field[Any, Any], value: Any) -> None:
    """The field's own limits (digits, decimal places, length), which the database enforces."""
    try:
        model_field.run_validators(value)
    except ValidationError as error:
        raise _Invalid(" ".join(error.messages)) from None


def _to_python(spec: FormSpec, variable: Variable, raw: Any) -> Any:
    """A JSON value as the model field holds it; ``_Invalid`` with a message otherwise."""
    model_field, name = variable.field, {"var": variable.name}
    if _empty(raw):
        return None
    if isinstance(model_field, models.DateTimeField):
        moment = parse_datetime(raw) if isinstance(raw, str) else None
        if moment is None or timezone.is_naive(moment):
            raise _Invalid(
                _("%(var)s must be a date and time as YYYY-MM-DDTHH:MM:SS with a UTC offset.")
                % name
            )
        return moment
    if isinstance(model_field, models.DateField):
        if not isinstance(raw, str) or not _DATE.match(raw):
            raise _Invalid(_("%(var)s must be a date as YYYY-MM-DD.") % name)
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise _Invalid(
                _("%(var)s must be a real date; %(value)s is not.") % {**name, "value": raw}
            ) from None
    if isinstance(model_field, models.DecimalField):
        if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
            raise _Invalid(_("%(var)s must be a number.") % name)
        value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
        _run_validators(model_field, value)
        # As the database gives it back (168 -> 168.0), so unchanged values compare equal.
        return value.quantize(Decimal(1).scaleb(-(model_field.decimal_places or 0)))
    if isinstance(model_field, models.IntegerField):
        whole = isinstance(raw, Decimal) and raw == raw.to_integral_value()
        if isinstance(raw, bool) or not (isinstance(raw, int) or whole):
            raise _Invalid(_("%(var)s must be a whole number.") % name)
        number = int(raw)
        _run_validators(model_field, number)
        return number
    if isinstance(model_field, models.BooleanField):
        if not isinstance(raw, bool):
            raise _Invalid(_("%(var)s must be true or false.") % name)
        return raw
    if isinstance(model_field, models.JSONField):
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise _Invalid(_("%(var)s must be a list of codes.") % name)
        codes = _codes_of(spec, variable)
        unknown = [c for c in raw if codes is not None and c not in codes]
        if unknown:
            raise _Invalid(
                _("%(var)s has unknown codes %(codes)s (expected some of: %(known)s).")
                % {**name, "codes": ", ".join(unknown), "known": ", ".join(sorted(codes or ()))}
            )
        return list(raw)
    if isinstance(model_field, models.CharField | models.TextField):
        if not isinstance(raw, str):
            raise _Invalid(_("%(var)s must be text (a JSON string).") % name)
        if model_field.choices:
            known = [str(code) for code, _label in model_field.flatchoices]
            if raw not in known:
                raise _Invalid(
                    _("%(var)s has the unknown code %(code)s (expected one of: %(known)s).")
                    % {**name, "code": raw, "known": ", ".join(known)}
                )
        _run_validators(model_field, raw)
        return raw
    raise _Invalid(
        _("%(var)s: values of this type (%(type)s) cannot be imported.")
        % {**name, "type": model_field.get_internal_type()}
    )


# --- Import: the work ------------------------------------------------------------------------


@dataclass
class _FormEntry:
    spec: FormSpec
    visit_code: str
    values: dict[str, Any]  # by model field name
    groups: dict[str, list[dict[str, Any]]]  # group name -> rows by model field name
    position: int

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.spec.order, self.spec.code, visit_sort_key(self.visit_code), self.position)


class _Importer:
    """One import: walks the document, writes through the services, collects errors."""

    def __init__(self, *, actor: AbstractBaseUser, reason: str, file_sha256: str) -> None:
        self.actor = actor
        self.reason = Reason(ChangeReason.DATA_IMPORT, reason)
        self.sha = file_sha256
        self.errors: list[Error] = []
        self.summary = Summary()
        self.changed_forms: list[FormChange] = []
        self.sites: dict[str, Site] = {}
        self.seen_screening: set[str] = set()
        self.seen_subject_ids: set[str] = set()

    def fail(
        self, message: Any, *, subject: str = "", visit: str = "", form: str = "", var: str = ""
    ) -> None:
        self.errors.append(Error(subject, visit, form, var, str(message)))

    def _audit(self, *, action: str, form_code: str, obj: Any, **kwargs: Any) -> None:
        audit.record(
            actor=self.actor,
            action=action,
            form_code=form_code,
            obj=obj,
            reason_code=self.reason.code,
            reason_text=self.reason.text,
            source=AuditSource.IMPORT,
            file_sha256=self.sha,
            **kwargs,
        )

    # The document ---------------------------------------------------------------------

    def run(self, document: Mapping[str, Any]) -> None:
        if document.get("format") != FORMAT:
            self.fail(
                _("This is not a study data file of format %(f)s.") % {"f": FORMAT}, var="format"
            )
            return
        if document.get("study") != protocol.STUDY_CODE:
            self.fail(
                _("The file is of study %(file)s, not %(study)s.")
                % {"file": document.get("study"), "study": protocol.STUDY_CODE},
                var="study",
            )
        for key in sorted(set(document) - {"format", "study", "created", PARAMETERS, *_LISTS}):
            self.fail(_("Unknown key of the file."), var=key)
        lists = {key: document.get(key, []) for key in _LISTS}
        for key, value in lists.items():
            if not isinstance(value, list):
                self.fail(_("This must be a list."), var=key)
                lists[key] = []
        # Before any subject: the cap of every ENR in the file is the file's target.
        self._parameters(document.get(PARAMETERS))
        self._sites(lists["sites"])
        for entry in lists["subjects"]:
            self._subject(entry, enrolled=True)
        for entry in lists["screening"]:
            self._subject(entry, enrolled=False)

    def _parameters(self, raw: Any) -> None:
        """The study-level values of the file (module docstring): the target enrolment."""
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.fail(_("This must be a JSON object."), var=PARAMETERS)
            return
        for key in sorted(set(raw) - {TARGET_ENROLMENT}):
            self.fail(_("Unknown study parameter."), var=f"{PARAMETERS}.{key}")
        if TARGET_ENROLMENT not in raw:
            return
        where = f"{PARAMETERS}.{TARGET_ENROLMENT}"
        target = raw[TARGET_ENROLMENT]
        if isinstance(target, bool) or not isinstance(target, int) or target < 1:
            self.fail(_("The target enrolment must be a whole number of at least 1."), var=where)
            return
        if target > _MAX_TARGET:
            self.fail(
                _("The target enrolment must be at most %(max)d.") % {"max": _MAX_TARGET},
                var=where,
            )
            return
        # Locked to the end of the import, as the enrol page and raise_enrolment_target do.
        parameters = StudyParameters.objects.select_for_update().get(
            pk=StudyParameters.objects.current().pk
        )
        old = parameters.target_enrolment
        if target == old:
            return
        enrolled = Subject.objects.filter(subject_id__isnull=False).count()
        if target < enrolled:
            self.fail(
                _(
                    "The target enrolment cannot be %(target)d: %(enrolled)d subjects are "
                    "already enrolled."
                )
                % {"target": target, "enrolled": enrolled},
                var=where,
            )
            return
        parameters.target_enrolment = target
        parameters.save(update_fields=["target_enrolment"])
        self._audit(
            action=AuditAction.UPDATE,
            form_code="PARAM",
            obj=parameters,
            changes=[("TARGET_ENROLMENT", old, target)],
        )
        self.changed_forms.append(
            FormChange("", "", "PARAM", (f"TARGET_ENROLMENT {old} → {target}",))
        )

    def _sites(self, entries: list[Any]) -> None:
        self.sites = {s.number: s for s in Site.objects.all()}
        listed: set[str] = set()
        for entry in entries:
            entry = entry if isinstance(entry, dict) else {}
            number, name = entry.get("site"), entry.get("name")
            if not isinstance(number, str) or not _SITE.match(number):
                self.fail(_("A site number is two digits, e.g. 01."), var="site")
                continue
            if number in listed:
                self.fail(_("Site %(site)s is listed twice.") % {"site": number}, var="site")
            listed.add(number)
            if number in self.sites:
                continue  # an existing site keeps its name
            if not isinstance(name, str) or not name.strip():
                self.fail(_("Site %(site)s needs a name.") % {"site": number}, var="name")
                continue
            site = Site.objects.create(number=number, name=name.strip())
            changes = [("SITE", None, number), ("NAME", None, site.name)]
            self._audit(action=AuditAction.CREATE, form_code="SITE", obj=site, changes=changes)
            self.sites[number] = site
            self.summary.sites_created += 1

    # One subject ----------------------------------------------------------------------

    def _identity(self, entry: Mapping[str, Any], label: str, *, enrolled: bool) -> bool:
        """Whether the entry's site, screening number and subject ID can be used."""
        site = entry.get("site")
        screening_id, subject_id = entry.get("screening_id"), entry.get("subject_id")
        for key in sorted(set(entry) - {"site", "screening_id", "subject_id", "forms"}):
            self.fail(_("Unknown key of a subject."), subject=label, var=key)
        if not isinstance(site, str) or site not in self.sites:
            self.fail(
                _("Site %(site)s is neither in the file's site list nor in the database.")
                % {"site": site},
                subject=label,
                var="site",
            )
            return False
        ok = True
        # The services number new subjects from these patterns (enrollment.services).
        if not isinstance(screening_id, str) or not re.fullmatch(
            rf"S{site}-\d{{3,}}", screening_id
        ):
            self.fail(
                _("A screening number of site %(site)s is S%(site)s- and 3 digits.")
                % {"site": site},
                subject=label,
                var="screening_id",
            )
            ok = False
        elif screening_id in self.seen_screening:
            self.fail(_("This screening number appears twice."), subject=label, var="screening_id")
            ok = False
        else:
            self.seen_screening.add(screening_id)
        if not enrolled:
            if subject_id is not None:
                self.fail(
                    _("The screening list is for persons never enrolled: no subject ID."),
                    subject=label,
                    var="subject_id",
                )
                ok = False
        elif not isinstance(subject_id, str) or not re.fullmatch(rf"{site}-\d{{3,}}", subject_id):
            self.fail(
                _("A subject ID of site %(site)s is %(site)s- and 3 digits.") % {"site": site},
                subject=label,
                var="subject_id",
            )
            ok = False
        elif subject_id in self.seen_subject_ids:
            self.fail(_("This subject ID appears twice."), subject=label, var="subject_id")
            ok = False
        else:
            self.seen_subject_ids.add(subject_id)
        return ok

    def _subject_row(self, entry: Mapping[str, Any], label: str) -> Subject | None:
        """The subject of the entry: matched by screening number, else created (audited)."""
        site = self.sites[entry["site"]]
        screening_id, subject_id = entry["screening_id"], entry.get("subject_id")
        subject = Subject.objects.filter(screening_id=screening_id).first()
        taken = (
            Subject.objects.filter(subject_id=subject_id).exclude(screening_id=screening_id).first()
            if subject_id
            else None
        )
        if taken is not None:
            self.fail(
                _("Subject ID %(id)s belongs to screening number %(other)s in the database.")
                % {"id": subject_id, "other": taken.screening_id},
                subject=label,
                var="subject_id",
            )
            return None
        if subject is None:
            subject = Subject.objects.create(
                site=site, screening_id=screening_id, subject_id=subject_id
            )
            changes = [("SITE", None, site.number), ("SCREENING_ID", None, screening_id)]
            if subject_id:
                changes.append(("SUBJECT_ID", None, subject_id))
            self._audit(
                action=AuditAction.CREATE,
                form_code="SUBJ",
                obj=subject,
                subject_id=subject.pk,
                changes=changes,
            )
            self.summary.subjects_created += 1
        elif subject.site_id != site.pk:
            self.fail(
                _("Screening number %(id)s belongs to a subject of another site.")
                % {"id": screening_id},
                subject=label,
                var="screening_id",
            )
            return None
        elif subject.subject_id != subject_id:
            if subject.subject_id:
                self.fail(
                    _("The database has subject ID %(db)s for screening number %(id)s.")
                    % {"db": subject.subject_id, "id": screening_id},
                    subject=label,
                    var="subject_id",
                )
                return None
            subject.subject_id = subject_id
            subject.save(update_fields=["subject_id"])
            self._audit(
                action=AuditAction.UPDATE,
                form_code="SUBJ",
                obj=subject,
                subject_id=subject.pk,
                changes=[("SUBJECT_ID", None, subject_id)],
            )
            self.summary.subjects_changed += 1
        Visit.objects.get_or_create(
            subject=subject, code="SCR", defaults={"kind": VisitKind.SCREENING, "number": 0}
        )
        return subject

    def _subject(self, entry: Any, *, enrolled: bool) -> None:
        if not isinstance(entry, dict):
            self.fail(_("A subject must be a JSON object."))
            return
        label = str(entry.get("subject_id") or entry.get("screening_id") or "?")
        usable = self._identity(entry, label, enrolled=enrolled)
        raw_forms = entry.get("forms", [])
        if not isinstance(raw_forms, list):
            self.fail(_("This must be a list."), subject=label, var="forms")
            raw_forms = []
        # Every form is read (and its values checked) even when the subject is unusable.
        parsed = [self._form(label, raw, position) for position, raw in enumerate(raw_forms)]
        forms = [form for form in parsed if form is not None]
        self._duplicates(label, forms)
        subject = self._subject_row(entry, label) if usable else None
        if subject is None:
            return
        log_records: dict[str, list[CaseReportForm]] = {}
        # Registry order, then visit order: cross-form checks see the forms they depend on.
        for form in sorted(forms, key=lambda f: f.sort_key):
            self._save(subject, label, form, log_records)
        for hook in registry.after_import_hooks():
            try:
                hook(
                    Subject.objects.get(pk=subject.pk),
                    self.actor,
                    file_sha256=self.sha,
                    reason=self.reason,
                )
            except ValidationError as error:
                for message in error.messages:
                    # Said once per subject (e.g. the cap, refused at its ENR already).
                    if not any(e.subject == label and e.message == message for e in self.errors):
                        self.fail(message, subject=label)

    # One form -------------------------------------------------------------------------

    def _form(self, label: str, raw: Any, position: int) -> _FormEntry | None:
        """Read one form entry: its visit and its values converted; None when unusable."""
        if not isinstance(raw, dict):
            self.fail(_("A form must be a JSON object."), subject=label)
            return None
        code, visit_code = raw.get("form"), raw.get("visit")
        where = {"subject": label, "visit": str(visit_code or ""), "form": str(code or "")}
        try:
            spec = registry.get(str(code))
        except KeyError:
            self.fail(_("There is no form %(form)s.") % {"form": code}, **where)
            return None
        for key in sorted(set(raw) - {"form", "visit", "data"}):
            self.fail(_("Unknown key of a form."), **where, var=key)
        if spec.is_log and visit_code is not None:
            self.fail(_("A log form belongs to no visit."), **where, var="visit")
            return None
        if not spec.is_log:
            try:
                kind = visit_kind_for_code(str(visit_code))[0]
            except ValueError:
                self.fail(_("This form needs the code of its visit."), **where, var="visit")
                return None
            if kind not in spec.visit_kinds:
                self.fail(
                    _("Form %(form)s does not belong to visit %(visit)s.")
                    % {"form": spec.code, "visit": visit_code},
                    **where,
                    var="visit",
                )
                return None
        data = raw.get("data", {})
        if not isinstance(data, dict):
            self.fail(_("This must be a JSON object."), **where, var="data")
            return None
        known = {v.name for v in spec.variables} | {g.name for g in spec.groups}
        for name in sorted(set(data) - known):
            self.fail(_("There is no such variable in this form."), **where, var=name)
        values = self._values(where, spec, spec.input_variables, data, prefix="")
        groups = {g.name: self._rows(where, spec, g, data.get(g.name)) for g in spec.groups}
        return _FormEntry(spec, where["visit"], values, groups, position)

    def _values(
        self,
        where: dict[str, str],
        spec: FormSpec,
        variables: Sequence[Variable],
        data: Mapping[str, Any],
        *,
        prefix: str,
    ) -> dict[str, Any]:
        """Input variables by model field name; derived ones are ignored (recomputed)."""
        values: dict[str, Any] = {}
        for variable in variables:
            if variable.derived:
                continue
            try:
                values[variable.field_name] = _to_python(spec, variable, data.get(variable.name))
            except _Invalid as invalid:
                # Left empty so the form's checks still run and report their own errors;
                # the import is refused anyway.
                values[variable.field_name] = None
                self.fail(invalid.message, **where, var=prefix + variable.name)
        return values

    def _rows(
        self, where: dict[str, str], spec: FormSpec, group: GroupSpec, raw: Any
    ) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
            self.fail(_("This must be a list of JSON objects."), **where, var=group.name)
            return []
        known = {v.name for v in group.variables}
        rows = []
        for row in raw:
            key = row.get(group.key)
            prefix = f"{group.name}[{key}]." if not _empty(key) else f"{group.name}."
            for name in sorted(set(row) - known):
                self.fail(_("There is no such variable in this group."), **where, var=prefix + name)
            if _empty(key):
                self.fail(_("Every row needs its key."), **where, var=prefix + group.key)
                continue
            rows.append(self._values(where, spec, group.variables, row, prefix=prefix))
        return rows

    def _duplicates(self, label: str, forms: Sequence[_FormEntry]) -> None:
        seen: set[tuple[str, str]] = set()
        for form in forms:
            if form.spec.is_log and not form.spec.once_per_subject:
                continue  # a log form appears once per record
            key = (form.spec.code, "" if form.spec.once_per_subject else form.visit_code)
            if key in seen:
                self.fail(
                    _("The form appears twice."),
                    subject=label,
                    visit=form.visit_code,
                    form=form.spec.code,
                )
            seen.add(key)

    @staticmethod
    def _existing(
        subject: Subject,
        form: _FormEntry,
        visit: Visit | None,
        log_records: dict[str, list[CaseReportForm]],
    ) -> CaseReportForm | None:
        spec = form.spec
        active = spec.model.objects.filter(subject=subject, is_deleted=False)
        if spec.once_per_subject:
            return active.first()  # type: ignore[no-any-return]
        if visit is not None:
            return active.filter(visit=visit).first()  # type: ignore[no-any-return]
        # A log form: the n-th record of the file is the n-th record in the database.
        if spec.code not in log_records:
            log_records[spec.code] = list(active.order_by("id"))
        records = log_records[spec.code]
        return records.pop(0) if records else None

    @staticmethod
    def _complete(spec: FormSpec, form: _FormEntry, facts: Mapping[str, Any]) -> bool:
        """Complete when every required variable, derived ones included, has a value, and
        no check that applies only to a complete form (e.g. the SAE narrative when
        AESER=Y) refuses it."""
        data: dict[str, Any] = {v.name: form.values.get(v.field_name) for v in spec.variables}
        check_data = dict(data)
        for group in spec.groups:
            check_data[group.name] = [
                {v.name: row.get(v.field_name) for v in group.variables}
                for row in form.groups[group.name]
            ]
        if spec.derive is not None:
            derived = spec.derive(check_data, facts)
            data.update(derived)
            check_data.update(derived)
        if not all(not _empty(data.get(v.name)) for v in spec.variables if v.required):
            return False
        today = timezone.localdate()
        hard = {
            complete: {
                f.check
                for f in run_checks(
                    spec.checks,
                    check_data,
                    CheckContext(today=today, facts=facts, complete=complete),
                ).hard
            }
            for complete in (False, True)
        }
        return hard[True] <= hard[False]

    @staticmethod
    def _changes(spec: FormSpec, current: CaseReportForm, form: _FormEntry) -> tuple[str, ...]:
        """The input variables and groups whose values differ from the database."""
        changed = [
            v.name
            for v in spec.input_variables
            if audit_text(getattr(current, v.field_name)) != audit_text(form.values[v.field_name])
        ]
        for group in spec.groups:
            rows = group.model.objects.filter(**{"form": current}, is_deleted=False)
            old = _row_texts(group, [{f: getattr(r, f) for f in _fields(group)} for r in rows])
            if old != _row_texts(group, form.groups[group.name]):
                changed.append(group.name)
        return tuple(changed)

    def _save(
        self,
        subject: Subject,
        label: str,
        form: _FormEntry,
        log_records: dict[str, list[CaseReportForm]],
    ) -> None:
        spec = form.spec
        where = {"subject": label, "visit": form.visit_code, "form": spec.code}
        visit = None
        if not spec.is_log:
            kind, number = visit_kind_for_code(form.visit_code)
            visit = Visit.objects.get_or_create(
                subject=subject, code=form.visit_code, defaults={"kind": kind, "number": number}
            )[0]
        current = self._existing(subject, form, visit, log_records)
        changes: tuple[str, ...] = ()
        if current is not None:
            changes = self._changes(spec, current, form)
            if not changes:
                self.summary.forms_unchanged += 1
                return
        facts = registry.subject_facts(subject, visit)
        try:
            save_form(
                actor=self.actor,
                spec=spec,
                subject=subject,
                visit=visit,
                instance=current,
                values=form.values,
                groups=form.groups if spec.groups else None,
                complete=self._complete(spec, form, facts),
                reason=self.reason,
                source=AuditSource.IMPORT,
                file_sha256=self.sha,
                facts=facts,
            )
        except CheckError as error:
            for finding in error.findings:
                self.fail(finding.message, **where, var=finding.variable)
            return
        except StaleFormError as stale:
            self.fail(stale.message, **where)
            return
        except ValidationError as error:
            for key, messages in _message_items(error):
                variable = spec.variable_for_field(key)
                for message in messages:
                    self.fail(message, **where, var=variable.name if variable else key)
            return
        if current is None:
            self.summary.forms_created += 1
        else:
            self.summary.forms_changed += 1
            self.changed_forms.append(FormChange(label, form.visit_code, spec.code, changes))


def _fields(group: GroupSpec) -> list[str]:
    return [v.field_name for v in group.variables]


def _row_texts(group: GroupSpec, rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """A group's rows by key, as the audit trail writes their values (for comparing)."""
    key_field = group.variable(group.key).field_name
    return {
        str(row.get(key_field)): tuple(audit_text(row.get(f)) for f in _fields(group))
        for row in rows
    }


def _message_items(error: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(error, "error_dict"):
        return [
            ("" if key == "__all__" else key, list(messages))
            for key, messages in error.message_dict.items()
        ]
    return [("", list(error.messages))]


def import_document(
    *,
    document: Mapping[str, Any],
    actor: AbstractBaseUser,
    reason: str,
    file_sha256: str,
    dry_run: bool = False,
) -> ImportReport:
    """Import a study data file: all or nothing, every hard edit check, audited.

    Runs in one transaction: creates absent sites and subjects (audited, source
    import), saves every form through ``crf.services.save_form`` in registry order
    (so cross-form checks see the forms before: IC before IE before ENR), then
    runs the registry's after-import hooks (subject status) for each subject.
    Any error, or ``dry_run``, rolls everything back; the report lists every
    error as ``subject / visit / form / variable: message`` and what the import
    changes. Every audit entry carries the reason (code DATA_IMPORT, the given
    text) and the file's SHA-256. Raises ValidationError when a real import has
    no reason.
    """
    if not dry_run and not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the import.")})
    importer = _Importer(actor=actor, reason=reason.strip(), file_sha256=file_sha256)
    form_codes = [spec.code for spec in registry.all_forms()]
    try:
        with transaction.atomic():
            last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            importer.run(document)
            importer.summary.values_changed = (
                AuditEntry.objects.filter(
                    id__gt=last, file_sha256=file_sha256, form_code__in=form_codes
                )
                .exclude(variable="")
                .count()
            )
            if importer.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return ImportReport(
        file_sha256=file_sha256,
        dry_run=dry_run,
        errors=importer.errors,
        summary=importer.summary,
        changed_forms=importer.changed_forms,
    )
