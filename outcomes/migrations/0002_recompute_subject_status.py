"""Recompute every subject's status from its forms (issue 10 item 2), audited as the system.

Until now the status was set only at screening and enrolment, so a subject with an end of
treatment, an end of study or a death form still read "Enrolled / on treatment". This
migration tells each subject's status from its active SL, ENR, EOT, DS and DD forms with
the rule of study/subject_status.py (the one outcomes.services.recompute_subject_status
uses from now on) and writes each change with an audit entry: form code SUBJ, variable
STATUS, old and new, user "system", source service, reason DERIVATION, appended to the
subject's hash chain as crf.audit does. It uses the migration's historical models, so it
runs on any database at this point of its history; running it again changes nothing.
"""

from django.db import migrations
from django.utils import timezone

from crf import guard
from crf.audit import GENESIS, chain_key, compute_hash
from study.subject_status import StatusFacts, subject_status


def _active_subject_ids(model, **filters):
    return set(
        model.objects.filter(is_deleted=False, **filters).values_list("subject_id", flat=True)
    )


def recompute_statuses(apps, schema_editor):
    Subject = apps.get_model("study", "Subject")
    ScreeningLog = apps.get_model("enrollment", "ScreeningLog")
    Enrolment = apps.get_model("enrollment", "Enrolment")
    EndOfTreatment = apps.get_model("outcomes", "EndOfTreatment")
    StudyEnd = apps.get_model("outcomes", "StudyEnd")
    Death = apps.get_model("outcomes", "Death")
    AuditEntry = apps.get_model("crf", "AuditEntry")
    AuditChain = apps.get_model("crf", "AuditChain")

    screen_failed = _active_subject_ids(ScreeningLog, screen_failure="Y")
    enrolled = _active_subject_ids(Enrolment)
    ended_treatment = _active_subject_ids(EndOfTreatment)
    died = _active_subject_ids(Death)
    study_end = dict(StudyEnd.objects.filter(is_deleted=False).values_list("subject_id", "reason"))
    now = timezone.now()
    with guard.services_writing():  # the application's own models, when tests pass them
        for subject in Subject.objects.order_by("pk"):
            facts = StatusFacts(
                screen_failed=subject.pk in screen_failed,
                enrolled=bool(subject.subject_id) or subject.pk in enrolled,
                end_of_treatment=subject.pk in ended_treatment,
                study_end=subject.pk in study_end,
                study_end_reason=study_end.get(subject.pk) or "",
                death=subject.pk in died,
            )
            new = subject_status(facts)
            if new == subject.status:
                continue
            key = chain_key(subject.pk)
            head = AuditChain.objects.select_for_update().get_or_create(
                key=key, defaults={"head_hash": GENESIS}
            )[0]
            values = {
                "chain": key,
                "at": now,
                "actor_username": "system",
                "subject_id": subject.pk,
                "action": "update",
                "form_code": "SUBJ",
                "visit_code": "",
                "object_model": "study.Subject",
                "object_id": subject.pk,
                "group": "",
                "row_key": "",
                "variable": "STATUS",
                "old_value": subject.status or None,
                "new_value": new,
                "reason_code": "DERIVATION",
                "reason_text": "",
                "source": "service",
                "file_sha256": "",
            }
            entry = AuditEntry(
                **values,
                actor=None,
                prev_hash=head.head_hash,
                entry_hash=compute_hash(head.head_hash, values),
            )
            entry.save()
            head.head_hash = entry.entry_hash
            head.length += 1
            head.save(update_fields=["head_hash", "length"])
            Subject.objects.filter(pk=subject.pk).update(status=new)


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0001_initial"),
        ("enrollment", "0002_reference_data"),
        ("crf", "0004_derivation_reason"),
        ("study", "0005_outcomes_permission"),
    ]

    operations = [migrations.RunPython(recompute_statuses, migrations.RunPython.noop)]
