"""`make bench`: the EDC under gunicorn against a bare-Django baseline, in the same run.

    python -m benchmarks.run                # full: PostgreSQL, SQLite, 2,000 synthetic subjects
    BENCH_QUICK=1 python -m benchmarks.run  # ~3 minutes: PostgreSQL, one short round
    python -m benchmarks.run --subjects 200 --databases postgres

Each database is a *phase* in a process of its own (its settings are read at start-up):
reset a database of the bench's own (``edc_bench``; the SQLite default in var/bench/),
migrate, collectstatic, build the data (``seed_demo``, timed; the demo's study data file
exported and imported into an empty database, timed), start gunicorn (2 workers × 4
threads, DEBUG off, manifest static files, Redis when reachable) with the bare-Django
baseline mounted (EDC_BENCH_BASELINE=1), sign users in, and run every scenario from this
process on 127.0.0.1 (benchmarks/driver.py), each round of the app followed by a round of
the baseline; then count each scenario's SQL queries in-process and check the audit
trail. The parent merges the phases into one table: printed, and written to
bench/results/ (latest.json, latest.md and a timestamped copy of each).

Environment: BENCH_QUICK=1; BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/edc_bench, dropped and recreated with ``_import`` and
``_synthetic`` beside it); BENCH_REDIS_URL (default redis://127.0.0.1:6379/15, flushed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
VAR = ROOT / "var" / "bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edc_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
SYNTHETIC_COMMAND = "synthetic_study"
NO_GENERATOR = "skipped: no synthetic generator yet"


@dataclass(frozen=True)
class Plan:
    rounds: int  # app round, baseline round, app round, ... (interleaved)
    seconds: float  # a round lasts at most this long ...
    max_requests: int  # ... or this many requests
    concurrency: tuple[int, ...] = (1, 20)


QUICK = Plan(rounds=1, seconds=2.0, max_requests=60)
FULL = Plan(rounds=3, seconds=4.0, max_requests=300)

# SQLite (the `make run` default) where it is cheap: one round of the scenarios people
# wait for most.
SQLITE_SCENARIOS = {
    ("subject page", 1),
    ("subject page", 20),
    ("worklist", 1),
    ("save vital signs", 1),
    ("save vital signs", 20),
    ("save AE", 1),
}
# At 2,000 subjects: the pages that read the whole study (p95 ≤ 300 ms), and the two
# pages that must not grow with it.
SYNTHETIC_300MS = (
    "outcomes page",
    "outcomes page + 5 figures, cold",
    "outcomes page + 5 figures, warm",
    "enrolment dashboard",
    "safety page",
    "deviations",
    "subject list",
    "status matrix",
)

# Targets of the issue for the command-line steps, in seconds.
SEED_DEMO_TARGET = 15
DEMO_IMPORT_TARGET = 5
DEMO_EXPORT_TARGET = 2
SYNTHETIC_IMPORT_TARGET = 300
SYNTHETIC_EXPORT_TARGET = 60


@dataclass(frozen=True)
class PhaseSpec:
    name: str  # a directory name under var/bench/
    database: str  # as the table shows it
    database_url: str  # "" = the SQLite default in EDC_VAR_DIR
    import_database_url: str  # PostgreSQL: the empty database the demo file is imported into
    redis_url: str  # "" = none (locmem and the file-system broker, as `make run`)
    data: str  # "demo" or "synthetic"
    plan: Plan
    secret_key: str
    subjects: int = 0
    builder: str = "command"  # synthetic: "command" (SYNTHETIC_COMMAND) or "demo-builders"
    only: tuple[tuple[str, int], ...] = ()  # (scenario, users) to run; () = all
    timeouts: dict[str, float] = field(default_factory=dict)


# --- the parent -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", default=_env_flag("BENCH_QUICK"))
    parser.add_argument(
        "--databases", help="postgres,sqlite (default: both; postgres only when quick)"
    )
    parser.add_argument(
        "--subjects",
        type=int,
        help="synthetic subjects for the study-size pages (default 2000; 0 when quick)",
    )
    parser.add_argument(
        "--synthetic-builder",
        choices=["command", "demo-builders"],
        default="command",
        help=f"'command': manage.py {SYNTHETIC_COMMAND} then import_study_data; "
        "'demo-builders': the demo's builders in a loop (slow; to try the harness at a "
        "small size)",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)  # the child: a PhaseSpec as JSON
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--render", metavar="JSON", help="print the table of a results file")
    args = parser.parse_args(argv)
    if args.phase:
        return run_phase(_spec_from_json(args.phase))
    if args.render:
        print(report.markdown(json.loads(Path(args.render).read_text())), end="")
        return 0

    plan = QUICK if args.quick else FULL
    databases = (args.databases or ("postgres" if args.quick else "postgres,sqlite")).split(",")
    subjects = args.subjects if args.subjects is not None else (0 if args.quick else 2000)
    started = dt.datetime.now().astimezone()
    machine = machine_info()
    notes: list[str] = []
    pg_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    pg_version = postgres_version(pg_url)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    if not redis_reachable(redis_url):
        notes.append(f"Redis not reachable at {redis_url}: the cache is per process.")
        redis_url = ""
    key = secrets.token_urlsafe(50)
    phases: list[PhaseSpec] = []
    if "postgres" in databases:
        if pg_version is None:
            notes.append(f"PostgreSQL not reachable at {_safe(pg_url)}: skipped.")
        else:
            machine["postgresql"] = pg_version
            phases.append(
                PhaseSpec(
                    "postgres",
                    "PostgreSQL",
                    pg_url,
                    _database_named(pg_url, "_import"),
                    redis_url,
                    "demo",
                    plan,
                    key,
                )
            )
    if "sqlite" in databases:
        only = tuple(sorted(SQLITE_SCENARIOS))
        phases.append(
            PhaseSpec(
                "sqlite", "SQLite", "", "", "", "demo", replace(plan, rounds=1), key, only=only
            )
        )
    if subjects:
        synthetic_url = _database_named(pg_url, "_synthetic") if pg_version else ""
        label = f"{'PostgreSQL' if pg_version else 'SQLite'}, {subjects:,} subjects"
        spec = PhaseSpec(
            "synthetic",
            label,
            synthetic_url,
            "",
            redis_url if pg_version else "",
            "synthetic",
            replace(plan, concurrency=(1,)),
            key,
            subjects=subjects,
            builder=args.synthetic_builder,
            timeouts={"import": float(os.environ.get("BENCH_SYNTHETIC_TIMEOUT", "600"))},
        )
        if args.synthetic_builder == "demo-builders" or has_command(SYNTHETIC_COMMAND):
            phases.append(spec)
        else:
            print(f"{label}: {NO_GENERATOR} (manage.py {SYNTHETIC_COMMAND})", flush=True)
            notes.append(f"{label}: {NO_GENERATOR} (manage.py {SYNTHETIC_COMMAND}).")

    rows: list[dict[str, Any]] = []
    timings: list[dict[str, Any]] = []
    for spec in phases:
        print(f"\n== {spec.database} ==", flush=True)
        outcome = launch_phase(spec)
        rows += outcome.get("rows", [])
        timings += outcome.get("timings", [])
        notes += outcome.get("notes", [])
        if outcome.get("sqlite"):
            machine["sqlite"] = outcome["sqlite"]
    result = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "plan": asdict(plan),
        "machine": machine,
        "git": git_describe(),
        "rows": rows,
        "timings": timings,
        "notes": notes,
    }
    text = report.markdown(result)
    print("\n" + text, flush=True)
    if not args.no_write:
        write_results(result, text, started)
    return 0


def launch_phase(spec: PhaseSpec) -> dict[str, Any]:
    """The phase in a process of its own; its result, or what went wrong."""
    out = VAR / spec.name / "result.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.run", "--phase", json.dumps(asdict(spec))]
    completed = subprocess.run(command, cwd=ROOT, check=False)
    if completed.returncode != 0 or not out.exists():
        return {"notes": [f"{spec.database}: the phase failed (exit {completed.returncode})."]}
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def write_results(result: Mapping[str, Any], text: str, started: dt.datetime) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y-%m-%dT%H%M%S")
    payload = json.dumps(_no_nan(result), indent=2, default=str, ensure_ascii=False)
    for name in ("latest", stamp):
        (RESULTS_DIR / f"{name}.json").write_text(payload + "\n", encoding="utf-8")
        (RESULTS_DIR / f"{name}.md").write_text(text, encoding="utf-8")
    print(f"Written: {RESULTS_DIR / 'latest.md'} (and {stamp}.md/.json)")


def _no_nan(value: Any) -> Any:
    """NaN (no successful request) as null: JSON has no NaN."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, Mapping):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def machine_info() -> dict[str, Any]:
    import django

    model = "?"
    memory_gb: float | str = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "django": django.get_version(),
        "platform": platform.platform(),
    }


