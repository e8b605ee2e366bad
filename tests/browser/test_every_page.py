"""Every page every role reaches, in a real browser, at 1280 and 1024 px, in English and
简体中文: axe-core (tests/browser/vendor/axe-core, WCAG 2 A/AA rules) finds no serious or
critical violation and one <main> landmark; no console error, script error or CSP violation
is logged; a full-page screenshot of each is kept under var/screenshots/<role>/ for people
to look at (<page>-<width>-<language>.png). The AE form is checked with the CTCAE
type-ahead open (and its combobox pattern); the investigator's data-entry pages are also
walked with Tab, which must reach every control of their forms.

The pages come from the URL matrix (tests/study/test_url_matrix.py): every url name a role
may GET is visited as that role (a new one without arguments joins by itself; one with
arguments fails test_every_url_is_a_page_here_or_says_why until _special_pages says which
page to show), every form of the registry is opened on a small study built through the
services and demo builders, and a url that is no page (a CSV, a figure, an htmx fragment)
says so in NOT_PAGES.

A failing test lists every problem of every page of the role (rule, impact, page, width,
language, CSS selectors, help), not only the first. Each role's summary line says how long
loading, axe, screenshots and Tab took (pytest -s to see it when all pass).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from adverse_events.demo import seed_adverse_events
from adverse_events.models import AdverseEvent
from crf import registry
from crf.models import Visit
from crf.services import Reason, save_form
from enrollment.demo import screen, screen_and_enrol, screen_and_fail
from enrollment.models import EligibilityCriterion
from enrollment.services import register_screening
from outcomes.demo import seed_outcomes
from study.models import Role, Subject
from study.navigation import items_for
from tests.browser.conftest import describe_violations, run_axe, screenshot
from tests.conftest import PASSWORD, ROLE_USERS
from tests.study.test_url_matrix import MATRIX
from visits.demo import treat
from visits.models import TumourAssessment

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 1024)
LANGUAGES = ("en", "zh-hans")
TODAY = dt.date.today()

# GET url names that are no page of their own, and where they are seen instead.
NOT_PAGES = {
    "reports:crf_form_pdf": "a PDF download of one form (the form page's link)",
    "reports:crf_visit_pdf": "a PDF download of one visit's forms (the subject page's links)",
    "reports:blank_crf_pdf": "a PDF download of the blank annotated CRF (the subject page's link)",
    "reports:casebook": "a PDF download of the subject's casebook (the subject page's link)",
    "crf:data_export": "a JSON download (the button on the data manager's and monitor's home)",
    "enrollment:dashboard_csv": "a CSV download of the enrolment dashboard",
    "adverse_events:term_search": "an htmx fragment: seen open on the AE form (type-ahead)",
    "adverse_events:grades": "an htmx fragment: the AE form's grade field",
    "adverse_events:safety_csv": "a CSV download of the safety tables",
    "adverse_events:deviations_csv": "a CSV download of the deviation log",
    "outcomes:figure": "an SVG/PNG figure: seen as an image on the outcomes page",
    "outcomes:csv": "a CSV download of the outcomes page",
    "data_management:queries_csv": "a CSV download of every query (queries and metrics pages)",
    "data_management:audit_csv": "a CSV download of the audit search (the audit trail page)",
    "reports:csv_form": "a CSV download of one form (the exports page)",
    "reports:csv_group": "a CSV download of one repeating group (the exports page)",
    "reports:csv_dictionary": "a CSV download of the data dictionary (the exports page)",
    "reports:csv_zip": "a ZIP download of every CSV (the exports page)",
    "reports:csv_study_data": "a JSON download of the study data file (the exports page)",
    "reports:casebooks_progress": "an htmx fragment: the progress bar of a casebook ZIP job",
    "reports:casebooks_download": "a ZIP download of casebooks (the job's page)",
}
# POST urls of the matrix that also answer GET with a page of their own.
GET_PAGES_OF_POSTS = {"visits:declare_missed"}


# --- The study: small, but every kind of page has something to show -------------------------


@dataclass
class Study:
    progressed: Subject  # PD with a new lesion; EOT, SFU, survival, death, end of study
    responding: Subject  # confirmed PR; a concomitant medication; a serious AE
    stable: Subject  # SD; an overdue serious AE report; visits overdue
    waiting: Subject  # screened and eligible, not enrolled
    failed: Subject  # a screen failure
    records: dict[str, tuple[Subject, int]] = field(default_factory=dict)  # log code -> record


def build_study(people: dict[Role, Any], sites: dict[str, Any]) -> Study:
    """Subjects in every state, through the same services and demo builders as make run."""
    investigator = people[Role.INVESTIGATOR]
    start = dt.date(2026, 3, 2)
    progressed = screen_and_enrol(investigator, sites["01"], start=start)
    responding = screen_and_enrol(investigator, sites["01"], start=start + dt.timedelta(days=8))
    stable = screen_and_enrol(investigator, sites["01"], start=start + dt.timedelta(days=16))
    for subject, cycles, course in (
        (progressed, 3, "PD"),
        (responding, 4, "PR"),
        (stable, 2, "SD"),
    ):
        treat(investigator, subject, day1=_day1(subject), cycles=cycles, course=course)
    _add_new_lesion(investigator, progressed)
    actors = {"01": investigator, "02": investigator}
    seed_adverse_events(actors, today=TODAY)
    seed_outcomes(actors, today=TODAY)
    failed = screen_and_fail(
        investigator, sites["01"], start=start + dt.timedelta(days=30), failing=("IN06",)
    )
    waiting = screen(investigator, sites["01"], start=TODAY - dt.timedelta(days=14))
    register_screening(actor=investigator, site=sites["02"])  # a second site for study roles
    study = Study(progressed, responding, stable, waiting, failed)
    study.records["CM"] = (responding, _log(investigator, responding, "CM", CM_VALUES).pk)
    study.records["DV"] = (stable, _log(investigator, stable, "DV", DV_VALUES).pk)
    serious = AdverseEvent.objects.filter(serious="Y", is_deleted=False).order_by("pk").first()
    assert serious is not None
    study.records["AE"] = (serious.subject, serious.pk)
    survival = registry.get("SV").model.objects.filter(subject=progressed).order_by("pk").first()
    assert survival is not None, "the progressed subject has a survival contact"
    study.records["SV"] = (progressed, survival.pk)
    _raise_queries(people, progressed)
    # Reminders of the day (and, on a Monday, the weekly ones): the bell and the centre show them.
    from notifications.services import collect_due

    collect_due(TODAY)
    return study


def _raise_queries(people: dict[Role, Any], subject: Subject) -> None:
    """Query threads on the TA1 form (seen on it and on the queries page): one on a lesion's
    diameter answered by the site, one on the whole form still open."""
    from data_management.queries import answer_query, raise_query

    ta = TumourAssessment.objects.get(subject=subject, visit__code="TA1", is_deleted=False)
    lesion = raise_query(
        actor=people[Role.MONITOR],
        subject=subject,
        form_code="TA",
        instance=ta,
        group="TL",
        row_key="T01",
        variable="TLDIAM",
        text="The radiology report gives 34 mm for T01; please check.",
    )
    answer_query(
        actor=people[Role.INVESTIGATOR],
        query=lesion,
        text="Corrected from the report, with the reason for change.",
    )
    raise_query(
        actor=people[Role.MONITOR],
        subject=subject,
        form_code="TA",
        instance=ta,
        text="Was the same CT protocol used as at baseline?",
    )


CM_VALUES = {
    "medication": "Amlodipine",
    "indication": "Hypertension",
    "dose": "5 mg",
    "route": "ORAL",
    "started_on": "2026-04-02",
    "ended_on": "",
    "ongoing": "Y",
}
DV_VALUES = {
    "occurred_on": dt.date(2026, 4, 20),
    "category": "DOSING",
    "severity": "MINOR",
    "description": "Took 12 of 14 tablets in cycle 2 (forgot two doses).",
    "action": "Patient retrained; diary card reviewed.",
}


def _day1(subject: Subject) -> dt.date:
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    assert day1 is not None
    return day1


def _log(actor: Any, subject: Subject, code: str, values: dict[str, Any]) -> Any:
    return save_form(
        actor=actor, spec=registry.get(code), subject=subject, values=values, complete=True
    )


def _add_new_lesion(actor: Any, subject: Subject) -> None:
    """TA1 of the progressed subject: a new liver lesion beside its targets and non-target."""
    ta = TumourAssessment.objects.get(subject=subject, visit__code="TA1", is_deleted=False)
    save_form(
        actor=actor,
        spec=registry.get("TA"),
        subject=subject,
        visit=ta.visit,
        instance=ta,
        values={},
        groups={
            "NL": [
                {
                    "lesion_id": "N01",
                    "organ": "LIVER",
                    "unequivocal": "Y",
                    "first_seen_on": ta.scanned_on,
                }
            ]
        },
        complete=True,
        reason=Reason("NEW_SOURCE_INFORMATION", ""),
    )


# --- The pages ------------------------------------------------------------------------------

# The investigator enters every form and the monitor reviews every form; the other roles see
# one form of each kind (a visit form, the TA with its lesions, the AE with its type-ahead, a
# subject form, two log records), which keeps the module within minutes.
EVERY_FORM = {Role.INVESTIGATOR, Role.MONITOR}
KEYBOARD = {Role.INVESTIGATOR}  # Tab through the forms of its data-entry pages (keyboard_gaps)
DATA_ENTRY = {
    "enrollment:register",
    "enrollment:eligibility",
    "enrollment:enrol",
    "visits:declare_missed",
}
FORMS_OF_EACH_KIND = {"form-VS", "form-TA", "form-AE", "form-DD", "record-AE", "record-DV"}


@dataclass(frozen=True)
class Page:
    name: str  # file name of the screenshot, and how the report names the page
    url_name: str  # the URL matrix entry it stands for
    path: str
    type_ahead: bool = False  # the AE form: open the CTCAE type-ahead before axe runs
    status: int = 200
    form: str = ""  # "form-VS", "record-AE": which form page it is
    more: bool = False  # another view of a page already seen (for the EVERY_FORM roles)


def _form_pages(study: Study) -> Iterator[Page]:
    """Every registered form: at a visit of its kind, as a subject form, a new log record and
    an existing one. Forms with a page of their own (IE, ENR) are visited there."""
    subject = study.progressed
    visits = {v.code: v for v in Visit.objects.filter(subject=subject)}
    for spec in registry.all_forms():
        if spec.page or spec.model._meta.app_label == "crftest":  # crftest: the suite's own
            continue
        if spec.visit_kinds:
            code = _visit_for(spec, visits).code
            kwargs = {"subject_pk": subject.pk, "visit_code": code, "form_code": spec.code}
            url = _url("crf:visit_form", **kwargs)
            yield Page(f"form-{spec.code}-{code}", "crf:visit_form", url, form=f"form-{spec.code}")
            continue
        owner = subject if spec.once_per_subject else study.responding
        kwargs = {"subject_pk": owner.pk, "form_code": spec.code}
        ae = spec.code == "AE"
        url = _url("crf:form", **kwargs)
        yield Page(f"form-{spec.code}", "crf:form", url, type_ahead=ae, form=f"form-{spec.code}")
        if spec.code in study.records:
            owner, pk = study.records[spec.code]
            kwargs = {"subject_pk": owner.pk, "form_code": spec.code, "record_pk": pk}
            url = _url("crf:log_record", **kwargs)
            name = f"record-{spec.code}"
            yield Page(name, "crf:log_record", url, type_ahead=ae, form=name)


def _visit_for(spec: Any, visits: dict[str, Visit]) -> Visit:
    """The visit to show the form at: TA1 for the TA (targets, non-target, a new lesion),
    else the first visit of the form's kinds that holds the form, else the first of its kinds."""
    if spec.code == "TA":
        return visits["TA1"]
    of_kind = sorted(
        (v for v in visits.values() if v.kind in spec.visit_kinds), key=lambda v: (v.number, v.pk)
    )
    assert of_kind, f"no visit for {spec.code}"
    held = [v for v in of_kind if spec.model.objects.filter(visit=v, is_deleted=False).exists()]
    return (held or of_kind)[0]


