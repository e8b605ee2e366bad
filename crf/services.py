"""Every write to case report forms: checks, optimistic lock, reason, audit trail.

``save_form`` and ``delete_form`` are the only ways clinical rows change (the
models refuse any other ``save()``), so no path — web form, import, admin or
shell — can skip the edit checks, the reason for change or the audit trail.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
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
)
from crf.registry import FormSpec, GroupSpec, Variable
from crf.values import audit_text
from study.models import Subject


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
    try:
        zone = zoneinfo.ZoneInfo(subject.site.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.EDC_DEFAULT_SITE_TIME_ZONE)
    return timezone.localdate(timezone=zone)


def _variable_findings(
    spec: FormSpec, variable: Variable, value: Any, today: dt.date, row: int | None = None
) -> list[Finding]:
    label = capfirst(str(variable.field.verbose_name))
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
    complete: bool = False,
    reason: Reason | None = None,
    source: str = AuditSource.WEB,
    file_sha256: str = "",
    facts: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> CaseReportForm:
    """Create or change one form (and its repeating rows), audited.

    ``values`` and the rows of ``groups`` are keyed by model field name; a group
    given replaces the group's rows (matched by its key variable; rows left out
    are soft-deleted). Raises ``StaleFormError`` when the form changed since
    ``expected_version`` (defaults to the version of ``instance`` as loaded),
    ``CheckError`` on hard edit-check findings (crf-spec rules), and
    ``ValidationError`` when a reason is needed and missing. Soft findings are
    recorded as open CheckFindings. Side effects: one AuditEntry per changed
    variable, in the subject's hash chain.
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

        old_data = variable_data(spec, current)
        new_data = dict(old_data)
        for variable in spec.input_variables:
            if variable.field_name in values:
                new_data[variable.name] = values[variable.field_name]
        old_groups = {
            g.name: (group_rows(spec, g, current) if current is not None else [])
            for g in spec.groups
        }
        new_group_data: dict[str, list[dict[str, Any]]] = {
            g.name: [_row_data(g, row) for row in (groups or {}).get(g.name, old_groups[g.name])]
            for g in spec.groups
        }
        check_data: dict[str, Any] = {**new_data, **new_group_data}
        if facts is None:
            facts = registry.subject_facts(subject, visit)
        if spec.derive is not None:
            derived = dict(spec.derive(check_data, facts))
            new_data.update(derived)
            check_data.update(derived)

        context = CheckContext(today=today or site_today(subject), facts=facts, complete=complete)
        outcome = run_checks(spec.checks, check_data, context)
        hard = [*shared_findings(spec, new_data, new_group_data, context.today), *outcome.hard]
        if complete:
            hard += required_findings([v.name for v in spec.variables if v.required], new_data)
        if hard:
            raise CheckError(spec, hard)

        status = FormStatus.COMPLETE if complete else FormStatus.IN_PROGRESS
        changed = [
            v
            for v in spec.variables
            if audit_text(old_data[v.name]) != audit_text(new_data[v.name])
        ]
        groups_changed = groups is not None and any(
            [_audit_tuple(g, r) for r in new_group_data[g.name]]
            != [_audit_tuple(g, _row_data(g, r)) for r in old_groups[g.name]]
            for g in spec.groups
        )
        status_changed = current is None or current.status != status
        if current is not None and not (changed or groups_changed or status_changed):
            return current
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
        obj.was_completed = obj.was_completed or complete
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
                _audit_row(
                    **common, action=AuditAction.STATUS, old=old_status or None, new=obj.status
                )
            )
        if groups is not None:
            entries += _save_groups(spec, obj, old_groups, groups, common)
        audit.append(entries)
        _sync_findings(spec, obj, outcome.soft)
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
        audit.append(
            [
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
        )
        CheckFinding.objects.filter(
            object_model=current._meta.label, object_id=current.pk, status=FindingStatus.OPEN
        ).update(status=FindingStatus.RESOLVED, resolved_at=now)
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


def _sync_findings(spec: FormSpec, obj: CaseReportForm, soft: Sequence[Finding]) -> None:
    """Open a finding for each soft check that fires; resolve those that no longer do."""
    label = obj._meta.label
    open_findings = {
        (f.check_code, f.variable): f
        for f in CheckFinding.objects.filter(
            object_model=label, object_id=obj.pk, status=FindingStatus.OPEN
        )
    }
    firing = {(f.check, f.variable): f for f in soft}
    for key, finding in firing.items():
        if key not in open_findings:
            CheckFinding.objects.create(
                subject_id=obj.subject_id,
                form_code=spec.code,
                visit_code=obj.visit.code if obj.visit is not None else "",
                object_model=label,
                object_id=obj.pk,
                variable=finding.variable,
                check_code=finding.check,
                message=str(finding.message),
            )
    stale = [f.pk for key, f in open_findings.items() if key not in firing]
    if stale:
        CheckFinding.objects.filter(pk__in=stale).update(
            status=FindingStatus.RESOLVED, resolved_at=timezone.now()
        )
