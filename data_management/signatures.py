"""PI electronic signatures of a visit or a subject's casebook (21 CFR Part 11).

- §11.50 (signature manifestations): the Signature row keeps the signer's printed name, the
  date and time (UTC, and the site's time zone named), and the meaning: the statement the
  signer read ("I have reviewed the data … and attest …"), in the language it was read in.
- §11.70 (signature/record linking): ``data_sha256`` is the SHA-256 of exactly the data
  signed, a canonical serialisation (sorted JSON) of every active form of the visit, or of
  the whole subject for the casebook, with its values (as the audit trail writes them,
  crf.values.audit_text) and repeating rows. The same data always give the same hash; a
  page showing a signature recomputes it and says when the data no longer match.
- §11.200 (components): the signer re-enters the password. A wrong one is refused and
  counted as a failed sign-in (django's ``user_login_failed``, so study.signals records an
  AuthEvent and django-axes counts it): five lock the account exactly as at sign-in.

Only a principal investigator of the subject's site signs (role investigator with
``sign_casebook``, ``Membership.is_principal_investigator``, the site among theirs).
Any later change to signed data (a form of the signed visit; anything of the subject for
a casebook), by any write path, invalidates the signature (crf.registry change listener):
who, when and what changed are kept on the row, the step is audited, and the subject is
back in the PI's signing queue. Signatures are never deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import weakref
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crf import audit, audit_labels, registry
from crf.models import AuditAction, AuditSource, CaseReportForm, FormStatus, RepeatingRow, Visit
from crf.registry import FormSpec
from crf.values import audit_text
from data_management.models import Signature, SignatureScope
from study import timezones
from study.models import Role, Site, Subject, SubjectStatus
from study.roles import SIGN, perm
from study.scoping import membership_of, membership_sites

if TYPE_CHECKING:
    from django.http import HttpRequest

log = logging.getLogger(__name__)

__all__ = [
    "AccountLocked",
    "SignedForm",
    "can_sign",
    "connect",
    "data_sha256",
    "invalidation_text",
    "sign",
    "signed_forms",
    "signing_queue",
    "statement",
]


# --- Who may sign --------------------------------------------------------------------------


def can_sign(user: Any, subject: Subject) -> bool:
    """A principal investigator of the subject's site: an active investigator holding
    ``sign_casebook`` whose membership is marked PI and names the site (protocol.md: "a PI
    signs casebooks"; sub-investigators and coordinators do not). No query once the
    membership is loaded for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    membership = membership_of(user)
    if membership is None or membership.role != Role.INVESTIGATOR:
        return False
    if not membership.is_principal_investigator or not user.has_perm(perm(SIGN)):
        return False
    return any(site.id == subject.site_id for site in membership_sites(user))


def printed_name(user: Any) -> str:
    """The signer's name as printed on the signature (§11.50): full name, else user name."""
    return str(user.get_full_name() or user.get_username())


def site_zone(site: Site) -> zoneinfo.ZoneInfo:
    return timezones.site_zone(site)


# --- What is signed ------------------------------------------------------------------------


def statement(subject: Subject, visit: Visit | None) -> str:
    """The statement of meaning the signer reads and that the signature keeps (§11.50(a)(3)),
    in the current language."""
    if visit is not None:
        return _(
            "I have reviewed the data of visit %(visit)s of subject %(subject)s as recorded in "
            "this electronic case report form and attest that, to the best of my knowledge, "
            "they are accurate and complete and agree with the source documents."
        ) % {"visit": visit.code, "subject": subject.label}
    return _(
        "I have reviewed all the data of subject %(subject)s as recorded in this electronic "
        "casebook and attest that, to the best of my knowledge, they are accurate and complete "
        "and agree with the source documents."
    ) % {"subject": subject.label}


@dataclass
class SignedForm:
    """One active form among the data signed, with its repeating rows by group."""

    spec: FormSpec
    instance: CaseReportForm
    rows: dict[str, list[RepeatingRow]] = field(default_factory=dict)

    @property
    def visit_code(self) -> str:
        visit = self.instance.visit
        return visit.code if visit is not None else ""

    def canonical(self) -> dict[str, Any]:
        """The form as signed: its values and rows as the audit trail writes them (sorted
        by row key), its status, its identity. Never the version or times: saving without
        a change changes nothing signed."""
        from crf.services import variable_data

        values = variable_data(self.spec, self.instance)
        groups: dict[str, list[dict[str, str | None]]] = {}
        for group in self.spec.groups:
            rows = [
                {v.name: audit_text(getattr(row, v.field_name)) for v in group.variables}
                for row in self.rows.get(group.name, [])
            ]
            groups[group.name] = sorted(rows, key=lambda r: str(r.get(group.key) or ""))
        return {
            "form": self.spec.code,
            "record": self.instance.pk,
            "visit": self.visit_code,
            "status": self.instance.status,
            "values": {name: audit_text(value) for name, value in values.items()},
            "groups": groups,
        }


def signed_forms(subject: Subject, visit: Visit | None = None) -> list[SignedForm]:
    """Every active form of ``visit`` (None: of the whole subject, log forms included) with
    its rows, ordered by visit, form and record. One query per form kind that can hold
    data there and one per repeating group holding some, whatever the number of forms."""
    found: list[SignedForm] = []
    for spec in registry.all_forms():
        if visit is not None and visit.kind not in spec.visit_kinds:
            continue
        forms = spec.model.objects.filter(subject=subject, is_deleted=False)
        if visit is not None:
            forms = forms.filter(visit=visit)
        instances = list(forms.select_related("visit").order_by("pk"))
        if not instances:
            continue
        signed = {obj.pk: SignedForm(spec, obj) for obj in instances}
        for group in spec.groups:
            for form in signed.values():
                form.rows[group.name] = []
            rows = group.model.objects.filter(is_deleted=False, **{"form__in": instances})
            rows = rows.order_by("pk")
            for row in rows:
                signed[row.form_id].rows[group.name].append(row)  # type: ignore[attr-defined]
        found.extend(signed.values())
    found.sort(key=_display_order)
    return found


def _display_order(form: SignedForm) -> tuple[Any, ...]:
    """Visits in the order they come (planned date), then the log forms; forms by the
    registry's order. Only for showing: the hash has its own order (``canonical_text``)."""
    visit = form.instance.visit
    if visit is None:
        return (1, dt.date.max, 0, form.spec.order, form.spec.code, form.instance.pk)
    planned = visit.planned_date or dt.date.max
    return (0, planned, visit.pk, form.spec.order, form.spec.code, form.instance.pk)


def canonical_text(subject: Subject, visit: Visit | None, forms: Sequence[SignedForm]) -> str:
    """The exact text hashed: sorted JSON, no spaces, UTF-8 characters kept; the forms in
    an order of the data alone (visit code, form code, record), never of the schedule."""
    ordered = sorted(forms, key=lambda f: (f.visit_code, f.spec.code, f.instance.pk))
    document = {
        "subject": subject.pk,
        "scope": SignatureScope.VISIT if visit is not None else SignatureScope.CASEBOOK,
        "visit": visit.code if visit is not None else "",
        "forms": [form.canonical() for form in ordered],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def data_sha256(
    subject: Subject, visit: Visit | None = None, forms: Sequence[SignedForm] | None = None
) -> str:
    """SHA-256 (hex) of the data of ``visit`` (None: the casebook) as they are now."""
    if forms is None:
        forms = signed_forms(subject, visit)
    return hashlib.sha256(canonical_text(subject, visit, forms).encode("utf-8")).hexdigest()


# --- Signing -------------------------------------------------------------------------------


class AccountLocked(ValidationError):
    """The password was refused and the account is now locked (as at sign-in)."""


def check_signing_password(*, user: Any, password: str, request: HttpRequest | None) -> None:
    """The password re-entered to sign (§11.200(a)(1)): checked by django's authenticate,
    with the request, so a wrong one is a failed sign-in like any other — an AuthEvent
    (study.signals) and one more failure for django-axes, whose fifth locks the account.

    Raises ValidationError on a wrong password, AccountLocked when the account is locked
    (now or before)."""
    username = user.get_username()
    if request is not None:
        authenticated = authenticate(request, username=username, password=password)
        ok = authenticated is not None and authenticated.pk == user.pk
    else:  # a shell or a command: no request for axes, still recorded
        ok = bool(password) and user.check_password(password)
        if not ok:
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=None
            )
    if ok:
        if request is not None and getattr(settings, "AXES_RESET_ON_SUCCESS", False):
            from axes.utils import reset

            reset(username=username)  # a right password ends a run of failures, as at sign-in
        return
    log.warning("Signature password refused for %s", username)
    if request is not None and getattr(request, "axes_locked_out", False):
        raise AccountLocked(
            _(
                "The password was not correct. After too many failed attempts this account is "
                "locked, as at sign-in; nothing was signed."
            ),
            code="locked",
        )
    raise ValidationError(
        {
            "password": _(
                "The password is not correct; nothing was signed. The failed attempt is "
                "recorded, and after %(limit)d failed attempts the account is locked as at "
                "sign-in."
            )
            % {"limit": settings.AXES_FAILURE_LIMIT}
        },
        code="wrong_password",
    )


def sign(
    *,
    actor: Any,
    subject: Subject,
    visit: Visit | None = None,
    password: str,
    expected_sha256: str = "",
    request: HttpRequest | None = None,
) -> Signature:
    """The PI ``actor`` signs ``visit`` of ``subject`` (None: the subject's casebook).

    PermissionDenied unless ``actor`` is a PI of the subject's site (``can_sign``); the
    password is checked as at sign-in (``check_signing_password``: ValidationError,
    AccountLocked). ``expected_sha256``, the hash of the data the page showed, must still
    be the data's hash (ValidationError: the data changed since the signer reviewed them);
    nothing to sign is refused too. Writes the Signature (printed name, UTC time, the
    site's zone, the statement, the SHA-256) and a SIGN entry in the subject's audit chain.
    """
    if not can_sign(actor, subject):
        raise PermissionDenied(_("Only a principal investigator of the subject's site may sign."))
    if visit is not None and visit.subject_id != subject.pk:
        raise PermissionDenied(_("This visit is not one of the subject's visits."))
    check_signing_password(user=actor, password=password, request=request)
    with transaction.atomic():
        # The subject's lock, as every write takes it: no form changes while it is hashed.
        Subject.objects.select_for_update().filter(pk=subject.pk).first()
        # Locked data are read-only: a lock of the study, the subject or the visit refuses
        # the signature as it refuses any write (the message names the lock).
        registry.check_write(
            registry.WriteAttempt(actor, subject, None, visit=visit, action="sign")
        )
        forms = signed_forms(subject, visit)
        if not forms:
            raise ValidationError(_("There is nothing to sign yet: no form has been entered."))
        digest = data_sha256(subject, visit, forms)
        if expected_sha256 and expected_sha256 != digest:
            raise ValidationError(
                _(
                    "The data changed since this page was opened; nothing was signed. Review "
                    "them again before signing."
                ),
                code="changed",
            )
        scope = SignatureScope.VISIT if visit is not None else SignatureScope.CASEBOOK
        if Signature.objects.filter(
            subject=subject, scope=scope, visit=visit, invalidated_at=None, data_sha256=digest
        ).exists():  # a second click, or a second tab
            raise ValidationError(_("These data are already signed."), code="signed")
        now = timezone.now()
        signature = Signature.objects.create(
            subject=subject,
            scope=scope,
            visit=visit,
            signer=actor,
            printed_name=printed_name(actor),
            signed_at=now,
            site_time_zone=str(site_zone(subject.site)),
            meaning=statement(subject, visit),
            data_sha256=digest,
        )
        _audit(signature, actor=actor, old=None, new=_audit_value(signature), why="")
    return signature


def _audit_value(signature: Signature) -> str:
    what = signature.visit.code if signature.visit is not None else "casebook"
    return f"{signature.printed_name}; {what}; SHA-256 {signature.data_sha256}"


def _audit(signature: Signature, *, actor: Any, old: str | None, new: str, why: str) -> None:
    """A SIGN entry in the subject's chain (it also moves the subject page's cache key)."""
    audit.record(
        actor=actor,
        action=AuditAction.SIGN,
        form_code="",
        obj=signature,
        changes=[("signature", old, new)],
        subject_id=signature.subject_id,
        reason_text=why or signature.meaning,
        source=AuditSource.WEB if why == "" else AuditSource.SERVICE,
        visit_code=signature.visit.code if signature.visit is not None else "",
    )


# --- Invalidation --------------------------------------------------------------------------


def _derived(entry: Mapping[str, Any]) -> bool:
    """Whether the entry's variable is derived by the system (a sum, a response)."""
    try:
        spec = registry.get(entry.get("form_code", ""))
        variables = spec.group(entry["group"]).variables if entry.get("group") else spec.variables
    except (KeyError, StopIteration):
        return False
    return any(v.name == entry.get("variable") and v.derived for v in variables)


def _naming_entry(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The change the sentence names: the first value a person entered (a lesion's diameter
    rather than the sum derived from it), else the first changed value, else the first
    entry."""
    changed = [e for e in entries if e.get("variable")]
    entered = [e for e in changed if not _derived(e)]
    return (entered or changed or list(entries) or [{}])[0]


@dataclass
class _BatchSeen:
    """What the listener keeps for one SubjectBatch (the import, the demo): the batch holds
    the subject's lock until it commits and ``sign`` takes that lock too, so the subject's
    valid signatures cannot change under it but by this listener."""

    subject: weakref.ReferenceType[Any]
    batch: weakref.ReferenceType[Any]
    valid: list[Signature] | None = None


_BATCHES: dict[int, _BatchSeen] = {}  # by id() of the batch's subject object


def note_batch(attempt: registry.WriteAttempt) -> None:
    """crf.registry write guard that never refuses: remembers the SubjectBatch a write
    belongs to (keyed by its subject object, which the batch hands to the listener)."""
    if attempt.batch is None or attempt.subject is None:
        return
    seen = _BATCHES.get(id(attempt.subject))
    if seen is not None and seen.subject() is attempt.subject and seen.batch() is attempt.batch:
        return
    for key, old in list(_BATCHES.items()):  # forget batches that are gone
        if old.subject() is None or old.batch() is None:
            _BATCHES.pop(key, None)
    _BATCHES[id(attempt.subject)] = _BatchSeen(
        weakref.ref(attempt.subject), weakref.ref(attempt.batch)
    )


def _batch_of(subject: Any) -> tuple[_BatchSeen, Any] | None:
    seen = _BATCHES.get(id(subject))
    batch = seen.batch() if seen is not None and seen.subject() is subject else None
    return (seen, batch) if seen is not None and batch is not None else None


def invalidate_on_change(change: registry.WrittenChange) -> None:
    """crf.registry change listener: a change to a form of a signed visit, or to anything of
    a subject whose casebook is signed, invalidates those signatures (kept, with who, when
    and which change) and audits each. One query when nothing is signed (one a batch)."""
    visit_id = getattr(change.instance, "visit_id", None)
    in_batch = _batch_of(change.subject)
    if in_batch is not None and in_batch[0].valid is not None:
        valid = in_batch[0].valid
    else:
        valid = list(
            Signature.objects.filter(
                subject_id=change.subject.pk, invalidated_at=None
            ).select_related("visit")
        )
        if in_batch is not None:
            in_batch[0].valid = valid
    signatures = [
        s
        for s in valid
        if s.scope == SignatureScope.CASEBOOK or (visit_id is not None and s.visit_id == visit_id)
    ]
    if not signatures:
        return
    if in_batch is not None:
        # The batch appends its entries later; the change goes into the trail before the
        # invalidation it causes.
        in_batch[1].flush()
        valid[:] = [s for s in valid if s not in signatures]
    entry = _naming_entry(change.entries)
    at = change.at or timezone.now()
    actor = change.actor
    note = {
        "form": change.spec.code,
        "group": entry.get("group", ""),
        "row_key": entry.get("row_key", ""),
        "variable": entry.get("variable", ""),
        "action": entry.get("action", ""),
        "values": sum(bool(e.get("variable")) for e in change.entries),
        "at": at.astimezone(dt.UTC).isoformat(),
        "user": printed_name(actor) if actor is not None else "system",
        "username": actor.get_username() if actor is not None else "",
    }
    for signature in signatures:
        signature.invalidated_at = at
        signature.invalidated_by = actor
        signature.invalidation_note = json.dumps(note, ensure_ascii=False, sort_keys=True)
        signature.save(update_fields=["invalidated_at", "invalidated_by", "invalidation_note"])
        with timezone.override(site_zone(change.subject.site)):
            why = invalidation_text(signature, language="en")
        _audit(signature, actor=actor, old=_audit_value(signature), new="invalidated", why=why)


def _note(signature: Signature) -> dict[str, Any] | None:
    if not signature.invalidation_note:
        return None
    try:
        note = json.loads(signature.invalidation_note)
    except ValueError:
        return None
    return note if isinstance(note, dict) else None


def invalidation_text(signature: Signature, *, language: str | None = None) -> str:
    """ "Signature invalidated by the change of TLDIAM (Longest diameter) on 2026-05-01 14:03
    CST by Wei Zhang" in the current language (or ``language``), the time in the current
    time zone; "" for a valid signature."""
    from django.utils import translation

    if signature.invalidated_at is None:
        return ""
    if language is not None:
        with translation.override(language):
            return invalidation_text(signature)
    note = _note(signature)
    if note is None:  # written by hand (never by this module): shown as written
        return signature.invalidation_note or _("Signature invalidated.")
    form, group, variable = note.get("form", ""), note.get("group", ""), note.get("variable", "")
    form_title = audit_labels.form_name(form) or form
    if variable:
        label = audit_labels.variable_name(form, group, variable)
        what = _("%(code)s (%(label)s)") % {"code": variable, "label": label} if label else variable
        if note.get("row_key"):
            what = _("%(variable)s of row %(row)s in %(form)s") % {
                "variable": what,
                "row": note["row_key"],
                "form": form_title,
            }
        else:
            what = _("%(variable)s in %(form)s") % {"variable": what, "form": form_title}
    elif note.get("action") == AuditAction.DELETE and not group:
        what = _("the deletion of the form %(form)s") % {"form": form_title}
    elif group and note.get("row_key"):
        what = _("row %(row)s in %(form)s") % {"row": note["row_key"], "form": form_title}
    else:
        what = _("the form %(form)s") % {"form": form_title}
    when = timezone.localtime(signature.invalidated_at).strftime("%Y-%m-%d %H:%M %Z")
    sentence = _("Signature invalidated by the change of %(what)s on %(date)s by %(user)s.") % {
        "what": what,
        "date": when,
        "user": note.get("user", ""),
    }
    more = int(note.get("values") or 0) - 1
    if more > 0:
        sentence += " " + ngettext(
            "(%(count)d other value changed with it.)",
            "(%(count)d other values changed with it.)",
            more,
        ) % {"count": more}
    return sentence


# --- Reads: what awaits a signature --------------------------------------------------------


# A casebook is due for its PI's signature once the subject's study has ended (protocol.md:
# death, withdrawal, lost to follow-up, 24 months), as the status matrix and the monitor's
# panel count it (data_management.matrix_selectors.awaiting_signature_q); before that the
# PI signs visits as their forms are complete, and may sign the casebook at any time.
CASEBOOK_DUE = frozenset({SubjectStatus.OFF_STUDY, SubjectStatus.DIED})


@dataclass
class VisitToSign:
    visit_id: int
    code: str
    state: str  # "awaiting" (complete, not signed) or "invalidated"
    note: str = ""


@dataclass
class SubjectToSign:
    subject: Subject
    # "awaiting" (the subject's study ended, not signed), "invalidated", "signed", "" (not due)
    casebook: str = ""
    casebook_note: str = ""
    visits: list[VisitToSign] = field(default_factory=list)
    forms: int = 0
    in_progress: int = 0

    @property
    def awaiting(self) -> bool:
        return self.casebook in ("awaiting", "invalidated") or bool(self.visits)


def _form_statuses(subject_ids: list[int]) -> list[tuple[int, int | None, str]]:
    """(subject id, visit id, status) of every active form of those subjects: one UNION."""
    queries = [
        spec.model.objects.filter(subject_id__in=subject_ids, is_deleted=False)
        .order_by()
        .annotate(form_code=Value(spec.code, output_field=CharField()))
        .values_list("form_code", "subject_id", "visit_id", "status")
        for spec in registry.all_forms()
    ]
    if not queries or not subject_ids:
        return []
    return [
        (subject_id, visit_id, status)
        for _code, subject_id, visit_id, status in queries[0].union(*queries[1:], all=True)
    ]


def _latest(signatures: Iterable[Signature]) -> Signature | None:
    """The signature that tells the state: a valid one, else the latest invalidated."""
    ordered = sorted(signatures, key=lambda s: (s.signed_at, s.pk), reverse=True)
    return next((s for s in ordered if s.invalidated_at is None), ordered[0] if ordered else None)


def signing_queue(subjects: Any) -> list[SubjectToSign]:
    """What awaits a PI's signature among ``subjects`` (a Subject queryset, already scoped
    to the reader): per subject, the casebook's state (due once the subject's study ended,
    ``CASEBOOK_DUE``, or again when its signature was invalidated) and, unless a valid
    casebook signature attests them all, the visits whose forms are all complete and not
    signed, or whose signature was invalidated. Subjects with nothing awaiting are left out. Four queries,
    whatever the number of subjects, visits and forms."""
    subject_list = sorted(
        subjects.select_related("site"),
        key=lambda s: (s.site.number, s.subject_id is None, s.subject_id or s.screening_id),
    )  # by site, enrolled subjects by subject ID, then those only screened
    ids = [s.pk for s in subject_list]
    if not ids:
        return []
    visits = {
        v.pk: v for v in Visit.objects.filter(subject_id__in=ids).order_by("planned_date", "id")
    }
    statuses: dict[int | None, list[str]] = defaultdict(list)
    by_subject: dict[int, list[str]] = defaultdict(list)
    for subject_id, visit_id, status in _form_statuses(ids):
        by_subject[subject_id].append(status)
        if visit_id is not None:
            statuses[visit_id].append(status)
    signatures: dict[tuple[int, int | None], list[Signature]] = defaultdict(list)
    for signature in Signature.objects.filter(subject_id__in=ids).select_related("visit"):
        key = (signature.subject_id, signature.visit_id)
        signatures[key].append(signature)
    rows: list[SubjectToSign] = []
    for subject in subject_list:
        forms = by_subject.get(subject.pk, [])
        row = SubjectToSign(subject, forms=len(forms))
        row.in_progress = sum(status != FormStatus.COMPLETE for status in forms)
        casebook = _latest(
            s for s in signatures.get((subject.pk, None), []) if s.scope == SignatureScope.CASEBOOK
        )
        casebook_valid = casebook is not None and casebook.invalidated_at is None
        if casebook_valid:
            row.casebook = "signed"
        elif casebook is not None:
            row.casebook, row.casebook_note = "invalidated", invalidation_text(casebook)
        elif forms and subject.status in CASEBOOK_DUE:
            row.casebook = "awaiting"
        for visit in visits.values():
            if visit.subject_id != subject.pk or casebook_valid:
                continue  # a valid casebook signature attests every visit
            signed = _latest(signatures.get((subject.pk, visit.pk), []))
            if signed is not None and signed.invalidated_at is None:
                continue
            if signed is not None:
                row.visits.append(
                    VisitToSign(visit.pk, visit.code, "invalidated", invalidation_text(signed))
                )
                continue
            visit_forms = statuses.get(visit.pk, [])
            if not visit_forms:
                continue
            if all(status == FormStatus.COMPLETE for status in visit_forms):
                row.visits.append(VisitToSign(visit.pk, visit.code, "awaiting"))
        if row.awaiting:
            rows.append(row)
    return rows


def subject_signatures(subject: Subject) -> list[Signature]:
    """The subject's signatures, newest first (one query)."""
    return list(
        Signature.objects.filter(subject=subject)
        .select_related("visit")
        .order_by("-signed_at", "-id")
    )


