"""The bench's scenarios, written once as steps over ``driver.Http``: run by N users against
gunicorn, and once more in-process to count their SQL queries. Needs Django set up (the
phase process of benchmarks/run.py, on the database gunicorn serves).

Saves change one value each time (a new version of the form, audited) on a form of the
user's own subject, so concurrent users never refuse each other's version; the changes
are kept and checked against the audit trail afterwards (``verify_audit``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.driver import Http, Reply, Step, Timer
from benchmarks.html import HtmlForm, page_form
from benchmarks.stats import Sample

ENTERERS = ("investigator", "investigator2")  # sites 01 and 02 of the demo
REASON = "TRANSCRIPTION_ERROR"
FIGURE_IMG = re.compile(r'<img[^>]*src="([^"]+)"[^>]*data-testid="figure-(\w+)"')


class DjangoHttp:
    """The same steps in-process through Django's test client, with CSRF enforced as on
    the server; ``timed`` counts the SQL queries of the requests inside it."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def get(self, path: str) -> Reply:
        r = self.client.get(path)
        return Reply(r.status_code, r.content, r.headers.get("Location", ""))

    def post(self, path: str, data: Mapping[str, str]) -> Reply:
        r = self.client.post(path, data=dict(data))
        return Reply(r.status_code, r.content, r.headers.get("Location", ""))

    @contextmanager
    def timed(self) -> Iterator[Timer]:
        timer = Timer()
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            try:
                yield timer
            finally:
                timer.seconds = time.perf_counter() - started
        timer.queries = len(captured.captured_queries)


# --- what the users change ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One saved change, to be found in the audit trail."""

    form: str
    variable: str
    value: str
    username: str


@dataclass(frozen=True)
class Target:
    """A form a user saves: its page and how to change it (returns the change made)."""

    path: str
    edit: Callable[[HtmlForm], tuple[str, str]]  # -> (variable, new value)
    form: str


def _reason(form: HtmlForm) -> None:
    # a completed form is changed with a reason, as a person must
    if "reason_code" in form.options:
        form.set("reason_code", REASON)
        form.set("reason_text", "make bench")


def toggle_integer(form: HtmlForm, field_name: str) -> str:
    """v → v+1 when v is even, v-1 when odd: every save changes the value, and it stays
    between two values whatever the number of saves."""
    value = int(form.value(field_name) or 0)
    new = value + 1 if value % 2 == 0 else value - 1
    form.set(field_name, str(new))
    return str(new)


def toggle_tenth(form: HtmlForm, field_name: str) -> str:
    """A diameter ± 0.1 mm, between two values (as ``toggle_integer`` in tenths)."""
    tenths = int(Decimal(form.value(field_name) or "0") * 10)
    new = tenths + 1 if tenths % 2 == 0 else tenths - 1
    text = f"{Decimal(new) / 10:.1f}"
    form.set(field_name, text)
    return text


def toggle_choice(form: HtmlForm, field_name: str) -> str:
    """Between the select's first two non-empty options."""
    choices = [o for o in form.options.get(field_name, []) if o][:2]
    if len(choices) < 2:
        raise LookupError(f"{field_name} has fewer than two choices")
    new = choices[1] if form.value(field_name) == choices[0] else choices[0]
    form.set(field_name, new)
    return new


def edit_vs(form: HtmlForm) -> tuple[str, str]:
    _reason(form)
    return "SYSBP", toggle_integer(form, "systolic_bp")


def edit_ta(form: HtmlForm) -> tuple[str, str]:
    _reason(form)
    return "TLDIAM", toggle_tenth(form, "tl-0-diameter_mm")


def edit_ae(form: HtmlForm) -> tuple[str, str]:
    _reason(form)
    return "AEREL", toggle_choice(form, "relationship")


# --- steps ----------------------------------------------------------------------------------


def read_step(path_of: Callable[[int, int], str]) -> Step:
    def step(http: Http, user: int, i: int) -> Sample:
        path = path_of(user, i)
        with http.timed() as timer:
            reply = http.get(path)
        return timer.sample(reply.status, reply.status == 200, _note(reply, path))

    return step


