"""The bare-Django baseline of `make bench` (benchmarks/baseline): absent unless the bench
switches it on, and then behind the same middleware, login and CSRF as the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[2]

# Run with EDC_BENCH_BASELINE=1 in a process of its own (the switch is read at start-up):
# what an anonymous visitor, a forged POST and a signed-in person get from the baseline,
# and the headers the middleware put on a baseline page and on an app page.
PROBE = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from benchmarks.baseline.models import Row
from benchmarks.html import page_form

user = get_user_model().objects.create_user("bench", password="bench-password-2026")
anonymous = Client().get("/bench-baseline/rows/")
client = Client(enforce_csrf_checks=True)
client.force_login(user)
forged = client.post("/bench-baseline/rows/new/", {"name": "x", "value": "1", "recorded_on": "2026-01-01"})
read = client.get("/bench-baseline/rows/")
form = page_form(client.get("/bench-baseline/rows/new/").content.decode())
form.set("name", "saved")
form.set("value", "7")
form.set("recorded_on", "2026-02-03")
saved = client.post("/bench-baseline/rows/new/", form.data())
app_page = client.get("/crf/subjects/")
print(json.dumps({
    "anonymous": [anonymous.status_code, anonymous.headers.get("Location")],
    "forged": forged.status_code,
    "read": [read.status_code, read.content.decode().count("<tr><td>")],
    "saved": [saved.status_code, saved.headers.get("Location"), Row.objects.count()],
    "read_headers": sorted(read.headers.keys()),
    "app": [app_page.status_code, sorted(app_page.headers.keys())],
    "csp": read.headers.get("Content-Security-Policy", ""),
    "cache": read.headers.get("Cache-Control", ""),
    "frame": read.headers.get("X-Frame-Options", ""),
}))
"""


def test_the_baseline_is_not_installed_nor_mounted_when_the_bench_is_off() -> None:
    assert apps.is_installed("benchmarks.baseline") is False
    with pytest.raises(Resolver404):
        resolve("/bench-baseline/rows/")


def test_the_baseline_answers_behind_the_apps_middleware_login_and_csrf(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EDC_"))}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "trial_edc.settings",
        "EDC_BENCH_BASELINE": "1",
        "EDC_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "EDC_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }

    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["anonymous"] == [302, "/accounts/login/?next=/bench-baseline/rows/"]
    assert seen["forged"] == 403
    assert seen["read"] == [200, 28]
    assert seen["saved"] == [302, "/bench-baseline/rows/", 29]
    assert "default-src 'self'" in seen["csp"]
    assert "no-store" in seen["cache"]
    assert seen["frame"] == "DENY"
    # the same headers as an app page for the same person (one of no site: refused)
    status, app_headers = seen["app"]
    assert status == 403
    assert set(app_headers) == set(seen["read_headers"])