def _url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs=kwargs)


SPECIAL_PAGES = {  # url names with arguments: _special_pages says which page each shows
    "crf:subject_detail",
    "crf:subject_audit",
    "crf:visit_form",
    "crf:form",
    "crf:log_record",
    "visits:summary",
    "visits:declare_missed",
    "adverse_events:subject_log",
    "enrollment:eligibility",
    "enrollment:enrol",
    "enrollment:criterion_edit",
    "adverse_events:safety_events",  # no arguments, but empty without a ?row= or ?soc=
    "data_management:sign_casebook",
    "data_management:sign_visit",
    "data_management:sdv_form",
    "reports:casebooks_job",  # each role its own jobs (others' are 404): see pages_for
}


def _special_pages(study: Study) -> dict[str, list[Page]]:
    """The url names that need arguments: which subject, record or row each page shows."""
    progressed, waiting = study.progressed.pk, study.waiting.pk
    criterion = EligibilityCriterion.objects.order_by("pk").first()
    assert criterion is not None
    overdue = _overdue(study.stable)
    pages = [
        Page("subject", "crf:subject_detail", _url("crf:subject_detail", subject_pk=progressed)),
        Page(
            "subject-screen-failed",
            "crf:subject_detail",
            _url("crf:subject_detail", subject_pk=study.failed.pk),
            more=True,
        ),
        Page(
            "subject-audit", "crf:subject_audit", _url("crf:subject_audit", subject_pk=progressed)
        ),
        Page(
            "treatment-and-response",
            "visits:summary",
            _url("visits:summary", subject_pk=progressed),
        ),
        Page(
            "ae-log",
            "adverse_events:subject_log",
            _url("adverse_events:subject_log", subject_pk=study.responding.pk),
        ),
        Page(
            "eligibility",
            "enrollment:eligibility",
            _url("enrollment:eligibility", subject_pk=waiting),
        ),
        Page(
            "eligibility-enrolled",
            "enrollment:eligibility",
            _url("enrollment:eligibility", subject_pk=progressed),
            more=True,
        ),
        Page("enrol", "enrollment:enrol", _url("enrollment:enrol", subject_pk=waiting)),
        Page(
            "declare-missed",
            "visits:declare_missed",
            _url("visits:declare_missed", subject_pk=study.stable.pk, visit_code=overdue),
        ),
        Page(
            "criterion-edit",
            "enrollment:criterion_edit",
            _url("enrollment:criterion_edit", pk=criterion.pk),
        ),
        Page(
            "safety-events-serious",
            "adverse_events:safety_events",
            _url("adverse_events:safety_events") + "?row=serious",
        ),
        Page(
            "sign-casebook",
            "data_management:sign_casebook",
            _url("data_management:sign_casebook", subject_pk=progressed),
        ),
        Page(
            "sign-visit-C1D1",
            "data_management:sign_visit",
            _url("data_management:sign_visit", subject_pk=progressed, visit_code="C1D1"),
        ),
        Page(
            "sdv-form-IE",  # the eligibility answers (IE has a page of its own) verified here
            "data_management:sdv_form",
            _url(
                "data_management:sdv_form",
                subject_pk=progressed,
                form_code="IE",
                record_pk=registry.get("IE").model.objects.get(subject_id=progressed).pk,
            ),
        ),
    ]
    by_name: dict[str, list[Page]] = {}
    for page in [*pages, *_form_pages(study), *_casebook_job_pages(study)]:
        by_name.setdefault(page.url_name, []).append(page)
    assert set(by_name) == SPECIAL_PAGES
    return by_name


