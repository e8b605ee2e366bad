"""The form registry: every concrete case report form, by its crf-spec code.

Each registered form knows its code (``IC``, ``DM``, ``TA`` …), the visit kinds it
belongs to (none for log forms), the mapping between its model fields and the
crf-spec variable names (declared on the model as ``VARIABLES``), its repeating
groups, its edit checks and its derivations. Import, export, PDFs and the generic
form pages work over this registry, so a new form joins them by registering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.functional import Promise
from django.utils.text import capfirst

from crf.checks import Check

if TYPE_CHECKING:
    from django import forms as django_forms

    from crf.models import CaseReportForm, RepeatingRow

# (form data by variable, subject facts) -> derived variables
Derivation = Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class Variable:
    """One crf-spec variable and the model field that holds it."""

    name: str
    field: models.Field[Any, Any]
    derived: bool = False
    required: bool = False
    unit: str | Promise = ""  # crf-spec unit, shown beside the value (model ``UNITS``)

    @property
    def field_name(self) -> str:
        return self.field.name

    @property
    def label(self) -> str:
        """The field's label as people read it (capitalised, without the unit)."""
        return capfirst(str(self.field.verbose_name))

    @property
    def is_date(self) -> bool:
        """A full date (YYYY-MM-DD)."""
        return isinstance(self.field, models.DateField) and not isinstance(
            self.field, models.DateTimeField
        )

    @property
    def is_partial_date(self) -> bool:
        """A crf-spec *partial* date (YYYY, YYYY-MM or YYYY-MM-DD as text): the model field
        is declared with ``crf.models.PARTIAL_DATE_HELP``."""
        from crf.models import PARTIAL_DATE_HELP

        return self.field.help_text is PARTIAL_DATE_HELP

    @property
    def is_text(self) -> bool:
        return isinstance(self.field, models.CharField | models.TextField)

    @property
    def is_multiline(self) -> bool:
        """Text typed in a text area (TextField), whose line breaks are kept."""
        return isinstance(self.field, models.TextField)


@dataclass(frozen=True)
class GroupSpec:
    """A repeating group (IE, TL, NTL, NL): rows of a child model, keyed by one variable."""

    name: str
    model: type[RepeatingRow]
    key: str
    variables: tuple[Variable, ...]
    title: str | Promise = ""  # e.g. "Target lesions" for TL

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


