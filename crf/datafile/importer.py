"""The import of a study data file: all or nothing, every hard edit check, audited.

The rules are those of the package's docstring (crf.datafile).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.datafile.document import (
    FORMAT,
    LISTS,
    MAX_TARGET,
    PARAMETERS,
    TARGET_ENROLMENT,
    is_empty,
    visit_sort_key,
)
from crf.datafile.parsing import Entries
from crf.datafile.report import Error, FormChange, ImportReport, Summary
from crf.datafile.values import Invalid, to_python
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
from crf.services import CheckError, Reason, StaleFormError, SubjectBatch, save_form
from crf.values import audit_text
from study import protocol
from study.models import Site, StudyParameters, Subject

_SITE = re.compile(r"^\d{2}$")


class _Rollback(Exception):
    """Raised inside the import's transaction to undo it (errors, or a dry run)."""


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

    def __init__(
        self, *, actor: AbstractBaseUser, reason: str, file_sha256: str, batch: bool = True
    ) -> None:
        self.actor = actor
        self.batch = batch
        self.reason = Reason(ChangeReason.DATA_IMPORT, reason)
        self.sha = file_sha256
        self.errors: list[Error] = []
        self.summary = Summary()
        self.changed_forms: list[FormChange] = []
        self.sites: dict[str, Site] = {}
        self.seen_screening: set[str] = set()
        self.seen_subject_ids: set[str] = set()
        self.created: set[int] = set()  # subjects this import created (no forms yet)
        self.known: dict[str, Subject] | None = None  # by screening number
        self.subject_ids: dict[str, str] = {}  # subject ID -> screening number

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
        for key in sorted(set(document) - {"format", "study", "created", PARAMETERS, *LISTS}):
            self.fail(_("Unknown key of the file."), var=key)
        try:  # a study lock (data_management) refuses the whole file
            registry.check_write(registry.WriteAttempt(self.actor, None, None, action="study"))
        except ValidationError as error:
            for message in error.messages:
                self.fail(message)
            return
        lists = {key: document.get(key, []) for key in LISTS}
        for key, value in lists.items():
            if not isinstance(value, list | Entries):
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
        if target > MAX_TARGET:
            self.fail(
                _("The target enrolment must be at most %(max)d.") % {"max": MAX_TARGET},
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
        if self.known is None:  # every subject of the database, read once
            self.known = {s.screening_id: s for s in Subject.objects.all()}
            self.subject_ids = {s.subject_id: k for k, s in self.known.items() if s.subject_id}
        subject = self.known.get(screening_id)
        taken = self.subject_ids.get(subject_id) if subject_id else None
        if taken is not None and taken != screening_id:
            self.fail(
                _("Subject ID %(id)s belongs to screening number %(other)s in the database.")
                % {"id": subject_id, "other": taken},
                subject=label,
                var="subject_id",
            )
            return None
        if subject is None:
            subject = Subject.objects.create(
                site=site, screening_id=screening_id, subject_id=subject_id
            )
            self.known[screening_id] = subject
            if subject_id:
                self.subject_ids[subject_id] = screening_id
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
            self.created.add(subject.pk)
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
            try:
                registry.check_write(
                    registry.WriteAttempt(self.actor, subject, None, action="subject")
                )
            except ValidationError as error:
                for message in error.messages:
                    self.fail(message, subject=label, var="subject_id")
                return None
            subject.subject_id = subject_id
            subject.save(update_fields=["subject_id"])
            if subject_id:
                self.subject_ids[subject_id] = screening_id
            self._audit(
                action=AuditAction.UPDATE,
                form_code="SUBJ",
                obj=subject,
                subject_id=subject.pk,
                changes=[("SUBJECT_ID", None, subject_id)],
            )
            self.summary.subjects_changed += 1
        if not (self.batch and subject.pk in self.created):  # else with its other visits
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
        self._save_forms(subject, label, sorted(forms, key=lambda f: f.sort_key))
        for hook in registry.after_import_hooks():
            try:
                hook(
                    Subject.objects.get(pk=subject.pk),
                    self.actor,
                    file_sha256=self.sha,
                    reason=self.reason.text,  # the hooks take the text (registry)
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
                values[variable.field_name] = to_python(spec, variable, data.get(variable.name))
            except Invalid as invalid:
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
            prefix = f"{group.name}[{key}]." if not is_empty(key) else f"{group.name}."
            for name in sorted(set(row) - known):
                self.fail(_("There is no such variable in this group."), **where, var=prefix + name)
            if is_empty(key):
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

    def _save_forms(self, subject: Subject, label: str, forms: Sequence[_FormEntry]) -> None:
        """Save the subject's forms in order (registry, then visit: cross-form checks see the
        forms they depend on): as one unit of work (crf.services.SubjectBatch), or, without
        ``batch``, each through save_form with its hooks (the reference the batch is held to).
        """
        batch = None
        visits: dict[str, Visit] = {}
        if self.batch:
            batch = SubjectBatch(
                actor=self.actor,
                subject=subject,
                reason=self.reason,
                source=AuditSource.IMPORT,
                file_sha256=self.sha,
                new_subject=subject.pk in self.created,
            )
            batch.visit("SCR")  # every subject has its screening visit
        else:
            visits = {v.code: v for v in Visit.objects.filter(subject=subject)}
        log_records: dict[str, list[CaseReportForm]] = {}
        for form in forms:
            self._save(batch, subject, label, form, visits, log_records)
        if batch is None:
            return
        try:
            batch.finish()
        except ValidationError as error:
            for key, messages in _message_items(error):
                for message in messages:
                    self.fail(message, subject=label, var=key)

    def _save(
        self,
        batch: SubjectBatch | None,
        subject: Subject,
        label: str,
        form: _FormEntry,
        visits: dict[str, Visit],
        log_records: dict[str, list[CaseReportForm]],
    ) -> None:
        spec = form.spec
        where = {"subject": label, "visit": form.visit_code, "form": spec.code}
        visit = None
        if not spec.is_log and batch is not None:
            visit = batch.visit(form.visit_code)
        elif not spec.is_log:
            visit = visits.get(form.visit_code)
            if visit is None:
                visit = Visit.objects.get_or_create(
                    subject=subject, code=form.visit_code, defaults=_kind(form.visit_code)
                )[0]
                visits[visit.code] = visit
        current = None
        if subject.pk not in self.created:  # a subject created by this import has no forms
            current = self._existing(subject, form, visit, log_records)
        changes: tuple[str, ...] = ()
        if current is not None:
            changes = self._changes(spec, current, form)
            if not changes:
                self.summary.forms_unchanged += 1
                return
        arguments: dict[str, Any] = {
            "spec": spec,
            "visit": visit,
            "instance": current,
            "values": form.values,
            "groups": form.groups if spec.groups else None,
            "complete": None,  # complete when it passes as complete (crf.datafile)
        }
        try:
            if batch is not None:
                batch.save(**arguments)
            else:
                save_form(
                    actor=self.actor,
                    subject=subject,
                    reason=self.reason,
                    source=AuditSource.IMPORT,
                    file_sha256=self.sha,
                    **arguments,
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


def _kind(code: str) -> dict[str, Any]:
    kind, number = visit_kind_for_code(code)
    return {"kind": kind, "number": number}


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
    batch: bool = True,
) -> ImportReport:
    """Import a study data file: all or nothing, every hard edit check, audited.

    Runs in one transaction: creates absent sites and subjects (audited, source
    import), saves each subject's forms in registry order (so cross-form checks see
    the forms before: IC before IE before ENR) as one unit of work
    (``crf.services.SubjectBatch``: the checks, audit entries and after-save effects of
    ``save_form``, the hooks that follow the subject's state run once per subject), then
    runs the registry's after-import hooks (subject status) for each subject.
    ``batch=False`` saves each form through ``save_form`` instead (slower; the
    reference the batch is tested against). Any error, or ``dry_run``, rolls
    everything back; the report lists every error as ``subject / visit / form /
    variable: message`` and what the import changes. Every audit entry carries the
    reason (code DATA_IMPORT, the given text) and the file's SHA-256. Raises
    ValidationError when a real import has no reason.
    """
    if not dry_run and not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the import.")})
    importer = _Importer(actor=actor, reason=reason.strip(), file_sha256=file_sha256, batch=batch)
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
