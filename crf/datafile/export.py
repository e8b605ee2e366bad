"""The study's clinical data as a study data file document (reads only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from django.utils import timezone

from crf import registry
from crf.datafile.document import (
    FORMAT,
    PARAMETERS,
    TARGET_ENROLMENT,
    is_empty,
    visit_sort_key,
)
from crf.datafile.encoding import Stream
from crf.registry import FormSpec, Variable
from study import protocol
from study.models import Site, StudyParameters, Subject


def _export_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _data(variables: Sequence[Variable], obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for variable in variables:
        value = getattr(obj, variable.field_name)
        if not is_empty(value):
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


# Subjects read and written per chunk: a query per form model for each chunk.
CHUNK = 250


def export_stream(*, user: Any = None) -> dict[str, Any]:
    """The study data file document with its subjects and screened persons as ``Stream``s
    (crf.datafile.encoding): read from the database a chunk of subjects at a time while
    the text is written, so an export of any size holds one chunk. Reads only.

    ``user`` None exports everything; otherwise only the subjects of
    ``Subject.objects.for_user(user)`` and only the sites the user may see, so
    the file holds no trace of another site's subjects.
    """
    from study.scoping import sites_for_user

    subjects_qs = Subject.objects.all() if user is None else Subject.objects.for_user(user)
    subjects = list(
        subjects_qs.order_by().values_list("pk", "site__number", "subject_id", "screening_id")
    )
    sites = Site.objects.all() if user is None else sites_for_user(user)
    enrolled = sorted((s for s in subjects if s[2]), key=lambda s: (s[1], s[2]))
    screened = sorted((s for s in subjects if not s[2]), key=lambda s: (s[1], s[3]))
    return {
        "format": FORMAT,
        "study": protocol.STUDY_CODE,
        "created": timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        PARAMETERS: {TARGET_ENROLMENT: StudyParameters.objects.current().target_enrolment},
        "sites": [{"site": s.number, "name": s.name} for s in sites.order_by("number")],
        "subjects": Stream(_entries(enrolled, enrolled=True)),
        "screening": Stream(_entries(screened, enrolled=False)),
    }


def _entries(subjects: Sequence[tuple[Any, ...]], *, enrolled: bool) -> Iterator[dict[str, Any]]:
    for start in range(0, len(subjects), CHUNK):
        chunk = subjects[start : start + CHUNK]
        forms: dict[int, list[tuple[Any, ...]]] = {}
        for spec in registry.all_forms():
            for subject_pk, entries in _form_entries(spec, [s[0] for s in chunk]).items():
                forms.setdefault(subject_pk, []).extend(entries)
        for pk, site, subject_id, screening_id in chunk:
            entry: dict[str, Any] = {"site": site}
            if enrolled:
                entry["subject_id"] = subject_id
            entry["screening_id"] = screening_id
            entry["forms"] = [e for _key, e in sorted(forms.pop(pk, []), key=lambda e: e[0])]
            yield entry


def export_document(*, user: Any = None) -> dict[str, Any]:
    """The study's clinical data as a study data file document (``export_stream`` with its
    lists read whole). Reads only."""
    document = export_stream(user=user)
    return {k: list(v) if isinstance(v, Stream) else v for k, v in document.items()}
