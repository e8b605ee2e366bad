"""CSV exports of the clinical data, driven by the form registry (issue 13, "CSV exports").

- One CSV per form: one row per active form record, the record's keys first (``KEY_COLUMNS``:
  subject ID, screening number, site, visit, record id, version, status), then the form's
  crf-spec variables in registry order. One CSV per repeating group (IE answers, TL, NTL, NL):
  one row per active row of an active form, with the parent record's keys.
- Two variants: *codes* (crf-spec codes, dates YYYY-MM-DD, decimals as stored, a list of codes
  joined by ``;``) and *labels* (each code's label in the active language, lists joined by
  ``, ``).
- A data dictionary from the registry: every variable with its labels in English and Chinese,
  type, unit, code list, required, derived and the visits its form belongs to.
- The ZIP: every form and group CSV in both variants, the dictionary and the study data file
  (crf.datafile), written to a temporary file a CSV row at a time.

Everything is scoped to the user's sites (``study.scoping.site_ids_for_user``) and written as
UTF-8 with a BOM, text that a spreadsheet would run as a formula neutralised
(``study.downloads.safe_cell``). A form's CSV costs one query whatever the number of subjects
(records read with ``.iterator()``, the subject, site and visit joined).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from crf import registry
from crf.models import FormStatus
from crf.registry import FormSpec, GroupSpec, Variable
from study.downloads import safe_cell

BOM = "\ufeff"
# The keys of a form record, before its variables (a group's CSV repeats its parent's).
KEY_COLUMNS = ("SUBJID", "SCRID", "SITEID", "VISIT", "RECID", "RECVER", "RECSTAT")
LIST_SEPARATOR = ";"
DICTIONARY_COLUMNS = (
    "FORM",
    "FORM_TITLE",
    "GROUP",
    "VARIABLE",
    "LABEL_EN",
    "LABEL_ZH",
    "TYPE",
    "UNIT",
    "CODELIST",
    "CODELIST_ZH",
    "REQUIRED",
    "DERIVED",
    "VISITS",
)
ZIP_DICTIONARY = "data_dictionary.csv"
ZIP_STUDY_DATA = "study-data.json"
CHUNK_SIZE = 1000


# --- values ------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def code_labels(spec: FormSpec, variable: Variable) -> dict[str, str] | None:
    """A variable's code list (code -> label in the active language): the model field's
    choices, else the form field's (lists of codes are JSON fields chosen on the form)."""
    if variable.field.choices:
        return {str(code): str(label) for code, label in variable.field.flatchoices}
    form_class = spec.form_class
    form_field = form_class.base_fields.get(variable.field_name) if form_class else None
    choices = getattr(form_field, "choices", None)
    if not choices:
        return None
    return {str(code): str(label) for code, label in choices if str(code) != ""}


def code_value(value: Any) -> Any:
    """A stored value as the codes variant writes it."""
    if _empty(value):
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value  # kept a number (a negative one is no formula); written by _cell
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return value


def label_value(value: Any, labels: dict[str, str] | None) -> Any:
    """A stored value as the labels variant writes it (each code's label)."""
    if _empty(value) or not labels:
        return code_value(value)
    if isinstance(value, list | tuple):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))