def _casebook_job_pages(study: Study) -> Iterator[Page]:
    """Casebook ZIP jobs of every person who may export them: one mid-way (1 of 2 casebooks,
    the bar polling) and one finished with a failed casebook (its error, Retry, the ZIP)."""
    from django.utils import timezone

    from reports.models import ExportJob, ExportJobItem, ExportKind, JobStatus
    from tests.study.test_url_matrix import MATRIX as URLS

    now = timezone.now()
    site = study.progressed.site
    subjects = (study.progressed, study.responding)
    for user in get_user_model().objects.filter(membership__role__in=URLS["reports:casebooks"][1]):
        for name, status, states in (
            ("casebooks-job-running", JobStatus.RUNNING, (JobStatus.DONE, JobStatus.RUNNING)),
            ("casebooks-job-done", JobStatus.FAILED, (JobStatus.DONE, JobStatus.FAILED)),
        ):
            finished = status == JobStatus.FAILED
            job = ExportJob.objects.create(
                kind=ExportKind.SITE_ZIP,
                created_by=user,
                created_at=now,
                site=site,
                status=status,
                zip_path="/nonexistent/casebooks.zip" if finished else "",
                zip_sha256="0" * 64 if finished else "",
                finished_at=now if finished else None,
                expires_at=now + dt.timedelta(days=7) if finished else None,
            )
            for subject, state in zip(subjects, states, strict=True):
                ExportJobItem.objects.create(
                    job=job,
                    subject=subject,
                    status=state,
                    error="RuntimeError: the font cache is locked" if state == "failed" else "",
                )
            path = _url("reports:casebooks_job", job_pk=job.pk)
            yield Page(name, "reports:casebooks_job", path)


