"""Which role each process connects as: migrate and create_app_role as the owner
(MIGRATION_DATABASE_URL), everything else as the app role (DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = "postgres://edc_app:app-secret@db.example:5432/edc"
OWNER = "postgres://edc:owner-secret@db.example:5432/edc"


def _user_for(argv: list[str], tmp_path: Path, **env: str) -> str:
    code = (
        f"import sys; sys.argv = {argv!r}; "
        "import django; from django.conf import settings; "
        "print(settings.DATABASES['default']['USER'])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EDC_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("MIGRATION_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "trial_edc.settings",
            "EDC_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("argv", "user"),
    [
        (["manage.py", "migrate"], "edc"),
        (["manage.py", "create_app_role"], "edc"),
        (["manage.py", "runserver"], "edc_app"),
        (["manage.py", "verify_audit"], "edc_app"),
        (["/usr/local/bin/gunicorn", "trial_edc.wsgi:application"], "edc_app"),
        (["/usr/local/bin/celery", "-A", "trial_edc", "worker"], "edc_app"),
    ],
)
def test_only_migrate_and_create_app_role_connect_as_the_owner(argv, user, tmp_path) -> None:
    assert _user_for(argv, tmp_path, DATABASE_URL=APP, MIGRATION_DATABASE_URL=OWNER) == user


def test_without_a_migration_url_migrate_uses_database_url(tmp_path) -> None:
    assert _user_for(["manage.py", "migrate"], tmp_path, DATABASE_URL=APP) == "edc_app"
