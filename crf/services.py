"""Every write to case report forms: checks, optimistic lock, reason, audit trail.

``save_form`` and ``delete_form`` are the only ways clinical rows change (the
models refuse any other ``save()``), so no path — web form, import, admin or
shell — can skip the edit checks, the reason for change or the audit trail.
``SubjectBatch`` saves many forms of one subject (the study data file import, the
demo) by the same steps as ``save_form`` (``_draft`` checks, ``_write`` writes),
gathering what follows each save (the audit INSERT, the hooks that keep the
subject's state) so it runs once for the subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crf import audit, guard, registry
from crf.checks import (
    CheckContext,
    Finding,
    Severity,
    control_character_finding,
    future_date_finding,
    required_findings,
    run_checks,
)
from crf.models import (
    AuditAction,
    AuditSource,
    CaseReportForm,
    ChangeReason,
    CheckFinding,
    FindingStatus,
    FormStatus,
    RepeatingRow,
    Visit,
    visit_kind_for_code,
)
from crf.registry import FormSpec, GroupSpec, Variable
from crf.values import audit_text
from study.models import Subject
from study.timezones import site_zone


@dataclass(frozen=True)
class Reason:
    """A reason for change: a pick-list code and, for OTHER, the explanation."""

    code: str
    text: str = ""

    def __post_init__(self) -> None:
        if self.code not in ChangeReason.values:
            raise ValueError(f"Unknown reason code {self.code!r}")


class StaleFormError(Exception):
    """The form changed since the user opened it; nothing was saved."""

    def __init__(self, current: CaseReportForm) -> None:
        self.current = current
        super().__init__(self.message)

    @property
    def message(self) -> str:
        when = timezone.localtime(self.current.modified_at)
        return _(
            "This form was changed by %(user)s at %(time)s since you opened it. Nothing of "
            "yours was saved: the current values are shown below; make your change again "
            "if it is still needed."
        ) % {
            "user": self.current.modified_by.get_username(),
            "time": date_format(when, "Y-m-d H:i T"),
        }


class CheckError(ValidationError):
    """Hard edit-check findings; ``findings`` keeps the crf-spec variable names."""

    def __init__(self, spec: FormSpec, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        errors: dict[str, list[ValidationError]] = {}
        for finding in findings:
            variable = _find_variable(spec, finding.variable)
            key = variable.field_name if variable is not None else finding.variable
            errors.setdefault(key, []).append(
                ValidationError(str(finding.message), code=finding.check)
            )
        super().__init__(errors)


def _find_variable(spec: FormSpec, name: str) -> Variable | None:
    return next((v for v in spec.variables if v.name == name), None)


def variable_data(spec: FormSpec, instance: CaseReportForm | None) -> dict[str, Any]:
    """The form's current values keyed by crf-spec variable name."""
    if instance is None:
        return {v.name: None for v in spec.variables}
    return {v.name: getattr(instance, v.field_name) for v in spec.variables}


def group_rows(spec: FormSpec, group: GroupSpec, instance: CaseReportForm) -> list[RepeatingRow]:
    rows = group.model.objects.filter(is_deleted=False, **{"form": instance})
    return list(rows.order_by("id"))


def _row_data(group: GroupSpec, row: Mapping[str, Any] | RepeatingRow) -> dict[str, Any]:
    if isinstance(row, RepeatingRow):
        return {v.name: getattr(row, v.field_name) for v in group.variables}
    return {v.name: row.get(v.field_name) for v in group.variables}


def _field_value(variable: Variable, value: Any) -> Any:
    """Empty values in NOT NULL columns: "" for text, [] for code lists (Django's convention)."""
    if value is None and not variable.field.null:
        kind = variable.field.get_internal_type()
        if kind in ("CharField", "TextField"):
            return ""
        if kind == "JSONField":
            return []
    return value


def _audit_row(
    *,
    actor: AbstractBaseUser,
    at: dt.datetime,
    spec: FormSpec,
    instance: CaseReportForm,
    action: str,
    variable: str = "",
    old: Any = None,
    new: Any = None,
    group: str = "",
    row_key: str = "",
    object_model: str = "",
    object_id: int | None = None,
    reason: Reason | None,
    source: str,
    file_sha256: str,
) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor,
        "actor_username": actor.get_username(),
        "subject_id": instance.subject_id,
        "action": action,
        "form_code": spec.code,
        "visit_code": instance.visit.code if instance.visit is not None else "",
        "object_model": object_model or instance._meta.label,
        "object_id": object_id if object_id is not None else instance.pk,
        "group": group,
        "row_key": row_key,
        "variable": variable,
        "old_value": audit_text(old),
        "new_value": audit_text(new),
        "reason_code": reason.code if reason else "",
        "reason_text": reason.text if reason else "",
        "source": source,
        "file_sha256": file_sha256,
    }


