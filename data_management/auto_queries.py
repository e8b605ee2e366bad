"""Automatic queries: every soft edit-check finding (crf.models.CheckFinding) is a query
raised by the system, once, that closes itself when the data no longer trigger the check
(issue 12, "Queries"; crf-spec: "else a soft query").

Registered as a finding listener (crf.registry.register_finding_listener), so it runs on
every path that writes findings: save_form, delete_form, recheck_findings and the
SubjectBatch of the import and the demo.

One automatic query per place and check: the form row (object_model/object_id), the
check code and the variable. Rules:

- A finding opens and no automatic query exists for its place and check: a new query
  (origin automatic, raised_by None = the system, text = the finding's message), step
  RAISE by the system.
- A finding opens while the automatic query of its place and check is open or answered:
  that query is reused (it now points at the new finding); no new step.
- A finding opens while that query is closed (the problem came back): the query re-opens
  (step REOPEN by the system, with the finding's message) rather than starting a second
  thread, so the site and the monitor see the whole history of the problem in one place.
- A finding resolves (the data were corrected, or the form deleted): its query, unless
  already closed, closes itself (step AUTO_CLOSE, author None, closed_by None).

Each step is also an audit entry in the subject's chain (actor "system", source
service, on the query's own record). Where the query sits (``_where``): on the finding's
variable when it is one of the form's; a finding on a repeating group as a whole (the IE
contradictions name the group "IE") on the row its check code names (IE_IN06_vs_VS: the
row IN06) when that row is on the form, else on the whole form. CheckFinding keeps no row
(crf.services._finding_row; no soft check names a row today); a finding carrying
``group``/``row_key`` attributes is placed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crf import audit, registry
from crf.registry import GroupSpec
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus, QueryStep

PlaceKey = tuple[str, int, str, str]  # object_model, object_id, check_code, variable


def auto_close_text() -> str:
    return _("The data no longer trigger this check: closed by the system.")


def _place(finding: Any) -> PlaceKey:
    return (finding.object_model, finding.object_id, finding.check_code, finding.variable)


def _where(finding: Any) -> tuple[str, str, str]:
    """(group, row_key, variable) of the query for a finding: the variable when it is one
    of the form's own variables; a finding on a repeating group (the IE contradictions
    name the group "IE") sits on the row its check code names when there is one
    ("IE_IN06_vs_VS": row IN06), else on the whole form."""
    group = str(getattr(finding, "group", "") or "")
    row_key = str(getattr(finding, "row_key", "") or "")
    variable = finding.variable or ""
    try:
        spec = registry.get(finding.form_code)
    except KeyError:
        return group, row_key, variable
    if not group and variable in {g.name for g in spec.groups}:
        group, variable = variable, ""
        row_key = _row_named_by_check(spec.group(group), finding)
    if group:
        names = {v.name for g in spec.groups if g.name == group for v in g.variables}
        return group, row_key, variable if variable in names else ""
    if variable in {v.name for v in spec.variables}:
        return "", "", variable
    return "", "", ""


def _row_named_by_check(group: GroupSpec, finding: Any) -> str:
    """The key of the group's row (present on the form) that the check code names, or ""."""
    tokens = [t for t in finding.check_code.split("_") if t and t != group.name]
    if not tokens:
        return ""
    key_field = group.variable(group.key).field_name
    keys = list(
        group.model.objects.filter(
            **{"form_id": finding.object_id, "is_deleted": False, f"{key_field}__in": tokens}
        ).values_list(key_field, flat=True)[:2]
    )
    return str(keys[0]) if len(keys) == 1 else ""


def findings_changed(opened: Sequence[Any], resolved_ids: Sequence[int]) -> None:
    """The finding listener: raise, reuse or re-open automatic queries for ``opened``
    findings, close those of ``resolved_ids``. Runs in the writer's transaction (no
    savepoint of its own); a handful of queries per call whatever the number of
    findings."""
    with transaction.atomic(savepoint=False):
        if opened:
            raise_automatic_queries(opened)
        if resolved_ids:
            close_automatic_queries(resolved_ids)