def git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h %cs"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def postgres_version(url: str) -> str | None:
    """The server's version, or None when it cannot be reached."""
    import psycopg

    try:
        with psycopg.connect(_database_named(url, "", name="postgres"), connect_timeout=3) as c:
            row = c.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]).split()[0] if row else None


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def has_command(name: str) -> bool:
    """Whether ``manage.py help`` lists the command (another engineer's, maybe not yet)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "trial_edc.settings"}
    listed = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return name in listed


def _database_named(url: str, suffix: str, *, name: str | None = None) -> str:
    parts = urlsplit(url)
    database = name if name is not None else parts.path.lstrip("/") + suffix
    return urlunsplit(parts._replace(path="/" + database))


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _spec_from_json(raw: str) -> PhaseSpec:
    data = json.loads(raw)
    data["plan"] = Plan(**{**data["plan"], "concurrency": tuple(data["plan"]["concurrency"])})
    data["only"] = tuple(tuple(item) for item in data["only"])
    return PhaseSpec(**data)


# --- a phase (child process) ----------------------------------------------------------------


def phase_env(spec: PhaseSpec, *, var: Path, database_url: str | None = None) -> dict[str, str]:
    """Production's settings (DEBUG off, manifest static files, a secret key), the
    bench's database, var directory and cache, and the baseline switched on. Empty values
    keep a developer's .env from putting its own database or Redis underneath."""
    env = {k: v for k, v in os.environ.items() if k != "EDC_STATICFILES_STORAGE"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "trial_edc.settings",
            "EDC_BENCH_BASELINE": "1",
            "DJANGO_DEBUG": "0",
            "EDC_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": spec.secret_key,
            "DJANGO_LOG_LEVEL": "WARNING",
            "EDC_VAR_DIR": str(var),
            "DATABASE_URL": spec.database_url if database_url is None else database_url,
            "REDIS_URL": spec.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
    )
    return env