def _others_jobs(user: Any) -> set[str]:
    from reports.models import ExportJob

    others = ExportJob.objects.exclude(created_by=user).values_list("pk", flat=True)
    return {_url("reports:casebooks_job", job_pk=pk) for pk in others}


def pages_for(role: Role, study: Study, user: Any) -> list[Page]:
    """Every page ``role`` may open (each url name MATRIX lets it GET), its 403 and 404
    pages, and the admin for the administrator."""
    special = _special_pages(study)
    pages: list[Page] = []
    for name, (method, allowed, _is_subject) in MATRIX.items():
        if role not in allowed or name in NOT_PAGES or name == "study:login":
            continue
        if method != "GET" and name not in GET_PAGES_OF_POSTS:
            continue
        if name in special:
            pages += [p for p in special[name] if p.path not in _others_jobs(user)]
            continue
        try:
            path = reverse(name)
        except NoReverseMatch:
            pytest.fail(f"{name} needs arguments: say which page to show in _special_pages")
        pages.append(Page(name.split(":")[-1].replace("_", "-"), name, path))
    if role not in EVERY_FORM:
        pages = [p for p in pages if not p.more and (not p.form or p.form in FORMS_OF_EACH_KIND)]
    forbidden = next(
        n
        for n, (method, allowed, is_subject) in MATRIX.items()
        if method == "GET" and role not in allowed and not is_subject and n not in NOT_PAGES
    )
    pages.append(Page("error-403", forbidden, reverse(forbidden), status=403))
    pages.append(Page("error-404", "", "/crf/subjects/999999/", status=404))
    if role == Role.ADMINISTRATOR:
        pages += [
            Page("admin", "admin:index", reverse("admin:index")),
            Page(
                "admin-users", "admin:auth_user_changelist", reverse("admin:auth_user_changelist")
            ),
            Page(
                "admin-user",
                "admin:auth_user_change",
                reverse("admin:auth_user_change", args=[user.pk]),
            ),
            Page(
                "admin-sites", "admin:study_site_changelist", reverse("admin:study_site_changelist")
            ),
        ]
    return pages