@dataclass(frozen=True)
class FormSpec:
    code: str
    title: str | Promise
    model: type[CaseReportForm]
    visit_kinds: tuple[str, ...]
    variables: tuple[Variable, ...]
    groups: tuple[GroupSpec, ...] = ()
    checks: tuple[Check, ...] = ()
    derive: Derivation | None = None
    form_class: type[django_forms.ModelForm[Any]] | None = None
    once_per_subject: bool = False
    order: int = 0
    page: str | None = None  # URL name of a dedicated page (kwarg subject_pk)
    # (subject, visit) -> {group: [row initial values by field]} for a new form
    group_initial: Callable[[Any, Any], dict[str, list[dict[str, Any]]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Date variables crf-spec allows after today (e.g. PLDAY1, a planned day); every other
    # date is refused in the future by crf.services.save_form.
    future_dates: frozenset[str] = frozenset()

    @property
    def is_log(self) -> bool:
        return not self.visit_kinds

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def variable_for_field(self, field_name: str) -> Variable | None:
        return next((v for v in self.variables if v.field_name == field_name), None)

    def group(self, name: str) -> GroupSpec:
        return next(g for g in self.groups if g.name == name)

    @property
    def input_variables(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if not v.derived)


_REGISTRY: dict[str, FormSpec] = {}


def _variables(
    model: type[models.Model],
    mapping: Mapping[str, str],
    *,
    derived: Iterable[str] = (),
    required: Iterable[str] = (),
) -> tuple[Variable, ...]:
    derived_set, required_set = set(derived), set(required)
    units: Mapping[str, str | Promise] = getattr(model, "UNITS", {})
    unknown = (derived_set | required_set | set(units)) - set(mapping)
    if unknown:
        raise ValueError(f"{model.__name__}: unknown variables {sorted(unknown)}")
    return tuple(
        Variable(
            name=name,
            field=model._meta.get_field(field_name),  # type: ignore[arg-type]
            derived=name in derived_set,
            required=name in required_set,
            unit=units.get(name, ""),
        )
        for name, field_name in mapping.items()
    )


def group(
    name: str,
    model: type[RepeatingRow],
    *,
    key: str,
    required: Sequence[str] = (),
    title: str | Promise = "",
) -> GroupSpec:
    return GroupSpec(
        name=name,
        model=model,
        key=key,
        variables=_variables(model, model.VARIABLES, required=required),
        title=title or name,
    )


def register(
    model: type[CaseReportForm],
    *,
    code: str,
    title: str | Promise,
    visit_kinds: Sequence[str],
    required: Sequence[str] = (),
    derived: Sequence[str] = (),
    groups: Sequence[GroupSpec] = (),
    checks: Sequence[Check] = (),
    derive: Derivation | None = None,
    form_class: type[django_forms.ModelForm[Any]] | None = None,
    once_per_subject: bool = False,
    order: int = 0,
    page: str | None = None,
    group_initial: Callable[[Any, Any], dict[str, list[dict[str, Any]]]] | None = None,
    future_dates: Sequence[str] = (),
) -> FormSpec:
    """Register a concrete form; called from the owning app's ``AppConfig.ready``.

    ``future_dates`` names the date variables crf-spec allows after today.
    """
    if code in _REGISTRY and _REGISTRY[code].model is not model:
        raise ValueError(f"Form code {code} is already registered.")
    spec = FormSpec(
        code=code,
        title=title,
        model=model,
        visit_kinds=tuple(visit_kinds),
        variables=_variables(model, model.VARIABLES, derived=derived, required=required),
        groups=tuple(groups),
        checks=tuple(checks),
        derive=derive,
        form_class=form_class,
        once_per_subject=once_per_subject,
        order=order,
        page=page,
        group_initial=group_initial,
        future_dates=frozenset(future_dates),
    )
    variables = [*spec.variables, *(v for g in spec.groups for v in g.variables)]
    dates = {v.name for v in variables if v.is_date or v.is_partial_date}
    if not spec.future_dates <= dates:
        raise ValueError(f"{code}: future_dates {sorted(spec.future_dates - dates)} are no dates")
    _REGISTRY[code] = spec
    return spec


def get(code: str) -> FormSpec:
    """The registered form ``code``; KeyError when there is none."""
    return _REGISTRY[code]


def for_model(model: type[models.Model]) -> FormSpec:
    return next(spec for spec in _REGISTRY.values() if spec.model is model)


def all_forms() -> list[FormSpec]:
    return sorted(_REGISTRY.values(), key=lambda spec: (spec.order, spec.code))


def forms_for_visit_kind(kind: str) -> list[FormSpec]:
    return [spec for spec in all_forms() if kind in spec.visit_kinds]


def log_forms() -> list[FormSpec]:
    return [spec for spec in all_forms() if spec.is_log]


# --- Facts: what a form's checks may need from the rest of the subject's data --------------

# provider(subject, visit) -> {name: value}; visit is None for log and subject forms
FactProvider = Callable[[Any, Any], Mapping[str, Any]]
# Providers with the names of the facts each gives (None: names unknown, computed on a miss).
_FACT_PROVIDERS: list[tuple[FactProvider, frozenset[str] | None]] = []


def register_facts(provider: FactProvider, *, names: Iterable[str] | None = None) -> FactProvider:
    """Register ``provider(subject, visit) -> {name: value}`` (e.g. ICDAT, PLDAY1) for checks.

    ``names`` are the facts it gives: a fact is then computed only when a check or a
    derivation reads it (``Facts``). Higher apps register here so the CRF layer never
    imports them.
    """
    if all(existing is not provider for existing, _names in _FACT_PROVIDERS):
        _FACT_PROVIDERS.append((provider, frozenset(names) if names is not None else None))
    return provider


class Facts(Mapping[str, Any]):
    """A subject's facts for one save, computed on first read and kept for the request.

    Each provider runs at most once, the first time one of its names is read; a save whose
    checks read only the visit window costs no query for the consent, the labs or the
    death form. ``given`` values (a caller's own) are read first. Iterating computes every
    provider (use ``get`` in checks).
    """

    def __init__(
        self, subject: Any, visit: Any = None, given: Mapping[str, Any] | None = None
    ) -> None:
        self.subject, self.visit = subject, visit
        self._values: dict[str, Any] = dict(given or {})
        self._done: set[int] = set()

    def _run(self, index: int) -> None:
        if index in self._done:
            return
        self._done.add(index)
        provider, _names = _FACT_PROVIDERS[index]
        for name, value in provider(self.subject, self.visit).items():
            self._values.setdefault(name, value)

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        for index, (_provider, names) in enumerate(_FACT_PROVIDERS):
            if names is not None and name in names:
                self._run(index)
                if name in self._values:
                    return self._values[name]
        for index, (_provider, names) in enumerate(_FACT_PROVIDERS):
            if names is None:
                self._run(index)
                if name in self._values:
                    return self._values[name]
        raise KeyError(name)

    def _everything(self) -> dict[str, Any]:
        for index in range(len(_FACT_PROVIDERS)):
            self._run(index)
        return self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())

    def with_values(self, **values: Any) -> Facts:
        """The same facts with some values given (e.g. the labs a caller just saved)."""
        facts = Facts(self.subject, self.visit)
        facts._values, facts._done = {**self._values, **values}, set(self._done)
        return facts


def subject_facts(subject: Any, visit: Any = None) -> Facts:
    """The facts of ``subject`` (and ``visit``), each computed when first read."""
    return Facts(subject, visit)


# --- Hooks run after a study data file import created or changed a subject --------------

# hook(subject, actor, *, file_sha256: str, reason: str)
SubjectHook = Callable[..., None]
_AFTER_IMPORT: list[SubjectHook] = []


def register_after_import(hook: SubjectHook) -> SubjectHook:
    """Register ``hook(subject, actor, *, file_sha256, reason)``, run for each imported
    subject inside the import's transaction (e.g. to set its status); audit what it
    changes as imported, with the file's SHA-256 and the reason."""
    if hook not in _AFTER_IMPORT:
        _AFTER_IMPORT.append(hook)
    return hook


def after_import_hooks() -> list[SubjectHook]:
    return list(_AFTER_IMPORT)


# --- Actions offered on a subject's page by higher apps (screen, enrol, …) ---------------

SubjectAction = Callable[[Any, Any], Sequence[tuple[str, str]]]
_SUBJECT_ACTIONS: list[SubjectAction] = []


def register_subject_actions(provider: SubjectAction) -> SubjectAction:
    """Register ``provider(subject, user) -> [(label, url), …]`` for the subject page."""
    if provider not in _SUBJECT_ACTIONS:
        _SUBJECT_ACTIONS.append(provider)
    return provider


def subject_actions(subject: Any, user: Any) -> list[tuple[str, str]]:
    return [action for provider in _SUBJECT_ACTIONS for action in provider(subject, user)]


# --- Hooks run after a form is saved (inside the same transaction) ------------------------

# hook(instance, actor) -> None
AfterSave = Callable[[Any, Any], None]
_AFTER_SAVE: dict[str, list[AfterSave]] = {}


def register_after_save(codes: Sequence[str], hook: AfterSave) -> AfterSave:
    """Run ``hook(instance, actor)`` after a form of one of ``codes`` is saved or deleted,
    inside the same transaction (e.g. the visit schedule follows ENR and EX)."""
    for code in codes:
        hooks = _AFTER_SAVE.setdefault(code, [])
        if hook not in hooks:
            hooks.append(hook)
    return hook


def after_save_hooks(code: str) -> list[AfterSave]:
    return list(_AFTER_SAVE.get(code, []))


# --- How a visit's status is told (the visits app knows the schedule's rules) -------------

# status(visit, today, required, complete, started) -> (code, label)
VisitStatusFn = Callable[..., tuple[str, str]]
_VISIT_STATUS: list[VisitStatusFn] = []


def register_visit_status(fn: VisitStatusFn) -> VisitStatusFn:
    _VISIT_STATUS[:] = [fn]
    return fn


def visit_status(visit: Any, **kwargs: Any) -> tuple[str, str] | None:
    return _VISIT_STATUS[0](visit, **kwargs) if _VISIT_STATUS else None


# --- Panels higher apps add to the subject page (AE log and timeline, endpoints) ----------

# panel(request, subject) -> rendered HTML, or "" for none
SubjectPanel = Callable[[Any, Any], str]
_SUBJECT_PANELS: list[tuple[int, SubjectPanel, bool]] = []


def register_subject_panel(
    panel: SubjectPanel, *, order: int = 100, live: bool = False
) -> SubjectPanel:
    """Register ``panel(request, subject) -> html`` shown on the subject page, by ``order``.

    A panel is drawn from the subject's data and kept with the page's other parts until
    they change (crf.page_cache); a ``live`` panel (one with a form, whose CSRF token is
    the reader's own) is drawn for every request and shown before the kept ones."""
    if all(existing is not panel for _order, existing, _live in _SUBJECT_PANELS):
        _SUBJECT_PANELS.append((order, panel, live))
        _SUBJECT_PANELS.sort(key=lambda item: item[0])
    return panel


def subject_panels(request: Any, subject: Any, *, live: bool | None = None) -> list[str]:
    """The panels' HTML (only the live or only the kept ones when ``live`` is given)."""
    return [
        html
        for _order, panel, is_live in _SUBJECT_PANELS
        if live is None or is_live == live
        if (html := panel(request, subject))
    ]


# --- What higher apps (data management) add to every write and to the form page ----------
#
# Written once here, where every path passes (save_form, delete_form, SubjectBatch: the web
# form, its htmx partials, the study data file import, the demo, the admin, commands), so a
# lock, an SDV reset or a signature's invalidation holds for all of them alike.


@dataclass(frozen=True)
class WriteAttempt:
    """A write about to happen to a subject's clinical data (nothing written yet)."""

    actor: Any
    subject: Any  # None: the study as a whole (a new subject, an import, study parameters)
    spec: FormSpec | None  # None: not a form (a visit marked missed, the subject's status...)
    visit: Any = None
    instance: Any = None  # the form being changed or deleted; None when it is created
    action: str = "save"  # "save", "delete", "visit", "subject", "study"
    # The unit of work the write belongs to (a SubjectBatch: the same object for each of its
    # forms, the subject locked until it commits): a guard may keep what it read for it.
    batch: Any = None


@dataclass(frozen=True)
class WrittenChange:
    """A form's change as written: its audit entries (dicts of AuditEntry fields, one per
    changed value, with group and row_key for a repeating row)."""

    actor: Any
    subject: Any
    spec: FormSpec
    instance: Any
    entries: Sequence[Mapping[str, Any]]
    at: Any


# guard(attempt) -> None; raises django.core.exceptions.ValidationError to refuse the write
WriteGuard = Callable[[WriteAttempt], None]
# listener(change) -> None; runs inside the writing transaction, after the audit entries
ChangeListener = Callable[[WrittenChange], None]
# listener(opened findings, resolved finding ids) -> None
FindingListener = Callable[[Sequence[Any], Sequence[int]], None]
_WRITE_GUARDS: list[WriteGuard] = []
_CHANGE_LISTENERS: list[ChangeListener] = []
_FINDING_LISTENERS: list[FindingListener] = []


def register_write_guard(guard: WriteGuard) -> WriteGuard:
    """``guard(attempt)`` runs before every write to clinical data and may refuse it by
    raising ValidationError whose message names why (e.g. the lock)."""
    if guard not in _WRITE_GUARDS:
        _WRITE_GUARDS.append(guard)
    return guard


def check_write(attempt: WriteAttempt) -> None:
    for guard in _WRITE_GUARDS:
        guard(attempt)


def register_change_listener(listener: ChangeListener) -> ChangeListener:
    """``listener(change)`` runs after every form change is written and audited (the same
    transaction): SDV resets, signature invalidation."""
    if listener not in _CHANGE_LISTENERS:
        _CHANGE_LISTENERS.append(listener)
    return listener


def changed(change: WrittenChange) -> None:
    for listener in _CHANGE_LISTENERS:
        listener(change)


def register_finding_listener(listener: FindingListener) -> FindingListener:
    """``listener(opened, resolved_ids)`` runs whenever soft findings (CheckFinding) open
    or resolve, on every path (automatic queries)."""
    if listener not in _FINDING_LISTENERS:
        _FINDING_LISTENERS.append(listener)
    return listener


def findings_changed(opened: Sequence[Any], resolved_ids: Sequence[int]) -> None:
    if opened or resolved_ids:
        for listener in _FINDING_LISTENERS:
            listener(opened, resolved_ids)


# Marks shown at a field of the form page (a query badge and its thread, an SDV tick, the
# field's history): keyed (group, row_key, variable); ("", "", "") is the whole form,
# (group, row_key, "") a whole row, ("", "", name) a form variable.
MarkKey = tuple[str, str, str]
# marks(request, spec, subject, instance) -> {key: html}
FormMarks = Callable[[Any, FormSpec, Any, Any], Mapping[MarkKey, str]]
# panel(request, spec, subject, visit, instance) -> html shown above the form, or ""
FormPanel = Callable[[Any, FormSpec, Any, Any, Any], str]
_FORM_MARKS: list[FormMarks] = []
_FORM_PANELS: list[tuple[int, FormPanel]] = []


def register_form_marks(marks: FormMarks) -> FormMarks:
    if marks not in _FORM_MARKS:
        _FORM_MARKS.append(marks)
    return marks


def form_marks(request: Any, spec: FormSpec, subject: Any, instance: Any) -> dict[MarkKey, str]:
    """Every provider's marks, joined per key in registration order."""
    from django.utils.safestring import mark_safe

    joined: dict[MarkKey, str] = {}
    for provider in _FORM_MARKS:
        for key, html in provider(request, spec, subject, instance).items():
            if html:
                joined[key] = mark_safe(joined.get(key, "") + str(html))  # noqa: S308
    return joined


def register_form_panel(panel: FormPanel, *, order: int = 100) -> FormPanel:
    if all(existing is not panel for _order, existing in _FORM_PANELS):
        _FORM_PANELS.append((order, panel))
        _FORM_PANELS.sort(key=lambda item: item[0])
    return panel


def form_panels(
    request: Any, spec: FormSpec, subject: Any, visit: Any, instance: Any
) -> list[tuple[int, str]]:
    """(order, html) of each panel with something to show: the form page shows those of
    order below 50 above the form (a lock, a signature's state), the others below it
    (query threads, SDV, history). Panels sit outside the CRF's <form>, so they may hold
    forms of their own; marks sit inside it and hold links and badges only."""
    return [
        (order, html)
        for order, panel in _FORM_PANELS
        if (html := panel(request, spec, subject, visit, instance))
    ]


# Why a form cannot be changed now (a lock): the form page then shows it read-only to
# everyone. Only what the page shows; the write guards above refuse the write itself.
# blocker(request, spec, subject, visit, instance) -> a message, or "" when editable
EditBlocker = Callable[[Any, FormSpec, Any, Any, Any], str]
_EDIT_BLOCKERS: list[EditBlocker] = []


def register_edit_blocker(blocker: EditBlocker) -> EditBlocker:
    if blocker not in _EDIT_BLOCKERS:
        _EDIT_BLOCKERS.append(blocker)
    return blocker


def edit_blocked(request: Any, spec: FormSpec, subject: Any, visit: Any, instance: Any) -> str:
    """The first blocker's message, or "" when nothing blocks editing the form."""
    for blocker in _EDIT_BLOCKERS:
        message = blocker(request, spec, subject, visit, instance)
        if message:
            return message
    return ""
