"""The bench's table (benchmarks/report.py): which line meets its target, and how it reads."""

from __future__ import annotations

from benchmarks.report import query_growth, scenario_row, scenario_table, timing_table
from benchmarks.stats import Summary


def _summary(p95_ms: float, *, errors: int = 0, requests: int = 100) -> Summary:
    return Summary(
        requests, errors, 25.0, p95_ms / 2, p95_ms, p95_ms * 1.2, p95_ms * 1.5, (p95_ms,)
    )


def _row(app: Summary, base: Summary, **kwargs: object) -> dict[str, object]:
    defaults: dict[str, object] = {
        "database": "PostgreSQL",
        "name": "save vital signs",
        "users": 20,
        "target": "2x",
        "queries": 22,
        "baseline_queries": 7,
    }
    return scenario_row(app=app, baseline=base, **{**defaults, **kwargs})  # type: ignore[arg-type]


def test_a_save_within_twice_the_bare_p95_meets_its_target() -> None:
    row = _row(_summary(40.0), _summary(20.0))

    assert (row["ratio_p95"], row["met"]) == (2.0, True)


def test_a_save_over_twice_the_bare_p95_does_not() -> None:
    row = _row(_summary(41.0), _summary(20.0))

    assert (row["ratio_p95"], row["met"]) == (2.05, False)


def test_a_failed_request_or_a_missing_audit_entry_fails_the_line_whatever_its_speed() -> None:
    assert _row(_summary(10.0, errors=1), _summary(20.0))["met"] is False
    audit = {"saves": 10, "audited": 9, "ok": False}
    assert _row(_summary(10.0), _summary(20.0), audit=audit)["met"] is False


def test_a_study_size_page_is_held_to_300_ms_whatever_the_baseline() -> None:
    fast_enough = _row(_summary(290.0), _summary(10.0), name="safety page", target="300ms")
    too_slow = _row(_summary(310.0), _summary(500.0), name="safety page", target="300ms")

    assert (fast_enough["met"], too_slow["met"]) == (True, False)


def test_scenario_table_prints_one_line_per_scenario_and_users() -> None:
    row = _row(_summary(256.0, errors=2), _summary(40.0))

    lines = scenario_table([row]).splitlines()

    assert lines[0] == (
        "| database | scenario | users | req/s | p50 ms | p95 ms | p99 ms | SQL/req "
        "| bare p95 ms | ratio p95 | target | met |"
    )
    assert lines[2] == (
        "| PostgreSQL | save vital signs (2 failed) | 20 | 25.0 | 128 | 256 | 307 | 22 "
        "| 40.0 | 6.4× | ≤ 2× bare | **no** |"
    )


def test_timing_table_marks_a_step_over_its_target_and_a_failed_one() -> None:
    rows = [
        {
            "database": "PostgreSQL",
            "step": "seed_demo",
            "seconds": 21.2,
            "maxrss_mb": 79.4,
            "target_s": 15,
            "ok": True,
        },
        {
            "database": "PostgreSQL",
            "step": "import",
            "seconds": None,
            "target_s": 300,
            "ok": False,
            "error": "did not finish in 600 s",
        },
    ]

    lines = timing_table(rows).splitlines()

    assert lines[2] == "| PostgreSQL | seed_demo | 21.2 | 79 | ≤ 15 s | **no** |"
    assert (
        lines[3] == "| PostgreSQL | import | — (did not finish in 600 s) | — | ≤ 300 s | **no** |"
    )


def test_query_growth_names_a_page_whose_count_differs_between_study_sizes() -> None:
    rows = [
        _row(_summary(10.0), _summary(5.0), name="safety page", users=1, queries=10),
        _row(_summary(10.0), _summary(5.0), name="deviations", users=1, queries=12),
        # the same study on another database is not a growth
        _row(
            _summary(10.0), _summary(5.0), name="deviations", users=1, queries=7, database="SQLite"
        ),
        _row(
            _summary(10.0),
            _summary(5.0),
            name="safety page",
            users=1,
            queries=10,
            database="PostgreSQL, 2,000 subjects",
        ),
        _row(
            _summary(10.0),
            _summary(5.0),
            name="deviations",
            users=1,
            queries=14,
            database="PostgreSQL, 2,000 subjects",
        ),
    ]

    assert query_growth(rows) == [
        "SQL queries of deviations: 12 (PostgreSQL), 14 (PostgreSQL, 2,000 subjects)."
    ]
