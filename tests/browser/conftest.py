"""Playwright driving Debian's Chromium (/usr/bin/chromium) against a live server."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Django's live_server with Playwright's sync API (library-notes.md): only here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = "needs Chromium at /usr/bin/chromium (apt-get install chromium)"
        if settings.EDC_REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- What every browser test checks and keeps ----------------------------------------------

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"  # var/ is not committed
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# axe-core's WCAG 2.0/2.1/2.2 level A and AA rules, and the two landmark rules the issue
# names (one <main> per page); a page fails on any violation of impact serious or critical,
# and on any violation at all of ALWAYS_FAIL.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ALWAYS_FAIL = ("landmark-one-main", "landmark-no-duplicate-main")
FAILING_IMPACTS = ("serious", "critical")


def watch(page: Any) -> Any:
    """Record on ``page.console_errors`` every console error (CSP violations are logged
    there), every uncaught script error, and return the page.

    A document's own 4xx/5xx status (an error page the test opened on purpose) is logged
    by Chromium as "Failed to load resource"; that one line is not an error of the page,
    a failed stylesheet, script, image or htmx request is."""
    page.console_errors = []
    documents: set[str] = set()

    def on_response(response: Any) -> None:
        if response.request.resource_type == "document" and response.status >= 400:
            documents.add(response.url)

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and where in documents:
            return
        if not where and message.text.startswith("Applying inline style"):
            # A style from a script the test itself evaluated (axe-core builds probe
            # elements with inline styles for some rules): the page's own HTML and scripts
            # always have a location.
            return
        if message.text.startswith("htmx:sendAbort"):
            # htmx cancelled a request of its own (the test moved on to the next page while
            # a type-ahead or field refresh was in flight): nothing failed on the page. The
            # htmx:afterRequest it logs for that same request goes with it.
            aborted.append(message.text)
            if page.console_errors and page.console_errors[-1].startswith("htmx:afterRequest"):
                page.console_errors.pop()
            return
        page.console_errors.append(f"{message.text} [{where}]")

    aborted: list[str] = []
    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: page.console_errors.append(f"Uncaught error: {error}"))
    return page


_AXE_SOURCE: list[str] = []


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (serious/critical, or ALWAYS_FAIL).

    axe is evaluated from its file through the DevTools protocol, which the page's CSP
    (script-src 'self') does not govern; an injected <script> tag would be refused, and
    bypass_csp would hide the CSP violations the console check looks for."""
    if not _AXE_SOURCE:
        _AXE_SOURCE.append(AXE_JS.read_text(encoding="utf-8"))
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_AXE_SOURCE[0])
    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "rules": {rule: {"enabled": True} for rule in ALWAYS_FAIL},
        "resultTypes": ["violations"],
    }
    result = page.evaluate("options => axe.run(document, options)", options)
    return [
        violation
        for violation in result["violations"]
        if violation["impact"] in FAILING_IMPACTS or violation["id"] in ALWAYS_FAIL
    ]


def describe_violations(violations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(rule, element) for each violation and element: the rule as "id (impact): help
    <url>", the element as its CSS selector."""
    return [
        (
            f"{v['id']} ({v['impact']}): {v['help']} <{v['helpUrl'].split('?')[0]}>",
            " >> ".join(str(t) for t in node["target"]),
        )
        for v in violations
        for node in v["nodes"]
    ]


def screenshot(page: Any, *parts: str) -> Path:
    """A full-page PNG at var/screenshots/<parts...>-<width>-<language>.png."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    language = page.evaluate("document.documentElement.lang") or "none"
    *folders, name = [re.sub(r"[^A-Za-z0-9_.-]+", "-", p).strip("-") or "page" for p in parts]
    path = SCREENSHOTS.joinpath(*folders, f"{name}-{width}-{language}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def _shoot_every_load(page: Any, *folders: str) -> None:
    """Every page a test opens is kept as a screenshot, numbered in the order visited."""
    count = [0]

    def on_load(loaded: Any) -> None:
        count[0] += 1
        path = re.sub(r"^https?://[^/]+", "", loaded.url).split("?")[0].strip("/")
        # The test may have moved on already; a screenshot is never a verdict.
        with contextlib.suppress(Exception):
            screenshot(loaded, *folders, f"{count[0]:02d}-{path or 'home'}")

    page.on("load", on_load)


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1024, height=768)``: a page in a fresh context (its own cookies),
    watched for console errors; contexts close at the end of the test."""
    contexts: list[Any] = []

    def make(width: int = 1024, height: int = 768) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return watch(page)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A tablet-sized page (1024 x 768) that records console errors and CSP violations
    (asserted after the test: none), and keeps a screenshot of every page it loads under
    var/screenshots/<test module>/<test>/."""
    page = new_page()
    _shoot_every_load(page, Path(str(request.node.fspath)).stem, request.node.name)
    yield page
    assert page.console_errors == [], "console errors or CSP violations:\n" + "\n".join(
        page.console_errors
    )