def site_today(subject: Subject) -> dt.date:
    """Today at the subject's site (its time zone; the study's default zone when unknown)."""
    return timezone.localdate(timezone=site_zone(subject.site))


def _variable_findings(
    spec: FormSpec, variable: Variable, value: Any, today: dt.date, row: int | None = None
) -> list[Finding]:
    label = capfirst(variable.field.verbose_name)  # lazy: translated only for a finding
    findings: list[Finding | None] = []
    if (variable.is_date or variable.is_partial_date) and variable.name not in spec.future_dates:
        findings.append(future_date_finding(variable.name, value, today, label=label, row=row))
    if variable.is_text:
        findings.append(
            control_character_finding(
                variable.name, value, multiline=variable.is_multiline, label=label, row=row
            )
        )
    return [finding for finding in findings if finding is not None]


def shared_findings(
    spec: FormSpec,
    data: Mapping[str, Any],
    group_data: Mapping[str, Sequence[Mapping[str, Any]]],
    today: dt.date,
) -> list[Finding]:
    """The rules every form shares, over every input variable and every group row.

    - No date (full or crf-spec *partial*) after ``today`` unless the form declares
      it (``FormSpec.future_dates``; crf.checks.future_date_finding).
    - No control character in text; a single-line field holds one line
      (crf.checks.control_character_finding).
    Written once here, where every path (web form, htmx, import, services) saves.
    """
    findings = [
        finding
        for variable in spec.input_variables
        for finding in _variable_findings(spec, variable, data.get(variable.name), today)
    ]
    for group in spec.groups:
        for number, row in enumerate(group_data.get(group.name, ()), start=1):
            for variable in group.variables:
                findings += [
                    replace(finding, group=group.name, row=number)
                    for finding in _variable_findings(
                        spec, variable, row.get(variable.name), today, row=number
                    )
                ]
    return findings


def _check_visit(spec: FormSpec, subject: Subject, visit: Visit | None) -> None:
    if spec.is_log:
        if visit is not None:
            raise ValidationError(
                _("%(form)s is a log form and belongs to no visit.") % {"form": spec.code}
            )
        return
    if visit is None or visit.subject_id != subject.pk or visit.kind not in spec.visit_kinds:
        raise ValidationError(
            _("Form %(form)s does not belong to this visit.") % {"form": spec.code}
        )


def _existing(spec: FormSpec, subject: Subject, visit: Visit | None) -> CaseReportForm | None:
    if not (spec.once_per_subject or visit is not None):
        return None
    qs = spec.model.objects.select_for_update().filter(subject=subject, is_deleted=False)
    if not spec.once_per_subject:
        qs = qs.filter(visit=visit)
    return qs.first()  # type: ignore[no-any-return]


@dataclass
class _Draft:
    """One save worked out in memory, nothing written: the values before and after, the
    rows of the groups, what the checks found."""

    spec: FormSpec
    current: CaseReportForm | None
    complete: bool
    old_data: dict[str, Any]
    new_data: dict[str, Any]
    old_groups: dict[str, list[RepeatingRow]]
    new_group_data: dict[str, list[dict[str, Any]]]
    check_data: dict[str, Any]
    hard: list[Finding]
    soft: list[Finding]