def _cell(value: Any) -> Any:
    """Formula-safe text; numbers stay numbers (decimals written exactly, never 1E+1)."""
    value = safe_cell(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


# --- tables --------------------------------------------------------------------------------


def _scoped(queryset: models.QuerySet[Any], subject_path: str, user: Any) -> models.QuerySet[Any]:
    from study.scoping import site_ids_for_user

    if user is None:
        return queryset
    site_ids = site_ids_for_user(user)
    if site_ids is None:
        return queryset
    return queryset.filter(**{f"{subject_path}__site_id__in": list(site_ids)})


def _record_order(prefix: str = "") -> list[str]:
    return [
        f"{prefix}subject__site__number",
        f"{prefix}subject__subject_id",
        f"{prefix}subject__screening_id",
        f"{prefix}visit__planned_date",
        f"{prefix}visit__code",
        f"{prefix}id",
    ]


def _key_fields(prefix: str = "") -> list[str]:
    """The lookups of KEY_COLUMNS, in order (the record's status last)."""
    return [
        f"{prefix}subject__subject_id",
        f"{prefix}subject__screening_id",
        f"{prefix}subject__site__number",
        f"{prefix}visit__code",
        f"{prefix}id",
        f"{prefix}version",
        f"{prefix}status",
    ]


def form_header(spec: FormSpec) -> list[str]:
    return [*KEY_COLUMNS, *(v.name for v in spec.variables)]


def group_header(group: GroupSpec) -> list[str]:
    return [*KEY_COLUMNS, *(v.name for v in group.variables)]


def _rows(
    spec: FormSpec,
    queryset: models.QuerySet[Any],
    prefix: str,
    variables: Sequence[Variable],
    *,
    labels: bool,
) -> Iterator[list[Any]]:
    """Rows read as tuples (no model instances: a form's CSV at 2,000 subjects stays quick),
    one query, ``CHUNK_SIZE`` rows at a time."""
    keys = _key_fields(prefix)
    tuples = queryset.values_list(*keys, *(v.field_name for v in variables))
    statuses = {code: str(label) for code, label in FormStatus.choices}
    maps = [code_labels(spec, v) if labels else None for v in variables]
    width = len(keys)
    for found in tuples.iterator(chunk_size=CHUNK_SIZE):
        status = found[width - 1]
        head = [*("" if v is None else v for v in found[: width - 1])]
        head.append(statuses.get(status, status) if labels else status)
        values = found[width:]
        if labels:
            yield [*head, *(label_value(v, m) for v, m in zip(values, maps, strict=True))]
        else:
            yield [*head, *(code_value(v) for v in values)]


def form_rows(spec: FormSpec, *, user: Any, labels: bool = False) -> Iterator[list[Any]]:
    """One row per active record of ``spec`` the user may see (one query)."""
    records = _scoped(spec.model.objects.filter(is_deleted=False), "subject", user)
    records = records.order_by(*_record_order())
    return _rows(spec, records, "", spec.variables, labels=labels)


def group_rows(
    spec: FormSpec, group: GroupSpec, *, user: Any, labels: bool = False
) -> Iterator[list[Any]]:
    """One row per active row of ``group`` in an active record the user may see (one query)."""
    rows = _scoped(
        group.model.objects.filter(is_deleted=False, form__is_deleted=False),  # type: ignore[misc]
        "form__subject",
        user,
    )
    rows = rows.order_by(*_record_order("form__"), "id")
    return _rows(spec, rows, "form__", group.variables, labels=labels)


# --- the data dictionary ---------------------------------------------------------------------


def variable_type(variable: Variable) -> str:
    field = variable.field
    if variable.is_partial_date:
        return "partial date"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if variable.is_date:
        return "date"
    if isinstance(field, models.JSONField):
        return "codes"
    if field.choices:
        return "code"
    if isinstance(field, models.DecimalField):
        return "decimal"
    if isinstance(field, models.IntegerField):
        return "integer"
    if isinstance(field, models.BooleanField):
        return "Y/N"
    return "text"


def _codelist(spec: FormSpec, variable: Variable) -> str:
    labels = code_labels(spec, variable)
    return "; ".join(f"{code}={label}" for code, label in labels.items()) if labels else ""


def dictionary_rows() -> Iterator[list[Any]]:
    """Every variable of the registry, form by form (a group's after its form's)."""
    for spec in registry.all_forms():
        visits = " ".join(str(kind) for kind in spec.visit_kinds) or "LOG"
        entries: list[tuple[str, Variable]] = [("", v) for v in spec.variables]
        entries += [(g.name, v) for g in spec.groups for v in g.variables]
        for group_name, variable in entries:
            with translation.override("en"):
                title, label_en = str(spec.title), variable.label
                unit, codes_en = str(variable.unit), _codelist(spec, variable)
            with translation.override("zh-hans"):
                label_zh, codes_zh = variable.label, _codelist(spec, variable)
            yield [
                spec.code,
                title,
                group_name,
                variable.name,
                label_en,
                label_zh,
                variable_type(variable),
                unit,
                codes_en,
                codes_zh,
                "Y" if variable.required else "N",
                "Y" if variable.derived else "N",
                visits,
            ]


# --- writing ---------------------------------------------------------------------------------


def write_csv(binary: IO[bytes], header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV (UTF-8 with BOM, formula-safe cells) to a binary file, a row at a time."""
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)
    try:
        text.write(BOM)
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
        text.flush()
    finally:
        text.detach()  # leave the binary file open for the caller


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.BytesIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue()


def form_csv(spec: FormSpec, *, user: Any, labels: bool = False) -> bytes:
    return csv_bytes(form_header(spec), form_rows(spec, user=user, labels=labels))


def group_csv(spec: FormSpec, group: GroupSpec, *, user: Any, labels: bool = False) -> bytes:
    return csv_bytes(group_header(group), group_rows(spec, group, user=user, labels=labels))


def dictionary_csv() -> bytes:
    return csv_bytes(DICTIONARY_COLUMNS, dictionary_rows())


def group_filename(spec: FormSpec, group: GroupSpec) -> str:
    return f"{spec.code}_{group.name}.csv"


def zip_names() -> list[str]:
    """The files of the export ZIP, in the order they are written."""
    names: list[str] = []
    for variant in ("codes", "labels"):
        names += [f"forms_{variant}/{spec.code}.csv" for spec in registry.all_forms()]
        names += [
            f"groups_{variant}/{group_filename(spec, group)}"
            for spec in registry.all_forms()
            for group in spec.groups
        ]
    return [*names, ZIP_DICTIONARY, ZIP_STUDY_DATA]


def write_zip(target: IO[bytes], *, user: Any) -> None:
    """The whole export as a ZIP written to ``target``: each CSV streamed into its entry."""
    from crf.datafile import chunks, export_stream

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for labels, variant in ((False, "codes"), (True, "labels")):
            for spec in registry.all_forms():
                with archive.open(f"forms_{variant}/{spec.code}.csv", "w") as entry:
                    write_csv(entry, form_header(spec), form_rows(spec, user=user, labels=labels))
            for spec in registry.all_forms():
                for group in spec.groups:
                    name = f"groups_{variant}/{group_filename(spec, group)}"
                    with archive.open(name, "w") as entry:
                        write_csv(
                            entry,
                            group_header(group),
                            group_rows(spec, group, user=user, labels=labels),
                        )
        with archive.open(ZIP_DICTIONARY, "w") as entry:
            write_csv(entry, DICTIONARY_COLUMNS, dictionary_rows())
        with archive.open(ZIP_STUDY_DATA, "w") as entry:
            for chunk in chunks(export_stream(user=user)):
                entry.write(chunk.encode("utf-8"))


def zip_file(*, user: Any) -> IO[bytes]:
    """The export ZIP in a temporary file (kept in memory up to 16 MB), rewound."""
    target: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    write_zip(target, user=user)
    target.seek(0)
    return target


def study_data_bytes(*, user: Any) -> bytes:
    from crf.datafile import chunks, export_stream

    return "".join(chunks(export_stream(user=user))).encode("utf-8")


# --- registration ------------------------------------------------------------------------------


def connect() -> None:
    """Register this concern's navigation (called from ReportsConfig)."""
    from study.navigation import NavItem, register
    from study.roles import EXPORT

    register(NavItem(_("Exports"), "reports:csv_index", permission=EXPORT, order=80))