def _overdue(subject: Subject) -> str:
    """An overdue visit of the subject (the worklist's "Missed" opens its page)."""
    visit = (
        Visit.objects.filter(
            subject=subject,
            held_on__isnull=True,
            missed=False,
            not_applicable=False,
            window_end__lt=TODAY,
        )
        .order_by("planned_date")
        .first()
    )
    assert visit is not None, "the stable subject has an overdue visit"
    return visit.code


# --- Looking at a page ------------------------------------------------------------------------


@dataclass
class Findings:
    """Problems by rule, then by page: the elements, and the widths and languages seen at."""

    seen: dict[str, dict[str, tuple[list[str], list[str]]]] = field(default_factory=dict)

    def add(self, page: Page, where: str, problem: str, element: str = "") -> None:
        elements, variants = self.seen.setdefault(problem, {}).setdefault(
            f"{page.name} {page.path}", ([], [])
        )
        if element and element not in elements:
            elements.append(element)
        if where not in variants:
            variants.append(where)

    def report(self, who: str) -> str:
        every = {f"{w} {lang}" for w in WIDTHS for lang in LANGUAGES}
        lines = [f"{who}: {len(self.seen)} problem(s)"]
        for problem, pages in self.seen.items():
            lines.append(f"\n{problem}, on {len(pages)} page(s):")
            for name, (elements, variants) in pages.items():
                at = (
                    "every width and language"
                    if set(variants) in (every, set(LANGUAGES))
                    else ", ".join(variants)
                )
                lines.append(f"  {name} [{at}]")
                lines += [f"      {element}" for element in elements]
        return "\n".join(lines)