def matching(subject: Subject, signatures: Sequence[Signature]) -> dict[int, bool]:
    """For each valid signature, whether the data as they are now still hash to what was
    signed (defence in depth behind the change listener: a change made behind the
    application's back shows as not matching). Reads each signed visit's forms once and
    the whole subject once when a casebook is signed."""
    result: dict[int, bool] = {}
    digests: dict[int | None, str] = {}
    for signature in signatures:
        if signature.invalidated_at is not None:
            continue
        key = signature.visit_id if signature.scope == SignatureScope.VISIT else None
        if key not in digests:
            digests[key] = data_sha256(subject, signature.visit if key is not None else None)
        result[signature.pk] = digests[key] == signature.data_sha256
    return result


# --- Hooks ---------------------------------------------------------------------------------


def connect() -> None:
    """Register this concern's hooks and navigation (called from DataManagementConfig)."""
    from django.utils.translation import gettext_lazy

    from data_management import signature_views
    from study import home_panels, navigation
    from study.roles import VIEW

    registry.register_write_guard(note_batch)
    registry.register_change_listener(invalidate_on_change)
    registry.register_subject_panel(signature_views.pi_panel, order=25, live=True)
    registry.register_subject_panel(signature_views.signatures_panel, order=30)
    registry.register_form_panel(signature_views.form_panel, order=20)
    home_panels.register(signature_views.home_panel, order=25)
    navigation.register(
        navigation.NavItem(
            gettext_lazy("Signatures"), "data_management:signature_queue", VIEW, order=48
        )
    )
