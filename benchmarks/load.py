"""A phase's measurements, once its data is built and Django is set up (benchmarks/run.py):
gunicorn started, users signed in, every scenario run against the app and the baseline
in interleaved rounds, saves checked against the audit trail, then each scenario's SQL
queries counted in-process and the audit trail's hash chains verified."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from benchmarks import report, scenarios
from benchmarks.driver import HttpxHttp, Step, run_round, sign_in
from benchmarks.stats import Round, summarise

if TYPE_CHECKING:
    from benchmarks.run import Phase


class Users:
    """Signed-in users of the server, by username; a scenario of N users takes the first
    N/len(usernames) of each (20 users = 10 investigators of each site, own sessions)."""

    def __init__(self, base_url: str, password: str) -> None:
        self.base_url = base_url
        self.password = password
        self.pool: dict[str, list[HttpxHttp]] = {}

    def take(self, usernames: Sequence[str], count: int) -> list[HttpxHttp]:
        taken = []
        for user in range(count):
            name = usernames[user % len(usernames)]
            sessions = self.pool.setdefault(name, [])
            index = user // len(usernames)
            while len(sessions) <= index:
                http = HttpxHttp(self.base_url)
                sign_in(http, name, self.password)
                sessions.append(http)
            taken.append(sessions[index])
        return taken

    def close(self) -> None:
        for sessions in self.pool.values():
            for http in sessions:
                http.close()


def clear_figures() -> None:
    """A cold read of the outcomes figures: nothing drawn in the figure cache."""
    from outcomes import figure_cache

    figure_cache.cache().clear()


def chosen(phase: Phase) -> list[scenarios.Scenario]:
    from benchmarks.run import SYNTHETIC_300MS

    spec = phase.spec
    if spec.data == "synthetic":
        listed = [
            scenarios.Scenario(
                "subject page",
                1,
                "read",
                ("datamanager",),
                scenarios.read_step(_first_subject_page()),
            ),
            scenarios.Scenario(
                "worklist",
                1,
                "read",
                ("investigator",),
                scenarios.read_step(_path("visits:worklist")),
            ),
            *scenarios.single_user_pages(clear_figures),
        ]
        for scenario in listed:
            if scenario.name in SYNTHETIC_300MS:
                scenario.target = "300ms"
        return listed
    study = scenarios.discover()
    listed = scenarios.demo_scenarios(
        study, concurrency=spec.plan.concurrency, clear_figures=clear_figures
    )
    if spec.only:
        listed = [s for s in listed if (s.name, s.users) in set(spec.only)]
    return listed


def _path(name: str) -> Any:
    from django.urls import reverse

    path = reverse(name)
    return lambda user, i: path


def _first_subject_page() -> Any:
    """The subject with the most forms: the page that would grow with a history."""
    from django.db.models import Count
    from django.urls import reverse

    from study.models import Subject

    subject = (
        Subject.objects.annotate(n=Count("visits"))
        .order_by("-n", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    path = reverse("crf:subject_detail", kwargs={"subject_pk": subject})
    return lambda user, i: path


def run(phase: Phase) -> dict[str, Any]:
    from benchmarks.run import Server
    from study.demo import DEMO_PASSWORD

    plan = phase.spec.plan
    listed = chosen(phase)
    server = Server(phase.env, phase.var / "gunicorn.log")
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        server.wait_ready()
        users = Users(server.url, DEMO_PASSWORD)
        bare = {"read": scenarios.baseline_read_step(), "save": scenarios.baseline_save_step()}
        for scenario in listed:
            print(f"  {scenario.name}, {scenario.users} user(s) ...", end=" ", flush=True)
            sessions = users.take(scenario.usernames, scenario.users)
            seconds = scenario.seconds or plan.seconds
            limit = scenario.max_requests or plan.max_requests
            # warm: each worker has imported, compiled and cached what the page needs
            run_round(sessions, scenario.step, max_requests=max(2, scenario.users), max_seconds=60)
            run_round(
                sessions, bare[scenario.kind], max_requests=max(2, scenario.users), max_seconds=60
            )
            if scenario.log is not None:
                scenario.log.changes.clear()
            since = timezone.now()
            app_rounds: list[Round] = []
            bare_rounds: list[Round] = []
            for _ in range(plan.rounds):
                app_rounds.append(
                    run_round(sessions, scenario.step, max_requests=limit, max_seconds=seconds)
                )
                bare_rounds.append(
                    run_round(
                        sessions,
                        bare[scenario.kind],
                        max_requests=plan.max_requests,
                        max_seconds=plan.seconds,
                    )
                )
            audit = None
            if scenario.log is not None:
                check = scenarios.verify_audit(scenario.log, scenario.form, since)
                audit = {**check.__dict__, "ok": check.ok}
            app, base = summarise(app_rounds), summarise(bare_rounds)
            failures = sorted(
                {s.note for r in app_rounds + bare_rounds for s in r.samples if not s.ok}
            )
            print(
                f"p95 {report.fmt_ms(app.p95_ms)} ms (bare {report.fmt_ms(base.p95_ms)} ms), "
                f"{app.requests} requests{f', {app.errors} failed' if app.errors else ''}"
                f"{f', bare {base.errors} failed' if base.errors else ''}",
                flush=True,
            )
            rows.append(
                {
                    "scenario": scenario,
                    "app": app,
                    "baseline": base,
                    "notes": failures[:5],
                    "audit": audit,
                }
            )
        users.close()
    finally:
        server.stop()

    print("  SQL queries per request (in-process) ...", flush=True)
    counts = count_queries(listed, DEMO_PASSWORD)
    table_rows = [
        report.scenario_row(
            database=phase.spec.database,
            name=row["scenario"].name,
            users=row["scenario"].users,
            app=row["app"],
            baseline=row["baseline"],
            target=row["scenario"].target,
            queries=counts.get(row["scenario"].name),
            baseline_queries=counts.get(f"bare {row['scenario'].kind}"),
            notes=row["notes"],
            audit=row["audit"],
        )
        for row in rows
    ]
    phase.command("audit trail hash chains (verify_audit)", ["verify_audit"])
    return {"rows": table_rows, "notes": notes, "timings": []}


def count_queries(listed: Sequence[scenarios.Scenario], password: str) -> dict[str, int | None]:
    """Each scenario's step once more in-process, the second time counted (the first
    fills what a running server has cached); the baseline's read and save too."""
    counted: dict[str, int | None] = {}
    steps: list[tuple[str, Step, str]] = [
        (s.name, s.count_step or s.step, s.usernames[0]) for s in listed
    ]
    steps += [
        ("bare read", scenarios.baseline_read_step(), listed[0].usernames[0]),
        ("bare save", scenarios.baseline_save_step(), listed[0].usernames[0]),
    ]
    signed_in: dict[str, scenarios.DjangoHttp] = {}
    for name, step, username in steps:
        if name in counted:
            continue
        if username not in signed_in:
            http = scenarios.DjangoHttp()
            sign_in(http, username, password)
            signed_in[username] = http
        http = signed_in[username]
        step(http, 0, 0)
        sample = step(http, 0, 1)
        counted[name] = sample.queries if sample.ok else None
        print(
            f"    {name}: {sample.queries}{'' if sample.ok else ' (failed: ' + sample.note + ')'}"
        )
    return counted