def sign_in(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def open_type_ahead(page: Any) -> list[str]:
    """Type part of a term into the CTCAE box and arrow down to the first option (entry
    roles); what the combobox pattern (WAI-ARIA APG) misses, if anything."""
    term = page.locator("[data-term-input]")
    if not term.count() or not term.is_editable():
        return []
    term.fill("")
    term.press_sequentially("hyperten")
    page.wait_for_selector("#ae-term-options [data-term=Hypertension]")
    term.press("ArrowDown")
    active = term.get_attribute("aria-activedescendant") or ""
    missing = []
    if term.get_attribute("aria-expanded") != "true":
        missing.append("combobox: aria-expanded is not true while its list is open")
    if not active or page.locator(f"#ae-term-options #{active}[role=option]").count() != 1:
        missing.append("combobox: ArrowDown makes no option active (aria-activedescendant)")
    elif page.locator(f"#{active}").get_attribute("aria-selected") != "true":
        missing.append("combobox: the active option is not aria-selected")
    if page.evaluate("document.activeElement && document.activeElement.id") != "id_term":
        missing.append("combobox: focus left the input")
    return missing


# The controls of the page's forms in <main>, each as the key Tab reports it by: a radio
# group once (Tab stops at one radio of a group), everything else by its id or name. What is
# not shown (a closed <details>: its <summary> opens with Enter) is not expected, nor the
# options of a listbox (the combobox moves through them with the arrow keys).
KEY_JS = (
    """e => e.type === 'radio' ? 'radio:' + e.name : (e.id || e.name || e.textContent.trim())"""
)
CONTROLS_JS = f"""() => [...document.querySelectorAll(
    'main form :is(input:not([type=hidden]), select, textarea, button)')]
  .filter(e => !e.matches(':disabled') && !e.closest('[role=listbox]')
    && e.checkVisibility({{visibilityProperty: true}}))
  .map({KEY_JS})"""
# Record every element that gets the focus, from now on.
WATCH_FOCUS_JS = f"""() => {{ window.edcFocused = [];
  document.addEventListener('focusin', ev => window.edcFocused.push(({KEY_JS})(ev.target))); }}"""


def keyboard_gaps(page: Any) -> list[str]:
    """Tab from the top of the page to its end: the form controls it never reaches, and any
    positive tabindex (which reorders Tab against the reading order)."""
    expected = set(page.evaluate(CONTROLS_JS))
    if not expected:
        return []
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate(WATCH_FOCUS_JS)
    focusable = page.evaluate(
        "document.querySelectorAll('a[href], input, select, textarea, button').length"
    )
    for presses in range(1, focusable + 2):
        page.keyboard.press("Tab")
        if presses % 20 == 0 and expected <= set(page.evaluate("window.edcFocused")):
            break
    reached = set(page.evaluate("window.edcFocused"))
    gaps = [f"keyboard: Tab never reaches {key}" for key in sorted(expected - reached)]
    positive = page.evaluate(
        "[...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length"
    )
    if positive:
        gaps.append(f"keyboard: {positive} element(s) with a positive tabindex")
    return gaps


# Images one at a time (lazy ones too), then two frames for layout: the live server shares
# one SQLite connection between its threads, so parallel requests are not a page's fault.
SETTLE_JS = """async () => {
  for (const img of document.images) {
    img.loading = 'eager';
    if (!img.complete) {
      await new Promise(done => { img.addEventListener('load', done, {once: true});
                                  img.addEventListener('error', done, {once: true}); });
    }
  }
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""


TIMES: dict[str, float] = {}  # seconds spent per step, printed with each role's summary


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    TIMES[what] = TIMES.get(what, 0.0) + time.monotonic() - started


def look_at(
    page: Any,
    folder: str,
    target: Page,
    base_url: str,
    findings: Findings,
    *,
    keyboard: bool = False,
) -> None:
    """The page in each language: its status, then axe and a screenshot at each width, then
    the console; with ``keyboard``, whether Tab reaches every control of its forms."""
    expected = target.status
    for language in LANGUAGES:
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
        page.set_viewport_size({"width": WIDTHS[0], "height": 800})
        with timed("load"):
            response = page.goto(target.path)
            page.evaluate(SETTLE_JS)
        if response is None or response.status != expected:
            status = response.status if response else "none"
            findings.add(target, language, f"HTTP {status}, expected {expected}")
        if page.evaluate("document.documentElement.lang") != language:
            findings.add(target, language, "the page is not in the chosen language")
        if target.type_ahead:
            for problem in open_type_ahead(page):
                findings.add(target, language, problem)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.evaluate(SETTLE_JS)
            # axe at both widths in English and at the narrower in Chinese (what changes
            # with the language is text: names, labels, wrapping), to keep the module fast.
            if language == LANGUAGES[0] or width == WIDTHS[-1]:
                with timed("axe"):
                    violations = run_axe(page)
                for rule, element in describe_violations(violations):
                    findings.add(target, f"{width} {language}", rule, element)
            with timed("screenshots"):
                screenshot(page, folder, target.name)
        if keyboard and language == LANGUAGES[0]:  # after axe: focus styles stay out of it
            with timed("keyboard"):
                gaps = keyboard_gaps(page)
            for problem in gaps:
                findings.add(target, language, problem)
        for error in page.console_errors:
            findings.add(target, language, f"console: {error}")
        page.console_errors.clear()


# --- The tests --------------------------------------------------------------------------------


def test_every_url_is_a_page_here_or_says_why() -> None:
    get_names = {n for n, (method, _, _) in MATRIX.items() if method == "GET"}
    assert set(NOT_PAGES) <= get_names, "NOT_PAGES names a url the matrix no longer has"
    assert set(MATRIX) >= GET_PAGES_OF_POSTS >= {"visits:declare_missed"}
    needs_arguments = []
    for name in sorted((get_names | GET_PAGES_OF_POSTS) - set(NOT_PAGES)):
        try:
            reverse(name)
        except NoReverseMatch:
            needs_arguments.append(name)
    assert needs_arguments == sorted(SPECIAL_PAGES - {"adverse_events:safety_events"}), (
        "say which page to show in _special_pages"
    )


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_page_of_the_role_passes_axe_and_logs_no_error(
    role: Role, new_page: Callable[..., Any], people: dict[Role, Any], sites: Any, live_server: Any
) -> None:
    TIMES.clear()
    with timed("building the study"):
        study = build_study(people, sites)
    user = people[role]
    pages = pages_for(role, study, user)
    page = new_page(width=WIDTHS[0], height=800)
    sign_in(page, ROLE_USERS[role])
    findings = Findings()

    started = time.monotonic()
    for target in pages:
        keyboard = role in KEYBOARD and (bool(target.form) or target.url_name in DATA_ENTRY)
        look_at(page, role.value, target, live_server.url, findings, keyboard=keyboard)

    spent = ", ".join(f"{what} {seconds:.0f} s" for what, seconds in TIMES.items())
    print(f"{role.label}: {len(pages)} pages in {time.monotonic() - started:.0f} s ({spent})")
    menu = {item["url"] for item in items_for(get_user_model().objects.get(pk=user.pk))}
    assert menu - {p.path for p in pages} == set(), "menu items not visited"
    if findings.seen:
        pytest.fail(findings.report(str(role.label)), pytrace=False)


def test_the_sign_in_page_passes_axe_and_logs_no_error(
    new_page: Callable[..., Any], live_server: Any
) -> None:
    page = new_page(width=WIDTHS[0], height=800)
    findings = Findings()

    look_at(
        page,
        "anonymous",
        Page("sign-in", "study:login", "/accounts/login/"),
        live_server.url,
        findings,
    )

    if findings.seen:
        pytest.fail(findings.report("anonymous"), pytrace=False)