@dataclass
class Phase:
    spec: PhaseSpec
    var: Path
    env: dict[str, str]
    timings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def command(
        self,
        step: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        target_s: float | None = None,
        timeout: float = 900,
        record: bool = True,
    ) -> bool:
        """``manage.py`` ARGS in a process of its own, timed by the wall clock (start-up
        included) with its peak memory; a row of the timing table when ``record``."""
        print(f"  {step} ...", end=" ", flush=True)
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.command", *args],
                cwd=ROOT,
                env=dict(env or self.env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            seconds: float | None = time.perf_counter() - started
            ok, stderr = done.returncode == 0, done.stderr
        except subprocess.TimeoutExpired as expired:
            seconds, ok = None, False
            partial = expired.stderr or ""
            if isinstance(partial, bytes):
                partial = partial.decode(errors="replace")
            stderr = f"did not finish in {timeout:.0f} s\n{partial}"
        peak = [line for line in stderr.splitlines() if line.startswith("BENCH_MAXRSS_KB=")]
        maxrss_mb = int(peak[-1].split("=")[1]) / 1024 if peak else None
        error = ""
        if not ok:
            lines = [
                line for line in stderr.splitlines() if line.strip() and "BENCH_MAXRSS" not in line
            ]
            error = lines[-1][:200] if lines else "failed"
        print(
            f"{'—' if seconds is None else f'{seconds:.1f} s'}{'' if ok else ' FAILED: ' + error}"
        )
        if record:
            self.timings.append(
                {
                    "database": self.spec.database,
                    "step": step,
                    "seconds": seconds,
                    "maxrss_mb": maxrss_mb,
                    "target_s": target_s,
                    "ok": ok,
                    "error": error,
                }
            )
        return ok


def run_phase(spec: PhaseSpec) -> int:
    var = VAR / spec.name
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    env = phase_env(spec, var=var)
    phase = Phase(spec, var, env)
    if spec.database_url:
        recreate_postgres(spec.database_url)
    if spec.redis_url:
        import redis

        redis.Redis.from_url(spec.redis_url).flushdb()
    if not phase.command("migrate", ["migrate", "--noinput", "-v0"]):
        return 1
    phase.command("collectstatic", ["collectstatic", "--noinput", "-v0"], record=False)
    if spec.data == "demo":
        build_demo(phase)
    else:
        build_synthetic(phase)

    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from benchmarks import load

    result = load.run(phase)
    result["timings"] = phase.timings + result.get("timings", [])
    result["notes"] = phase.notes + result.get("notes", [])
    if connection.vendor == "sqlite":
        import sqlite3

        result["sqlite"] = sqlite3.sqlite_version
    (var / "result.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


def recreate_postgres(url: str, *, template: str | None = None) -> None:
    """Drop the bench's database (never anyone else's: its name is the bench's) and
    create it anew, empty or as a copy of ``template``."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_database_named(url, "", name="postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        c.execute(create)


SEED_PEOPLE = "from study.demo import seed_people; seed_people()"


def build_demo(phase: Phase) -> None:
    """The demo study by ``seed_demo`` (timed), its study data file exported (timed) and
    imported into an empty database of its own (timed), as a data manager would."""
    spec = phase.spec
    import_var = phase.var.parent / f"{spec.name}-import"
    shutil.rmtree(import_var, ignore_errors=True)
    import_var.mkdir(parents=True)
    if spec.import_database_url:
        template = urlsplit(spec.database_url).path.lstrip("/")
        recreate_postgres(spec.import_database_url, template=template)  # migrated, empty
        import_env = phase_env(spec, var=import_var, database_url=spec.import_database_url)
    else:
        shutil.copy(phase.var / "edc.sqlite3", import_var / "edc.sqlite3")
        import_env = phase_env(spec, var=import_var)
    phase.command("seed_demo", ["seed_demo"], target_s=SEED_DEMO_TARGET, timeout=900)
    datafile = phase.var / "demo-study.json"
    phase.command(
        "export of the demo study data file",
        ["export_study_data", str(datafile)],
        target_s=DEMO_EXPORT_TARGET,
    )
    phase.command("people", ["shell", "-c", SEED_PEOPLE], env=import_env, record=False)
    phase.command(
        "import of the demo study data file into an empty database",
        ["import_study_data", str(datafile), "--reason", "make bench"],
        env=import_env,
        target_s=DEMO_IMPORT_TARGET,
        timeout=900,
    )


def build_synthetic(phase: Phase) -> None:
    """N synthetic subjects: the generator's file imported (both timed), then exported
    (timed); or, to try the harness, the demo's builders in a loop."""
    spec = phase.spec
    phase.command("people", ["shell", "-c", SEED_PEOPLE], record=False)
    if spec.builder == "demo-builders":
        code = f"from benchmarks.synthetic import build; build({spec.subjects})"
        phase.command(f"{spec.subjects} subjects by the demo builders", ["shell", "-c", code])
        return
    datafile = phase.var / "synthetic-study.json"
    made = phase.command(
        f"{SYNTHETIC_COMMAND} --subjects {spec.subjects}",
        [SYNTHETIC_COMMAND, "--subjects", str(spec.subjects), "-o", str(datafile)],
        timeout=900,
    )
    if not made:
        return
    phase.command(
        f"import of {spec.subjects:,} subjects",
        ["import_study_data", str(datafile), "--reason", "make bench"],
        target_s=SYNTHETIC_IMPORT_TARGET,
        timeout=spec.timeouts.get("import", 600),
    )
    phase.command(
        f"export of {spec.subjects:,} subjects",
        ["export_study_data", str(phase.var / "exported.json")],
        target_s=SYNTHETIC_EXPORT_TARGET,
    )


# --- gunicorn -------------------------------------------------------------------------------


class Server:
    """gunicorn as production runs it (scripts/serve, docker-compose): 2 workers × 4 threads."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "trial_edc.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.log = log

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/accounts/login/", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
