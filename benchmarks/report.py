"""The bench's table: rows from the phases' results, as Markdown (printed, written to
bench/results/ and put in the README) and JSON. Pure: no Django, no HTTP."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.stats import Summary, ratio

# "2x": p95 within twice the bare-Django baseline's p95 of the same run (the saves,
# subject page and worklist); "300ms": p95 ≤ 300 ms (its pages at 2,000 subjects).
TARGETS = {"2x": "≤ 2× bare", "300ms": "≤ 300 ms"}


def scenario_row(
    *,
    database: str,
    name: str,
    users: int,
    app: Summary,
    baseline: Summary,
    target: str,
    queries: int | None,
    baseline_queries: int | None,
    notes: Sequence[str] = (),
    audit: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One line of the table, with whether its target is met: the p95 within the target
    and no failed request (a refused save or an error page is not fast)."""
    p95_ratio = ratio(app.p95_ms, baseline.p95_ms)
    if target == "300ms":
        within = not math.isnan(app.p95_ms) and app.p95_ms <= 300
    else:
        within = p95_ratio is not None and p95_ratio <= 2
    audited = audit is None or bool(audit.get("ok"))
    return {
        "database": database,
        "scenario": name,
        "users": users,
        "app": _summary(app),
        "baseline": _summary(baseline),
        "ratio_p95": p95_ratio,
        "target": target,
        "met": within and app.errors == 0 and app.requests > 0 and audited,
        "queries": queries,
        "baseline_queries": baseline_queries,
        "notes": list(notes),
        "audit": dict(audit) if audit is not None else None,
    }


def _summary(s: Summary) -> dict[str, Any]:
    return {
        "requests": s.requests,
        "errors": s.errors,
        "per_second": s.per_second,
        "p50_ms": s.p50_ms,
        "p95_ms": s.p95_ms,
        "p99_ms": s.p99_ms,
        "max_ms": s.max_ms,
        "round_p95_ms": list(s.round_p95_ms),
    }


def fmt_ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×"


def scenario_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown table: one line per scenario and number of users."""
    head = (
        "| database | scenario | users | req/s | p50 ms | p95 ms | p99 ms | SQL/req "
        "| bare p95 ms | ratio p95 | target | met |"
    )
    lines = [head, "|" + "---|" * 12]
    for row in rows:
        app, base = row["app"], row["baseline"]
        errors = f" ({app['errors']} failed)" if app["errors"] else ""
        queries = "—" if row["queries"] is None else str(row["queries"])
        lines.append(
            f"| {row['database']} | {row['scenario']}{errors} | {row['users']} "
            f"| {app['per_second']:.1f} | {fmt_ms(app['p50_ms'])} | {fmt_ms(app['p95_ms'])} "
            f"| {fmt_ms(app['p99_ms'])} | {queries} | {fmt_ms(base['p95_ms'])} "
            f"| {fmt_ratio(row['ratio_p95'])} | {TARGETS.get(row['target'], row['target'])} "
            f"| {'yes' if row['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def timing_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Setup and study data file times: what a person waits for at the command line."""
    lines = [
        "| database | step | seconds | peak memory MB | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        seconds = row.get("seconds")
        shown = "—" if seconds is None else f"{seconds:.1f}"
        if not row.get("ok", True):
            shown += f" ({row.get('error') or 'failed'})"
        memory = row.get("maxrss_mb")
        target = row.get("target_s")
        met = (
            ""
            if target is None
            else (
                "yes"
                if row.get("ok", True) and seconds is not None and seconds <= target
                else "**no**"
            )
        )
        lines.append(
            f"| {row['database']} | {row['step']} | {shown} "
            f"| {'—' if memory is None else f'{memory:,.0f}'} "
            f"| {'' if target is None else f'≤ {target:g} s'} | {met} |"
        )
    return "\n".join(lines)


def machine_line(machine: Mapping[str, Any]) -> str:
    parts = [
        f"{machine.get('cpus')} CPUs ({machine.get('cpu_model')})",
        f"{machine.get('memory_gb', '?')} GB",
        f"Python {machine.get('python')}",
        f"Django {machine.get('django', '?')}",
    ]
    if machine.get("postgresql"):
        parts.append(f"PostgreSQL {machine['postgresql']}")
    if machine.get("sqlite"):
        parts.append(f"SQLite {machine['sqlite']}")
    return ", ".join(parts)


def query_growth(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Scenarios whose SQL queries per request differ between the demo's 28 subjects and
    the synthetic study (a database labelled "…, N subjects"): a count that grows with
    the study. Compared with the first database that ran the scenario at the demo size."""
    demo: dict[str, Mapping[str, Any]] = {}
    found = []
    for row in rows:
        if row["users"] != 1 or row["queries"] is None:
            continue
        if "subjects" not in row["database"]:
            demo.setdefault(row["scenario"], row)
        elif (seen := demo.get(row["scenario"])) is not None and seen["queries"] != row["queries"]:
            found.append(
                f"SQL queries of {row['scenario']}: {seen['queries']} ({seen['database']}), "
                f"{row['queries']} ({row['database']})."
            )
    return found


def markdown(result: Mapping[str, Any]) -> str:
    """The whole report: what ran where, the two tables, what was not met, notes."""
    machine = result["machine"]
    out = [
        f"# `make bench` — {result['started']}{' (BENCH_QUICK)' if result.get('quick') else ''}",
        "",
        f"Machine: {machine_line(machine)}. Code: {result.get('git', '?')}.",
        "",
        "Server: gunicorn, 2 workers × 4 threads, DEBUG off, manifest static files, "
        "Redis cache with PostgreSQL; driven from a second process on 127.0.0.1 (httpx, one "
        "session per user). Bare = a bare-Django app in the same project and run, behind "
        "the same middleware, login and CSRF (benchmarks/baseline): a list of 28 rows for "
        "reads, a small validated form saving one row for saves; its runs interleaved with "
        f"the app's ({result['plan']['rounds']} round(s) of up to {result['plan']['seconds']:g} s "
        f"or {result['plan']['max_requests']} requests each). p50/p95/p99 over every "
        "request of the rounds; saves time the POST only (the form page is read first, "
        "untimed). SQL/req: the same request once more in-process (Django's test client, "
        "CaptureQueriesContext).",
        "",
        scenario_table(result["rows"]),
        "",
        timing_table(result["timings"]),
    ]
    missed = [r for r in result["rows"] if not r["met"]]
    if missed:
        out += ["", "Not met:", ""]
        for row in missed:
            why = (
                f"p95 {fmt_ms(row['app']['p95_ms'])} ms = {fmt_ratio(row['ratio_p95'])} the bare "
                f"{fmt_ms(row['baseline']['p95_ms'])} ms"
                if row["target"] == "2x"
                else f"p95 {fmt_ms(row['app']['p95_ms'])} ms"
            )
            if row["app"]["errors"]:
                why += f"; {row['app']['errors']} failed: {'; '.join(row['notes'][:2])}"
            if row.get("audit") and not row["audit"].get("ok"):
                why += f"; audit check {row['audit']}"
            out.append(f"- {row['database']}, {row['scenario']}, {row['users']} user(s): {why}")
    notes = [*result.get("notes", []), *query_growth(result["rows"])]
    if notes:
        out += ["", *[f"- {note}" for note in notes]]
    return "\n".join(out) + "\n"