def _draft(
    *,
    spec: FormSpec,
    current: CaseReportForm | None,
    values: Mapping[str, Any],
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    complete: bool | None,
    facts: Mapping[str, Any],
    today: dt.date,
) -> _Draft:
    """The new values, derivations and edit checks of one save (crf-spec rules): every
    path's one rule. ``complete`` None: complete when the form passes as complete (every
    required value given, no check that applies only to a complete form refuses it), else
    in progress."""
    old_data = variable_data(spec, current)
    new_data = dict(old_data)
    for variable in spec.input_variables:
        if variable.field_name in values:
            new_data[variable.name] = values[variable.field_name]
    old_groups = {
        g.name: (group_rows(spec, g, current) if current is not None else []) for g in spec.groups
    }
    new_group_data: dict[str, list[dict[str, Any]]] = {
        g.name: [_row_data(g, row) for row in (groups or {}).get(g.name, old_groups[g.name])]
        for g in spec.groups
    }
    check_data: dict[str, Any] = {**new_data, **new_group_data}
    if spec.derive is not None:
        derived = dict(spec.derive(check_data, facts))
        new_data.update(derived)
        check_data.update(derived)
    shared = shared_findings(spec, new_data, new_group_data, today)
    required = [v.name for v in spec.variables if v.required]

    def checked(as_complete: bool) -> tuple[list[Finding], list[Finding]]:
        context = CheckContext(today=today, facts=facts, complete=as_complete)
        outcome = run_checks(spec.checks, check_data, context)
        hard = [*shared, *outcome.hard]
        if as_complete:
            hard += required_findings(required, new_data)
        return hard, list(outcome.soft)

    if complete is None:
        complete = not required_findings(required, new_data)
        hard, soft = checked(complete)
        if complete and len(hard) > len(shared):
            # Complete only when a complete form is refused for nothing it is not
            # refused for in progress (e.g. the SAE narrative when AESER=Y).
            in_progress = checked(False)
            if {f.check for f in hard} - {f.check for f in in_progress[0]}:
                complete, (hard, soft) = False, in_progress
    else:
        hard, soft = checked(complete)
    return _Draft(
        spec=spec,
        current=current,
        complete=complete,
        old_data=old_data,
        new_data=new_data,
        old_groups=old_groups,
        new_group_data=new_group_data,
        check_data=check_data,
        hard=hard,
        soft=soft,
    )


def _write(
    draft: _Draft,
    *,
    actor: AbstractBaseUser,
    subject: Subject,
    visit: Visit | None,
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    reason: Reason | None,
    source: str,
    file_sha256: str,
) -> tuple[CaseReportForm, list[dict[str, Any]]] | None:
    """Write a checked save: the form row, its group rows, and the audit entries to append
    (returned, not appended); None when nothing changed. Raises ValidationError when the
    change needs a reason that is missing."""
    spec, current = draft.spec, draft.current
    old_data, new_data = draft.old_data, draft.new_data
    status = FormStatus.COMPLETE if draft.complete else FormStatus.IN_PROGRESS
    changed = [
        v for v in spec.variables if audit_text(old_data[v.name]) != audit_text(new_data[v.name])
    ]
    groups_changed = groups is not None and any(
        [_audit_tuple(g, r) for r in draft.new_group_data[g.name]]
        != [_audit_tuple(g, _row_data(g, r)) for r in draft.old_groups[g.name]]
        for g in spec.groups
    )
    status_changed = current is None or current.status != status
    if current is not None and not (changed or groups_changed or status_changed):
        return None
    if current is not None and current.was_completed and reason is None:
        raise ValidationError(
            {"reason": _("This form has been complete: give a reason for the change.")}
        )
    if reason is not None and reason.code == ChangeReason.OTHER and not reason.text.strip():
        raise ValidationError({"reason": _("Explain the reason for change.")})

    now = timezone.now()
    creating = current is None
    obj: CaseReportForm = (
        current
        if current is not None
        else spec.model(
            subject=subject,
            visit=visit,
            created_at=now,
            created_by=actor,  # type: ignore[misc]
        )
    )
    old_status = "" if creating else obj.status
    for variable in spec.variables:
        setattr(obj, variable.field_name, _field_value(variable, new_data[variable.name]))
    obj.status = status
    obj.was_completed = obj.was_completed or draft.complete
    obj.version += 1
    obj.modified_at = now
    obj.modified_by = actor  # type: ignore[assignment]
    with guard.services_writing():
        obj.save()

    common: dict[str, Any] = {
        "actor": actor,
        "at": now,
        "spec": spec,
        "instance": obj,
        "reason": reason,
        "source": source,
        "file_sha256": file_sha256,
    }
    action = AuditAction.CREATE if creating else AuditAction.UPDATE
    entries = [
        _audit_row(
            **common, action=action, variable=v.name, old=old_data[v.name], new=new_data[v.name]
        )
        for v in changed
    ]
    if old_status != obj.status:
        entries.append(
            _audit_row(**common, action=AuditAction.STATUS, old=old_status or None, new=obj.status)
        )
    if groups is not None:
        entries += _save_groups(spec, obj, draft.old_groups, groups, common)
    return obj, entries


