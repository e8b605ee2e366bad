"""Source data verification (issue 12, "Source data verification"; ICH E6(R3) monitoring).

A monitor compares the values entered with the source documents and marks them verified:
one by one, or a whole form with one action. The protocol's critical fields must be
verified one by one (``CRITICAL_FIELDS``); "Verify form" verifies every other value. A form
counts as verified when every value of it is, critical ones included. A later change of a
verified value resets the verification of that value only, and says why and by whom; a
deleted form or row resets its verifications. Rows of ``SourceVerification`` are never
deleted (data_management.models).

The rules over values (which values a form asks to be verified, which are critical) are
plain Python; the services write ``SourceVerification`` rows and audit entries; the change
listener (crf.registry) resets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crf.registry import WrittenChange
    from data_management.models import SourceVerification

# (group, row_key, variable): ("", "", "ICDAT") a form variable, ("TL", "T01", "TLDIAM") a
# value of a repeating row (crf.registry.MarkKey).
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Critical:
    """Critical values of one form: form ``variables``, every value of every row of
    ``groups``; at the ``visits`` named only (empty: at every visit of the form)."""

    form: str
    variables: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    visits: frozenset[str] = frozenset()


# issue 12 "Source data verification": the protocol's critical fields, which must be
# verified one by one (crf-spec variable names): consent date, eligibility answers, Day 1,
# TA dates and every lesion measurement, AE term, grade and seriousness, death date.
CRITICAL_FIELDS: tuple[Critical, ...] = (
    Critical("IC", variables=frozenset({"ICDAT"})),  # consent date
    Critical("IE", groups=frozenset({"IE"})),  # each criterion's answer (IEORRES)
    # Day 1: the first dose of C1D1 (crf-spec EX: "C1D1: defines Day 1").
    Critical("EX", variables=frozenset({"EXSTDAT"}), visits=frozenset({"C1D1"})),
    # The scan date, and every target, non-target and new lesion value (NLDAT included).
    Critical("TA", variables=frozenset({"TADAT"}), groups=frozenset({"TL", "NTL", "NL"})),
    # Term (with "Other, specify"), worst grade, seriousness and its criteria.
    Critical(
        "AE",
        variables=frozenset(
            {
                "AETERM",
                "AETERMSP",
                "AETOXGR",
                "AESER",
                "AESDTH",
                "AESLIFE",
                "AESHOSP",
                "AESDISAB",
                "AESCONG",
                "AESMIE",
            }
        ),
    ),
    Critical("DD", variables=frozenset({"DTHDAT"})),  # death date
)
_CRITICAL_BY_FORM: dict[str, tuple[Critical, ...]] = {}
for _rule in CRITICAL_FIELDS:
    _CRITICAL_BY_FORM[_rule.form] = (*_CRITICAL_BY_FORM.get(_rule.form, ()), _rule)


def is_critical(form_code: str, visit_code: str, key: Key) -> bool:
    """Whether the value ``key`` of form ``form_code`` at ``visit_code`` is critical."""
    group, _row, variable = key
    for rule in _CRITICAL_BY_FORM.get(form_code, ()):
        if rule.visits and visit_code not in rule.visits:
            continue
        if (group and group in rule.groups) or (not group and variable in rule.variables):
            return True
    return False


@dataclass(frozen=True)
class Item:
    """One value a form asks to be verified: its key, its audit text, whether critical."""

    key: Key
    text: str
    critical: bool


# rows of a group: (row key, {variable: audit text or None}) without the key variable
Rows = Mapping[str, Sequence[tuple[str, Mapping[str, str | None]]]]


def items_of(
    form_code: str, visit_code: str, values: Mapping[str, str | None], rows: Rows
) -> list[Item]:
    """The values of a form to verify, in form order: every value entered (not empty) of
    its input variables and of its rows' variables other than the row's key (the lesion
    ID names the row). ``values`` and ``rows`` hold audit texts (crf.values.audit_text);
    derived variables are left out by the caller (computed, not transcribed)."""
    items = [
        Item(("", "", name), text, is_critical(form_code, visit_code, ("", "", name)))
        for name, text in values.items()
        if text is not None
    ]
    for group, group_rows in rows.items():
        for row_key, row in group_rows:
            for name, text in row.items():
                if text is not None:
                    key = (group, row_key, name)
                    items.append(Item(key, text, is_critical(form_code, visit_code, key)))
    return items


def encode_key(key: Key) -> str:
    """A key as a form posts it: ``group|row_key|variable`` (codes never hold ``|``)."""
    return "|".join(key)


def decode_key(raw: str) -> Key | None:
    """The key a form posted; None when it is no key. The row key (text typed by a
    person) is what lies between the first and the last ``|``."""
    first, last = raw.find("|"), raw.rfind("|")
    if first < 0 or first == last:
        return None
    return raw[:first], raw[first + 1 : last], raw[last + 1 :]


@dataclass(frozen=True)
class Reset:
    """A verification to reset and why (``note``)."""

    verification_id: int
    note: str


FORM: Key = ("", "", "")  # the whole form: verified in full (every value verified)


def resets_for(
    active: Iterable[tuple[int, Key, str | None]],
    entries: Iterable[Mapping[str, Any]],
    *,
    who: str,
    on: str,
    derived: frozenset[str] = frozenset(),
) -> list[Reset]:
    """Which active verifications ``(id, key, value verified)`` a form's change resets.

    ``entries`` are the change's audit entries (crf.services): a changed value resets
    the verification of that value only; a deleted row resets every value of the row; the
    form deleted resets every value of the form. The whole form's verification (key
    ``FORM``: every value verified) is reset by any change of a value entered (a value
    added or a row added too; not a ``derived`` variable recomputed, nor the status).
    ``who`` and ``on`` name the change."""
    changed: dict[Key, tuple[str | None, str | None]] = {}
    rows_deleted: set[tuple[str, str]] = set()
    form_deleted = any_value = False
    for entry in entries:
        action, variable = entry["action"], entry.get("variable", "")
        group, row_key = entry.get("group", ""), entry.get("row_key", "")
        if action == "delete" and not variable:
            if group:
                rows_deleted.add((group, row_key))
                any_value = True
            else:
                form_deleted = True
        elif action in ("update", "create") and variable:
            changed[(group, row_key, variable)] = (entry.get("old_value"), entry.get("new_value"))
            any_value = any_value or bool(group) or variable not in derived
    resets = []
    for pk, key, _value in active:
        if form_deleted:
            note = f"form deleted by {who} on {on}"
        elif key == FORM and any_value:
            note = f"form changed by {who} on {on}"
        elif (key[0], key[1]) in rows_deleted:
            note = f"row {key[1]} deleted by {who} on {on}"
        elif key in changed:
            old, new = changed[key]
            note = f"changed by {who} on {on}: {old or '(empty)'} → {new or '(empty)'}"
        else:
            continue
        resets.append(Reset(pk, note))
    return resets


# --- Services ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """What a verification step did: values verified, critical values left to verify one
    by one (``verify_form``), and whether the form is now verified in full."""

    verified: int
    critical_left: int
    form_verified: bool


def _check_actor(actor: Any, subject: Any) -> None:
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _

    from study.models import Subject
    from study.roles import SDV, perm

    if not actor.has_perm(perm(SDV)):
        raise PermissionDenied(_("Only a monitor verifies source data."))
    if not Subject.objects.for_user(actor).filter(pk=subject.pk).exists():
        raise PermissionDenied(_("The subject is not of your sites."))


def verify_values(
    *,
    actor: Any,
    instance: Any,
    keys: Iterable[Key],
    expected_version: int | None = None,
) -> Verified:
    """Verify the values ``keys`` of the form ``instance`` one by one (critical ones
    included): one SourceVerification each, with the value's audit text and the form's
    version, and one audit entry each (AuditAction.VERIFY) in the subject's chain. Values
    already verified are left as they are. Monitors of the subject's sites only
    (PermissionDenied); ValidationError when the form changed since ``expected_version``,
    a key is no value of the form, or a lock covers the form (crf.registry write guards,
    action "verify")."""
    return _verify(actor=actor, instance=instance, keys=list(keys), expected=expected_version)


def verify_form(*, actor: Any, instance: Any, expected_version: int | None = None) -> Verified:
    """Verify every value of the form ``instance`` not yet verified, except the critical
    ones, which must be verified one by one (issue 12); ``critical_left`` says how many
    remain. Same records, checks and errors as ``verify_values``."""
    return _verify(actor=actor, instance=instance, keys=None, expected=expected_version)


def _verify(*, actor: Any, instance: Any, keys: list[Key] | None, expected: int | None) -> Verified:
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from crf import audit, registry
    from data_management import sdv_selectors
    from data_management.models import SourceVerification
    from study.models import Subject

    spec = registry.for_model(type(instance))
    _check_actor(actor, instance.subject)
    with transaction.atomic():
        Subject.objects.select_for_update().filter(pk=instance.subject_id).first()
        current = spec.model.objects.select_for_update().get(pk=instance.pk)
        if current.is_deleted or (expected is not None and current.version != expected):
            raise ValidationError(
                _(
                    "The form changed since you opened it (it is now version %(version)s): "
                    "look at its values again before verifying them."
                )
                % {"version": current.version}
            )
        # A lock covering the form refuses its verification too (the guard names the lock).
        registry.check_write(
            registry.WriteAttempt(
                actor,
                current.subject,
                spec,
                visit=current.visit,
                instance=current,
                action="verify",
            )
        )
        state = sdv_selectors.form_state(spec, current)
        by_key = {value.item.key: value for value in state.values}
        if keys is None:
            chosen = [v for v in state.values if not v.verified and not v.item.critical]
        else:
            unknown = [key for key in keys if key not in by_key]
            if unknown:
                raise ValidationError(
                    _("%(value)s is no value of this form to verify.")
                    % {"value": " · ".join(p for p in unknown[0] if p)}
                )
            chosen = [by_key[key] for key in dict.fromkeys(keys) if not by_key[key].verified]
        now = timezone.now()
        visit_code = current.visit.code if current.visit is not None else ""
        SourceVerification.objects.bulk_create(
            [
                SourceVerification(
                    subject_id=current.subject_id,
                    form_code=spec.code,
                    visit_code=visit_code,
                    object_model=current._meta.label,
                    object_id=current.pk,
                    group=value.item.key[0],
                    row_key=value.item.key[1],
                    variable=value.item.key[2],
                    value=value.item.text,
                    form_version=current.version,
                    verified_by=actor,
                    verified_at=now,
                )
                for value in chosen
            ]
        )
        how = "one by one" if keys is not None else "with the rest of the form"
        audit.append(
            [
                _entry(
                    actor,
                    now,
                    current,
                    spec.code,
                    visit_code,
                    where=(value.object_model, value.object_id, value.item.key),
                    value=value.item.text,
                    why=f"Source data verified {how} (form version {current.version})",
                )
                for value in chosen
            ]
        )
        done = {value.item.key for value in chosen}
        left = [v for v in state.values if not v.verified and v.item.key not in done]
        whole = bool(state.values) and not left
        if (
            whole
            and not SourceVerification.objects.filter(
                object_model=current._meta.label,
                object_id=current.pk,
                group="",
                variable="",
                reset_at__isnull=True,
            ).exists()
        ):
            # The whole form, verified in full: what the status matrix reads in SQL.
            SourceVerification.objects.create(
                subject_id=current.subject_id,
                form_code=spec.code,
                visit_code=visit_code,
                object_model=current._meta.label,
                object_id=current.pk,
                value=None,
                form_version=current.version,
                verified_by=actor,
                verified_at=now,
            )
            why = f"Every value of the form verified (form version {current.version})"
            audit.append([_entry(actor, now, current, spec.code, visit_code, why=why)])
        return Verified(
            verified=len(chosen),
            critical_left=sum(v.item.critical for v in left),
            form_verified=whole,
        )


def _entry(
    actor: Any,
    at: Any,
    form: Any,
    form_code: str,
    visit_code: str,
    *,
    why: str,
    where: tuple[str, int, Key] | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    """A VERIFY audit entry (crf.audit.append) of a value (``where``: the form's or its
    row's model and id, and the key), or of the whole form."""
    from crf.models import AuditAction, AuditSource

    model, object_id, (group, row_key, variable) = where or (form._meta.label, form.pk, FORM)
    return {
        "at": at,
        "actor": actor,
        "actor_username": actor.get_username(),
        "subject_id": form.subject_id,
        "action": AuditAction.VERIFY,
        "form_code": form_code,
        "visit_code": visit_code,
        "object_model": model,
        "object_id": object_id,
        "group": group,
        "row_key": row_key,
        "variable": variable,
        "old_value": None,
        "new_value": value,
        "reason_code": "",
        "reason_text": why,
        "source": AuditSource.WEB,
        "file_sha256": "",
    }


# --- Resets: the change listener (crf.registry) --------------------------------------------


def reset_on_change(change: WrittenChange) -> None:
    """A change written to a form resets the verifications of the values it changed (and of
    a deleted row or form), inside the writing transaction: ``reset_at``/``reset_by`` and a
    note "changed by X on DATE: old → new". Every write path calls it (save_form,
    delete_form, the import's SubjectBatch). A new form costs no query: nothing of it can
    have been verified."""
    if change.instance.version <= 1 and not any(
        entry["action"] == "delete" for entry in change.entries
    ):
        return  # a new form (written once): nothing of it can have been verified
    if not any(entry["action"] in ("update", "delete", "create") for entry in change.entries):
        return
    from data_management.models import SourceVerification

    instance = change.instance
    active = list(
        SourceVerification.objects.filter(
            object_model=instance._meta.label, object_id=instance.pk, reset_at__isnull=True
        ).only("id", "group", "row_key", "variable", "value")
    )
    if not active:
        return
    who = change.actor.get_username() if change.actor is not None else "system"
    resets = resets_for(
        ((v.pk, (v.group, v.row_key, v.variable), v.value) for v in active),
        change.entries,
        who=who,
        on=_site_date(change.at, change.subject),
        derived=frozenset(v.name for v in change.spec.variables if v.derived),
    )
    notes = {reset.verification_id: reset.note for reset in resets}
    reset_rows: list[SourceVerification] = []
    for verification in active:
        if verification.pk in notes:
            verification.reset_at = change.at
            verification.reset_by = change.actor
            verification.reset_note = notes[verification.pk]
            reset_rows.append(verification)
    if reset_rows:
        SourceVerification.objects.bulk_update(reset_rows, ["reset_at", "reset_by", "reset_note"])


def _site_date(at: Any, subject: Any) -> str:
    """``at`` as the date of the subject's site (YYYY-MM-DD)."""
    return str(site_time(at, subject.site.time_zone)[:10])


def site_time(at: Any, zone_name: str) -> str:
    """``at`` in the site's time zone, YYYY-MM-DD HH:MM (the study default zone when the
    site's is unknown)."""
    from study.timezones import local_text, zone_named

    return local_text(at, zone_named(zone_name))


def active_verifications(instance: Any) -> list[SourceVerification]:
    """The form's verifications in force (not reset), oldest first."""
    from data_management.models import SourceVerification

    return list(
        SourceVerification.objects.filter(
            object_model=instance._meta.label, object_id=instance.pk, reset_at__isnull=True
        )
    )


def seed_demo(*, actor: Any, subjects: Iterable[Any]) -> int:
    """Demo data (make run): ``actor`` (a monitor) has verified the screening visit of
    ``subjects`` in full (critical values one by one) and the rest of C1D1 (its Day 1 left
    to verify one by one). Returns the number of values verified."""
    from crf import registry
    from crf.models import Visit
    from data_management import sdv_selectors

    verified = 0
    for subject in subjects:
        for code in ("SCR", "C1D1"):
            visit = Visit.objects.filter(subject=subject, code=code).first()
            for spec in registry.all_forms() if visit is not None else []:
                if visit is None or visit.kind not in spec.visit_kinds:
                    continue
                for instance in spec.model.objects.filter(visit=visit, is_deleted=False):
                    verified += verify_form(actor=actor, instance=instance).verified
                    if code == "SCR":
                        state = sdv_selectors.form_state(spec, instance)
                        keys = [v.item.key for v in state.values if not v.verified]
                        verified += verify_values(
                            actor=actor, instance=instance, keys=keys
                        ).verified
    return verified


def connect() -> None:
    """Register this concern's hooks and navigation (called from DataManagementConfig)."""
    from django.utils.translation import gettext_lazy as _

    from crf import registry
    from data_management import sdv_views
    from study import navigation
    from study.roles import QUERIES

    registry.register_change_listener(reset_on_change)
    registry.register_form_marks(sdv_views.form_marks)
    registry.register_form_panel(sdv_views.form_panel, order=60)
    registry.register_subject_panel(sdv_views.subject_panel, order=45)
    # Monitors and data managers (the people who hold manage_queries) follow SDV progress.
    navigation.register(
        navigation.NavItem(_("SDV"), "data_management:sdv_progress", QUERIES, order=52)
    )