def raise_automatic_queries(findings: Sequence[Any]) -> list[Query]:
    """Automatic queries for open findings (saved CheckFinding rows, or rows of the
    migration's historical model): new, reused or re-opened as the module says. Returns
    the queries raised or touched. A constant handful of SQL queries for any number of
    new findings (reuse and re-opening, rare, cost a few more each)."""
    from data_management.queries import _audit_rows

    findings = [f for f in findings if f.pk is not None]
    if not findings:
        return []
    places = {_place(f): f for f in findings}
    lookup = Q()
    for model, object_id in {(m, i) for m, i, _c, _v in places}:
        lookup |= Q(object_model=model, object_id=object_id)
    existing: dict[PlaceKey, Query] = {}
    # The place of an existing automatic query is that of its finding (its own variable
    # may be blank: a finding on no form variable sits on the whole form or row).
    for known in (
        Query.objects.filter(lookup, origin=QueryOrigin.AUTOMATIC)
        .annotate(finding_variable=F("finding__variable"))
        .order_by("id")
    ):
        variable = known.finding_variable or known.variable
        existing[(known.object_model, known.object_id, known.check_code, variable)] = known

    now = timezone.now()
    created: list[Query] = []
    touched: list[Query] = []
    steps: list[tuple[Query, str, str]] = []  # (query, step, old status)
    for key, finding in places.items():
        query = existing.get(key)
        if query is None:
            group, row_key, variable = _where(finding)
            created.append(
                Query(
                    subject_id=finding.subject_id,
                    form_code=finding.form_code,
                    visit_code=finding.visit_code,
                    object_model=finding.object_model,
                    object_id=finding.object_id,
                    group=group,
                    row_key=row_key,
                    variable=variable,
                    origin=QueryOrigin.AUTOMATIC,
                    check_code=finding.check_code,
                    finding_id=finding.pk,
                    status=QueryStatus.OPEN,
                    text=finding.message,
                    raised_by=None,
                    raised_at=now,
                )
            )
            continue
        touched.append(query)
        if query.finding_id == finding.pk:
            continue  # already this finding's query (the migration run twice)
        query.finding_id = finding.pk
        fields = ["finding"]
        if query.status == QueryStatus.CLOSED:  # the problem came back: one thread
            steps.append((query, QueryStep.REOPEN, query.status))
            query.status = QueryStatus.OPEN
            query.closed_at = None
            query.closed_by = None
            fields += ["status", "closed_at", "closed_by"]
        query.save(update_fields=fields)
    if created:
        created = Query.objects.bulk_create(created)
        steps = [(q, QueryStep.RAISE, "") for q in created] + steps
    if steps:
        messages = {f.pk: f.message for f in findings}
        texts = {q.pk: messages[q.finding_id] for q, _step, _old in steps}
        QueryMessage.objects.bulk_create(
            [
                QueryMessage(
                    query=q,
                    step=step,
                    author=None,
                    at=now,
                    text=texts[q.pk],
                    status_after=q.status,
                )
                for q, step, _old in steps
            ]
        )
        audit.append(
            [
                row
                for q, _step, old in steps
                for row in _audit_rows(q, [(None, now, old, q.status, texts[q.pk])])
            ]
        )
    return [*created, *touched]


def close_automatic_queries(finding_ids: Sequence[int]) -> list[Query]:
    """Close the automatic queries of resolved findings (unless already closed): step
    AUTO_CLOSE by the system with its audit entry. Returns the queries closed."""
    from data_management.queries import _audit_rows

    queries = list(
        Query.objects.select_for_update()
        .filter(finding_id__in=list(finding_ids), origin=QueryOrigin.AUTOMATIC)
        .exclude(status=QueryStatus.CLOSED)
        .order_by("id")
    )
    if not queries:
        return []
    now = timezone.now()
    text = auto_close_text()
    olds = {q.pk: q.status for q in queries}
    Query.objects.filter(pk__in=list(olds)).update(
        status=QueryStatus.CLOSED, closed_at=now, closed_by=None
    )
    for query in queries:
        query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, now, None
    QueryMessage.objects.bulk_create(
        [
            QueryMessage(
                query=q,
                step=QueryStep.AUTO_CLOSE,
                author=None,
                at=now,
                text=text,
                status_after=QueryStatus.CLOSED,
            )
            for q in queries
        ]
    )
    audit.append(
        [
            row
            for q in queries
            for row in _audit_rows(q, [(None, now, olds[q.pk], QueryStatus.CLOSED, text)])
        ]
    )
    return queries