def save_form(
    *,
    actor: AbstractBaseUser,
    spec: FormSpec,
    subject: Subject,
    visit: Visit | None = None,
    instance: CaseReportForm | None = None,
    values: Mapping[str, Any],
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    expected_version: int | None = None,
    complete: bool | None = False,
    reason: Reason | None = None,
    source: str = AuditSource.WEB,
    file_sha256: str = "",
    facts: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> CaseReportForm:
    """Create or change one form (and its repeating rows), audited.

    ``values`` and the rows of ``groups`` are keyed by model field name; a group
    given replaces the group's rows (matched by its key variable; rows left out
    are soft-deleted). ``complete`` None saves the form complete when it passes as
    complete, else in progress (the study data file import). Raises ``StaleFormError``
    when the form changed since ``expected_version`` (defaults to the version of
    ``instance`` as loaded), ``CheckError`` on hard edit-check findings (crf-spec
    rules), and ``ValidationError`` when a reason is needed and missing. Soft findings
    are recorded as open CheckFindings. Side effects: one AuditEntry per changed
    variable, in the subject's hash chain; the form's after-save hooks.
    """
    with transaction.atomic():
        Subject.objects.select_for_update().filter(pk=subject.pk).first()
        _check_visit(spec, subject, visit)
        if instance is None:
            current = _existing(spec, subject, visit)
            if current is not None:
                raise StaleFormError(current)
        else:
            expected = instance.version if expected_version is None else expected_version
            current = spec.model.objects.select_for_update().get(pk=instance.pk)
            if current.version != expected or current.is_deleted:
                raise StaleFormError(current)
        registry.check_write(
            registry.WriteAttempt(actor, subject, spec, visit=visit, instance=current)
        )

        if facts is None:
            facts = registry.subject_facts(subject, visit)
        draft = _draft(
            spec=spec,
            current=current,
            values=values,
            groups=groups,
            complete=complete,
            facts=facts,
            today=today or site_today(subject),
        )
        if draft.hard:
            raise CheckError(spec, draft.hard)
        written = _write(
            draft,
            actor=actor,
            subject=subject,
            visit=visit,
            groups=groups,
            reason=reason,
            source=source,
            file_sha256=file_sha256,
        )
        if written is None:
            assert current is not None
            return current
        obj, entries = written
        audit.append(entries)
        registry.changed(
            registry.WrittenChange(actor, subject, spec, obj, entries, obj.modified_at)
        )
        _sync_findings(spec, obj, draft.soft, new=current is None)
        for hook in registry.after_save_hooks(spec.code):
            hook(obj, actor)
        return obj


def _audit_tuple(group: GroupSpec, data: Mapping[str, Any]) -> tuple[str | None, ...]:
    return tuple(audit_text(data[v.name]) for v in group.variables)


def _save_groups(
    spec: FormSpec,
    obj: CaseReportForm,
    old_groups: Mapping[str, list[RepeatingRow]],
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for group in spec.groups:
        if group.name not in groups:
            continue
        key_field = group.variable(group.key).field_name
        existing = {str(getattr(row, key_field)): row for row in old_groups[group.name]}
        seen: set[str] = set()
        written: list[
            tuple[str, RepeatingRow, bool, list[Variable], dict[str, Any], dict[str, Any]]
        ]
        written = []
        for incoming in groups[group.name]:
            key = str(incoming.get(key_field))
            if key in seen:
                raise CheckError(
                    spec,
                    [
                        Finding(
                            group.key,
                            _("%(key)s appears twice in %(group)s.")
                            % {"key": key, "group": group.name},
                            severity=Severity.HARD,
                            check=f"{group.name}_duplicate_key",
                        )
                    ],
                )
            seen.add(key)
            row = existing.get(key)
            creating = row is None
            old = (
                _row_data(group, row)
                if row is not None
                else {v.name: None for v in group.variables}
            )
            new = _row_data(group, incoming)
            row = row if row is not None else group.model(form=obj)  # type: ignore[misc]
            changed = [
                v for v in group.variables if audit_text(old[v.name]) != audit_text(new[v.name])
            ]
            if not changed:
                continue
            for variable in group.variables:
                setattr(row, variable.field_name, _field_value(variable, new[variable.name]))
            written.append((key, row, creating, changed, old, new))
        # New rows in one INSERT per group (their ids come back for the audit entries).
        with guard.services_writing():
            created = [row for _key, row, creating, *_rest in written if creating]
            if created:
                group.model.objects.bulk_create(created)
            for _key, row, creating, *_rest in written:
                if not creating:
                    row.save()
        for key, row, creating, changed, old, new in written:
            for variable in changed:
                entries.append(
                    _audit_row(
                        **common,
                        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                        variable=variable.name,
                        old=old[variable.name],
                        new=new[variable.name],
                        group=group.name,
                        row_key=key,
                        object_model=row._meta.label,
                        object_id=row.pk,
                    )
                )
        for key, row in existing.items():
            if key in seen:
                continue
            row.is_deleted = True
            with guard.services_writing():
                row.save()
            entries.append(
                _audit_row(
                    **common,
                    action=AuditAction.DELETE,
                    group=group.name,
                    row_key=key,
                    object_model=row._meta.label,
                    object_id=row.pk,
                )
            )
    return entries


def delete_form(
    *,
    actor: AbstractBaseUser,
    spec: FormSpec,
    instance: CaseReportForm,
    reason: Reason,
    expected_version: int | None = None,
) -> CaseReportForm:
    """Soft-delete a form: kept with who, when and why; audited. Never a hard delete."""
    if not reason.text.strip() and reason.code == ChangeReason.OTHER:
        raise ValidationError({"reason": _("Explain the reason for deletion.")})
    with transaction.atomic():
        Subject.objects.select_for_update().filter(pk=instance.subject_id).first()
        current = spec.model.objects.select_for_update().get(pk=instance.pk)
        expected = instance.version if expected_version is None else expected_version
        if current.version != expected or current.is_deleted:
            raise StaleFormError(current)
        registry.check_write(
            registry.WriteAttempt(
                actor, current.subject, spec, visit=current.visit, instance=current, action="delete"
            )
        )
        now = timezone.now()
        current.is_deleted = True
        current.deleted_at = now
        current.deleted_by = actor  # type: ignore[assignment]
        current.delete_reason = str(reason.text or ChangeReason(reason.code).label)
        current.version += 1
        current.modified_at = now
        current.modified_by = actor  # type: ignore[assignment]
        with guard.services_writing():
            current.save()
        entries = [
            _audit_row(
                actor=actor,
                at=now,
                spec=spec,
                instance=current,
                action=AuditAction.DELETE,
                old=current.status,
                reason=reason,
                source=AuditSource.WEB,
                file_sha256="",
            )
        ]
        audit.append(entries)
        registry.changed(
            registry.WrittenChange(actor, current.subject, spec, current, entries, now)
        )
        resolved = list(
            CheckFinding.objects.filter(
                object_model=current._meta.label, object_id=current.pk, status=FindingStatus.OPEN
            ).values_list("pk", flat=True)
        )
        if resolved:
            CheckFinding.objects.filter(pk__in=resolved).update(
                status=FindingStatus.RESOLVED, resolved_at=now
            )
            registry.findings_changed([], resolved)
        for hook in registry.after_save_hooks(spec.code):
            hook(current, actor)
        return current


def recheck_findings(*, spec: FormSpec, instance: CaseReportForm) -> None:
    """Run a saved form's checks again and open or resolve its soft findings.

    For cross-form rules (a fatal AE needs a death form): when the other form changes,
    the findings follow without touching the data (no new version, nothing audited).
    """
    if instance.is_deleted:
        return
    data: dict[str, Any] = variable_data(spec, instance)
    for group in spec.groups:
        data[group.name] = [_row_data(group, row) for row in group_rows(spec, group, instance)]
    facts = registry.subject_facts(instance.subject, instance.visit)
    context = CheckContext(
        today=timezone.localdate(), facts=facts, complete=instance.status == FormStatus.COMPLETE
    )
    _sync_findings(spec, instance, run_checks(spec.checks, data, context).soft)


def _sync_findings(
    spec: FormSpec, obj: CaseReportForm, soft: Sequence[Finding], *, new: bool = False
) -> None:
    """Open a finding for each soft check that fires; resolve those that no longer do.
    ``new``: the form was just created, so it has no finding yet (nothing to read)."""
    if new and not soft:
        return
    label = obj._meta.label
    open_findings = (
        {}
        if new
        else {
            (f.check_code, f.variable): f
            for f in CheckFinding.objects.filter(
                object_model=label, object_id=obj.pk, status=FindingStatus.OPEN
            )
        }
    )
    firing = {(f.check, f.variable): f for f in soft}
    opened: list[CheckFinding] = []
    for key, finding in firing.items():
        if key not in open_findings:
            row = _finding_row(spec, obj, finding)
            row.save()
            opened.append(row)
    stale = [f.pk for key, f in open_findings.items() if key not in firing]
    if stale:
        CheckFinding.objects.filter(pk__in=stale).update(
            status=FindingStatus.RESOLVED, resolved_at=timezone.now()
        )
    registry.findings_changed(opened, stale)


def _finding_row(spec: FormSpec, obj: CaseReportForm, finding: Finding) -> CheckFinding:
    return CheckFinding(
        subject_id=obj.subject_id,
        form_code=spec.code,
        visit_code=obj.visit.code if obj.visit is not None else "",
        object_model=obj._meta.label,
        object_id=obj.pk,
        variable=finding.variable,
        check_code=finding.check,
        message=str(finding.message),
    )


# --- One subject's forms as one unit of work (the study data file import) ------------------

# subject_hook(subject, instances, actor): an after-save hook's form for a batch of forms
SubjectHook = Callable[[Subject, Sequence[CaseReportForm], Any], None]
_ONCE_PER_SUBJECT: dict[Callable[..., Any], SubjectHook] = {}

_Hook = TypeVar("_Hook", bound=Callable[..., Any])


def once_per_subject(subject_hook: SubjectHook) -> Callable[[_Hook], _Hook]:
    """Declare the per-subject form of an after-save hook (a decorator on the hook).

    In a ``SubjectBatch`` the hook is not run after each form: ``subject_hook(subject,
    instances, actor)`` runs once when the batch finishes (and before the first form of a
    visit not yet planned), with every form of the batch that would have run it since.
    Hooks declaring the same ``subject_hook`` run it once. For
    hooks whose effect is the subject's state as its forms leave it (the visit schedule,
    held dates, TEAE), not a record of each save; every other hook runs after each form.
    """

    def declare(hook: _Hook) -> _Hook:
        _ONCE_PER_SUBJECT[hook] = subject_hook
        return hook

    return declare


class SubjectBatch:
    """Forms of one subject saved as one unit of work, by the rules of ``save_form``.

    Each ``save`` runs the same derivations and checks (``_draft``: the form's checks,
    the shared rules, the required values) with the subject's facts as its earlier forms
    leave them, writes the form, its rows and its soft findings at once (so the next
    form's facts read them), and gathers the rest of what ``save_form`` does: the audit
    entries (one per value, chained in order) are appended in one INSERT before any hook
    reads the trail and at the end; hooks declared ``once_per_subject`` run once in
    ``finish``, and also before the first form of a visit that has no plan yet (they keep
    the schedule, which may plan it: its window is one of the form's facts); the other
    hooks run after their form, as in ``save_form``. Use inside the caller's transaction;
    the subject stays locked until it commits. The caller reads the subject's existing
    forms after the batch is made (the lock) and passes them as ``instance``. A save that
    raises writes nothing; a hook that raises fails the unit (the caller rolls back).
    """

    def __init__(
        self,
        *,
        actor: AbstractBaseUser,
        subject: Subject,
        reason: Reason | None = None,
        source: str = AuditSource.IMPORT,
        file_sha256: str = "",
        today: dt.date | None = None,
        new_subject: bool = False,
    ) -> None:
        """``new_subject``: the subject was just created (it has no visit yet)."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("A SubjectBatch runs inside a transaction.")
        Subject.objects.select_for_update().filter(pk=subject.pk).first()
        self.actor, self.subject = actor, subject
        self.reason, self.source, self.file_sha256 = reason, source, file_sha256
        self.today = today or site_today(subject)
        self._entries: list[dict[str, Any]] = []
        self._deferred: dict[SubjectHook, list[CaseReportForm]] = {}
        # The subject's visits by code, as the hooks last left them (read when first asked).
        self._visits: dict[str, Visit] | None = {} if new_subject else None
        self._unplanned: set[int] = set()  # visits whose first form ran the hooks

    def visit(self, code: str) -> Visit:
        """The subject's visit ``code``, created (kind and number from the code) when absent:
        the schedule dates it when the hooks next run."""
        if self._visits is None:
            self._visits = {v.code: v for v in Visit.objects.filter(subject=self.subject)}
        visit = self._visits.get(code)
        if visit is None:
            kind, number = visit_kind_for_code(code)
            visit = Visit.objects.create(subject=self.subject, code=code, kind=kind, number=number)
            self._visits[code] = visit
        return visit

    def save(
        self,
        *,
        spec: FormSpec,
        visit: Visit | None = None,
        instance: CaseReportForm | None = None,
        values: Mapping[str, Any],
        groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        complete: bool | None = False,
        facts: Mapping[str, Any] | None = None,
    ) -> CaseReportForm:
        """Save one form as ``save_form`` would (same arguments, same errors, nothing
        written when one is raised); returns the form (``instance`` when unchanged)."""
        _check_visit(spec, self.subject, visit)
        if instance is not None and instance.is_deleted:
            raise StaleFormError(instance)
        registry.check_write(
            registry.WriteAttempt(
                self.actor, self.subject, spec, visit=visit, instance=instance, batch=self
            )
        )
        if visit is not None:
            visit = self._fresh(visit)
            if visit.planned_date is None and visit.pk not in self._unplanned:
                self._unplanned.add(visit.pk)
                if self._deferred:
                    self._run_deferred()
                    visit = self._fresh(visit)
        draft = _draft(
            spec=spec,
            current=instance,
            values=values,
            groups=groups,
            complete=complete,
            facts=facts if facts is not None else registry.subject_facts(self.subject, visit),
            today=self.today,
        )
        if draft.hard:
            raise CheckError(spec, draft.hard)
        hooks = registry.after_save_hooks(spec.code)
        now_hooks = [hook for hook in hooks if hook not in _ONCE_PER_SUBJECT]
        written = _write(
            draft,
            actor=self.actor,
            subject=self.subject,
            visit=visit,
            groups=groups,
            reason=self.reason,
            source=self.source,
            file_sha256=self.file_sha256,
        )
        if written is None:
            assert instance is not None
            return instance
        obj, entries = written
        self._entries += entries
        registry.changed(
            registry.WrittenChange(self.actor, self.subject, spec, obj, entries, obj.modified_at)
        )
        if instance is None:  # a new form has no finding yet: only those that fire
            if draft.soft:
                keyed = {(f.check, f.variable): f for f in draft.soft}
                registry.findings_changed(
                    CheckFinding.objects.bulk_create(
                        [_finding_row(spec, obj, f) for f in keyed.values()]
                    ),
                    [],
                )
        else:
            _sync_findings(spec, obj, draft.soft)
        if now_hooks:
            # A hook reads the trail as save_form leaves it. One that refuses the save (the
            # enrolment cap) fails the unit: no savepoint undoes this form alone (two more
            # queries a form), the caller rolls its transaction back (the import does).
            self._flush()
            for hook in now_hooks:
                hook(obj, self.actor)
        for hook in hooks:
            if hook in _ONCE_PER_SUBJECT:
                instances = self._deferred.setdefault(_ONCE_PER_SUBJECT[hook], [])
                if obj not in instances:
                    instances.append(obj)
        return obj

    def finish(self) -> None:
        """Append what is left of the trail and run the per-subject hooks once each (in the
        order first needed)."""
        self._run_deferred()
        self._flush()

    def _run_deferred(self) -> None:
        self._flush()
        while self._deferred:
            subject_hook = next(iter(self._deferred))
            instances = self._deferred.pop(subject_hook)
            subject_hook(self.subject, instances, self.actor)
        self._visits = None  # the hooks may have planned, moved or added visits

    def _fresh(self, visit: Visit) -> Visit:
        """``visit`` as the hooks last left it."""
        if self._visits is None:
            self.visit(visit.code)
        assert self._visits is not None
        fresh = self._visits.get(visit.code)
        return fresh if fresh is not None and fresh.pk == visit.pk else visit

    def flush(self) -> None:
        """Append the audit entries gathered so far (before another service writes to the
        subject's trail, so the trail keeps the order of the changes)."""
        self._flush()

    def _flush(self) -> None:
        if self._entries:
            entries, self._entries = self._entries, []
            audit.append(entries)