def page_and_figures_step(path: str, *, before: Callable[[], None] | None = None) -> Step:
    """The page, then each figure its ``<img>`` names, one after the other: what a
    person waits for. ``before`` (untimed) empties the figure cache for a cold read."""

    def step(http: Http, user: int, i: int) -> Sample:
        if before is not None:
            before()
        with http.timed() as timer:
            page = http.get(path)
            sources = [src for src, _name in FIGURE_IMG.findall(page.text)]
            statuses = [http.get(src.replace("&amp;", "&")).status for src in sources]
        ok = page.status == 200 and len(sources) == 5 and set(statuses) == {200}
        note = "" if ok else f"page {page.status}, {len(sources)} figures {sorted(set(statuses))}"
        return timer.sample(page.status, ok, note)

    return step


class SaveLog:
    """The changes the saves made (threads append), for the audit check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.changes: list[Change] = []

    def add(self, change: Change) -> None:
        with self._lock:
            self.changes.append(change)


def save_step(
    targets_of: Callable[[int], Sequence[Target]], usernames: Sequence[str], log: SaveLog
) -> Step:
    """Read the form page (untimed: the person is typing), change one value, post it
    (timed). Saved = the redirect to the subject page; a 200 (a refused value), a 409 (a
    stale version) or anything else is a failed save."""

    def step(http: Http, user: int, i: int) -> Sample:
        targets = targets_of(user)
        target = targets[i % len(targets)]
        page = http.get(target.path)
        if page.status != 200:
            return Sample(0.0, page.status, False, f"GET {target.path}: {page.status}")
        form = page_form(page.text)
        variable, value = target.edit(form)
        with http.timed() as timer:
            reply = http.post(target.path, form.data())
        saved = reply.status == 302
        if saved:
            log.add(Change(target.form, variable, value, usernames[user % len(usernames)]))
        note = "" if saved else _refusal(reply, target.path)
        return timer.sample(reply.status, saved, note)

    return step


def baseline_read_step() -> Step:
    path = reverse("bench_baseline:rows")
    return read_step(lambda user, i: path)


def baseline_save_step() -> Step:
    path = reverse("bench_baseline:new_row")

    def step(http: Http, user: int, i: int) -> Sample:
        page = http.get(path)
        if page.status != 200:
            return Sample(0.0, page.status, False, f"GET {path}: {page.status}")
        form = page_form(page.text)
        form.set("name", f"user {user} save {i}")
        form.set("value", str(i))
        form.set("recorded_on", dt.date(2026, 1, 1).isoformat())
        with http.timed() as timer:
            reply = http.post(path, form.data())
        ok = reply.status == 302
        return timer.sample(reply.status, ok, "" if ok else _refusal(reply, path))

    return step


def _note(reply: Reply, path: str) -> str:
    return "" if reply.status == 200 else f"GET {path}: {reply.status}"


def _refusal(reply: Reply, path: str) -> str:
    if reply.status in (200, 400, 409):
        errors = re.findall(
            r'class="[^"]*invalid-feedback[^"]*"[^>]*>\s*(?:<[^>]+>\s*)*([^<]+)', reply.text
        )
        alert = re.findall(
            r'class="[^"]*alert-danger[^"]*"[^>]*>\s*(?:<[^>]+>\s*)*([^<]+)', reply.text
        )
        said = "; ".join(e.strip() for e in (errors or alert)[:2])
        return f"POST {path}: {reply.status} not saved ({said or 'no message found'})"
    return f"POST {path}: {reply.status}"


# --- scenarios ------------------------------------------------------------------------------

Kind = Literal["read", "save"]


@dataclass
class Scenario:
    name: str
    users: int
    kind: Kind  # which baseline it is compared with: the bare read or the bare save
    usernames: tuple[str, ...]  # user u signs in as usernames[u % len]
    step: Step
    target: str = "2x"  # "2x": p95 ≤ 2 × the baseline's; "300ms": p95 ≤ 300 ms
    log: SaveLog | None = None
    form: str = ""
    max_requests: int | None = None  # bounds of its own (the cold figures)
    seconds: float | None = None
    count_step: Step | None = None  # the step the query count runs, when not ``step``
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """Who sees and saves what, read from the database gunicorn serves."""

    subjects_by_user: dict[str, list[int]]  # subject pks an enterer's users spread over
    vs: dict[int, list[Target]]
    ta: dict[int, list[Target]]
    ae: dict[int, list[Target]]


def discover(limit_per_subject: int = 6) -> Study:
    """The subjects of sites 01 and 02 with the forms each user will save."""
    from django.contrib.auth import get_user_model

    from adverse_events.models import AdverseEvent
    from crf.models import VisitKind
    from visits.models import TumourAssessment, VitalSigns

    subjects_by_user: dict[str, list[int]] = {}
    for username in ENTERERS:
        user = get_user_model().objects.get(username=username)
        sites = list(user.membership.sites.values_list("pk", flat=True))  # type: ignore[attr-defined]
        subjects_by_user[username] = list(
            VitalSigns.objects.filter(
                is_deleted=False, subject__site__in=sites, visit__isnull=False
            )
            .order_by("subject_id")
            .values_list("subject_id", flat=True)
            .distinct()
        )
    vs: dict[int, list[Target]] = defaultdict(list)
    for record in (
        VitalSigns.objects.filter(is_deleted=False, visit__isnull=False, systolic_bp__isnull=False)
        .select_related("visit")
        .order_by("subject_id", "id")
    ):
        if len(vs[record.subject_id]) < limit_per_subject:
            path = _visit_form(record.subject_id, record.visit.code, "VS")  # type: ignore[union-attr]
            vs[record.subject_id].append(Target(path, edit_vs, "VS"))
    ta: dict[int, list[Target]] = defaultdict(list)
    for assessment in (
        # not the baseline's: its sums are what every later assessment is compared with
        TumourAssessment.objects.filter(is_deleted=False, visit__isnull=False)
        .exclude(visit__kind=VisitKind.SCREENING)
        .select_related("visit")
        .prefetch_related("targets")
        .order_by("subject_id", "id")
    ):
        rows = sorted((t for t in assessment.targets.all() if not t.is_deleted), key=lambda t: t.pk)
        # the first row ≥ 10 mm: a tenth of a millimetre changes no response
        if (
            rows
            and rows[0].diameter_mm is not None
            and rows[0].diameter_mm >= 10
            and len(ta[assessment.subject_id]) < limit_per_subject
        ):
            path = _visit_form(assessment.subject_id, assessment.visit.code, "TA")  # type: ignore[union-attr]
            ta[assessment.subject_id].append(Target(path, edit_ta, "TA"))
    ae: dict[int, list[Target]] = defaultdict(list)
    for event in AdverseEvent.objects.filter(is_deleted=False, serious="N").order_by(
        "subject_id", "id"
    ):
        if len(ae[event.subject_id]) < limit_per_subject:
            path = reverse(
                "crf:log_record",
                kwargs={"subject_pk": event.subject_id, "form_code": "AE", "record_pk": event.pk},
            )
            ae[event.subject_id].append(Target(path, edit_ae, "AE"))
    return Study(subjects_by_user, dict(vs), dict(ta), dict(ae))


def _visit_form(subject_pk: int, visit_code: str, form_code: str) -> str:
    return reverse(
        "crf:visit_form",
        kwargs={"subject_pk": subject_pk, "visit_code": visit_code, "form_code": form_code},
    )


def _subject_of(study: Study, user: int, having: Mapping[int, Any] | None = None) -> int:
    """User u signs in as ENTERERS[u % 2] and works on that site's ((u // 2))-th subject
    (among those with the forms it saves): 20 users, 20 different subjects."""
    username = ENTERERS[user % len(ENTERERS)]
    subjects = [s for s in study.subjects_by_user[username] if having is None or s in having]
    if not subjects:
        raise LookupError(f"no subject of {username} to work on")
    return subjects[(user // len(ENTERERS)) % len(subjects)]


def deal(study: Study, targets: Mapping[int, list[Target]], users: int) -> dict[int, list[Target]]:
    """Each user's own forms: user u signs in as ENTERERS[u % 2] and gets every n-th form
    of that site's subjects taken in turn (one form of each subject, then the next of
    each ...), so no two users ever post the same form (which optimistic locking would
    rightly refuse as stale) and concurrent users work on different subjects as far as
    the study allows."""
    dealt: dict[int, list[Target]] = {}
    for e, username in enumerate(ENTERERS):
        queues = [list(targets[s]) for s in study.subjects_by_user[username] if s in targets]
        interleaved = [
            q[k] for k in range(max(map(len, queues), default=0)) for q in queues if k < len(q)
        ]
        mine = list(range(e, users, len(ENTERERS)))
        for k, user in enumerate(mine):
            dealt[user] = interleaved[k :: len(mine)]
            if not dealt[user]:
                raise LookupError(f"fewer forms than users for {username}")
    return dealt


def demo_scenarios(
    study: Study, *, concurrency: Sequence[int], clear_figures: Callable[[], None]
) -> list[Scenario]:
    """The demo-size scenarios: reads first (the saves then change the data they read)."""
    scenarios: list[Scenario] = []
    for users in concurrency:
        scenarios.append(
            Scenario(
                "subject page",
                users,
                "read",
                ENTERERS,
                read_step(
                    lambda u, i: reverse(
                        "crf:subject_detail", kwargs={"subject_pk": _subject_of(study, u)}
                    )
                ),
            )
        )
        scenarios.append(
            Scenario("worklist", users, "read", ENTERERS, read_step(_fixed("visits:worklist")))
        )
    scenarios += single_user_pages(clear_figures)
    for form, targets, edit_name in (
        ("VS", study.vs, "vital signs"),
        ("TA", study.ta, "TA with lesions"),
        ("AE", study.ae, "AE"),
    ):
        for users in concurrency:
            log = SaveLog()
            dealt = deal(study, targets, users)
            scenarios.append(
                Scenario(
                    f"save {edit_name}",
                    users,
                    "save",
                    ENTERERS,
                    save_step(dealt.__getitem__, ENTERERS, log),
                    log=log,
                    form=form,
                )
            )
    return scenarios


def single_user_pages(
    clear_figures: Callable[[], None], *, target: str = "300ms"
) -> list[Scenario]:
    """The pages that read the whole study; the issue holds them to p95 ≤ 300 ms (at
    2,000 subjects, so at the demo's size too), not to a ratio."""
    outcomes = reverse("outcomes:study")
    return [
        Scenario(
            "outcomes page", 1, "read", ("medmonitor",), read_step(_fixed("outcomes:study")), target
        ),
        Scenario(
            "outcomes page + 5 figures, cold",
            1,
            "read",
            ("medmonitor",),
            page_and_figures_step(outcomes, before=clear_figures),
            target,
            max_requests=3,
            seconds=15,
        ),
        Scenario(
            "outcomes page + 5 figures, warm",
            1,
            "read",
            ("medmonitor",),
            page_and_figures_step(outcomes),
            target,
        ),
        Scenario(
            "enrolment dashboard",
            1,
            "read",
            ("studycoord",),
            read_step(_fixed("enrollment:dashboard")),
            target,
        ),
        Scenario(
            "safety page",
            1,
            "read",
            ("medmonitor",),
            read_step(_fixed("adverse_events:safety")),
            target,
        ),
        Scenario(
            "deviations",
            1,
            "read",
            ("datamanager",),
            read_step(_fixed("adverse_events:deviations")),
            target,
        ),
        Scenario(
            "subject list",
            1,
            "read",
            ("datamanager",),
            read_step(_fixed("crf:subject_list")),
            target,
        ),
        Scenario(
            "status matrix",
            1,
            "read",
            ("datamanager",),
            read_step(_fixed("data_management:matrix")),
            target,
        ),
    ]


def _fixed(name: str) -> Callable[[int, int], str]:
    path = reverse(name)
    return lambda user, i: path


# --- after the load -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditCheck:
    saves: int
    audited: int
    sample_checked: int
    sample_found: int

    @property
    def ok(self) -> bool:
        return self.saves == self.audited and self.sample_checked == self.sample_found


def verify_audit(log: SaveLog, form: str, since: dt.datetime) -> AuditCheck:
    """Every save the driver saw succeed left exactly one audit entry of the value it
    changed (no more, no less), and a sample of them holds the very value posted."""
    from crf.models import AuditEntry

    changes = log.changes
    if not changes:
        return AuditCheck(0, 0, 0, 0)
    variable = changes[0].variable
    entries = AuditEntry.objects.filter(form_code=form, variable=variable, at__gte=since)
    audited = entries.filter(actor_username__in=ENTERERS).count()
    values = [str(e) for e in entries.values_list("new_value", flat=True)]
    sample = changes[:: max(1, len(changes) // 10)][:10]
    found = sum(1 for c in sample if any(_same(c.value, v) for v in values))
    return AuditCheck(len(changes), audited, len(sample), found)


def _same(posted: str, stored: str) -> bool:
    if posted == stored:
        return True
    try:
        return Decimal(posted) == Decimal(stored)
    except InvalidOperation:
        return False
