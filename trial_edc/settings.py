"""Settings for the trial EDC: one file, read from the environment.

The defaults boot on SQLite in ``var/`` with Celery on kombu's file-system
transport, so ``make run`` needs no server. ``DATABASE_URL`` and ``REDIS_URL``
switch to PostgreSQL and Redis. ``.env.example`` lists every variable.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _
from dotenv import load_dotenv

from study.protocol import DEFAULT_SITE_TIME_ZONE, SAE_DEADLINE_SCAN_SECONDS, SESSION_POLICY

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("EDC_VAR_DIR", str(BASE_DIR / "var")))
# matplotlib (the outcome figures) keeps its font cache here, not in a home directory that a
# container's user may not be able to write.
os.environ.setdefault("MPLCONFIGDIR", str(VAR_DIR / "matplotlib"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("EDC_PRODUCTION", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
    # Development only: a fixed, clearly insecure key; check --deploy flags it.
    SECRET_KEY = "django-insecure-development-key-change-me-" + "x" * 20

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "template_partials",
    "axes",
    "csp",
    "study",
    "crf",
    "enrollment",
    "visits",
    "adverse_events",
    "outcomes",
    "data_management",
    "reports",
    "notifications",
]
# `make bench` only (benchmarks/run.py): a bare-Django app measured beside ours in the same
# run, behind the same middleware, login and CSRF. An environment switch, not a settings
# module of its own, so the bench runs exactly these settings; off, production and the
# tests never install it (nor its table, nor its URLs: trial_edc/urls.py).
EDC_BENCH_BASELINE = env_bool("EDC_BENCH_BASELINE", False)
if EDC_BENCH_BASELINE:
    INSTALLED_APPS.append("benchmarks.baseline")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # before the CSRF check, which reads a whole POST body: an oversized upload gets 413 unread
    "study.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "study.middleware.IdleSessionTimeoutMiddleware",
    "study.middleware.NoStoreMiddleware",  # Cache-Control: no-store for signed-in people
    "study.middleware.SiteTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trial_edc.urls"
WSGI_APPLICATION = "trial_edc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "study.context_processors.study_shell",
                "notifications.context_processors.notification_bell",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL: the role the web and worker processes connect as (in production a role that
# owns no table and may not change the audit trail: manage.py create_app_role, docs/deploy.md).
# MIGRATION_DATABASE_URL: the tables' owner; `manage.py migrate` and `manage.py
# create_app_role` connect as it when it is set (OWNER_COMMANDS), every other process never.
APP_DATABASE_URL = DATABASE_URL = env_str("DATABASE_URL")
MIGRATION_DATABASE_URL = env_str("MIGRATION_DATABASE_URL")
OWNER_COMMANDS = frozenset({"migrate", "create_app_role"})
if (
    MIGRATION_DATABASE_URL
    and Path(sys.argv[0]).name == "manage.py"
    and sys.argv[1:2]
    and sys.argv[1] in OWNER_COMMANDS
):
    DATABASE_URL = MIGRATION_DATABASE_URL
if DATABASE_URL:
    # Persistent connections (60 s), checked before each request reuses one: after the
    # database restarts, a dead connection is replaced instead of failing the request.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "edc.sqlite3"),
            # library-notes.md: IMMEDIATE transactions + WAL gave no lock errors with
            # concurrent writers.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ---------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
    # A task a killed worker had taken (acks_late) goes back to the queue after this many
    # seconds (Redis has no connection-bound delivery): Celery's default, one hour.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env_int("EDC_BROKER_VISIBILITY_TIMEOUT", 3600)
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Outcome figures (outcomes/figure_cache.py): on disk, so the gunicorn workers of
        # `make run` share them and a restart keeps them (each takes up to a second to draw).
        "figures": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "figure-cache"),
        },
    }
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "heartbeat": {"task": "study.tasks.heartbeat", "schedule": 300.0},
    # SAE reports past their 24-hour deadline: escalate once; resend mail left unsent.
    "sae-deadlines": {
        "task": "adverse_events.tasks.scan_sae_deadlines",
        "schedule": float(SAE_DEADLINE_SCAN_SECONDS),
    },
    # Study data file previews nobody confirmed: removed after a day (crf.import_previews).
    "import-previews": {"task": "crf.tasks.remove_stale_import_previews", "schedule": 3600.0},
    # The audit trail's chain heads signed and written outside the database, once a day
    # (data_management.anchors; also at every study lock).
    "audit-anchor": {"task": "data_management.tasks.write_daily_anchor", "schedule": 86400.0},
    # Site casebook ZIPs (reports.bulk) and their casebook files: removed 7 days after.
    "casebook-zips": {"task": "reports.tasks.expire_casebook_zips", "schedule": 3600.0},
    # Daily reminder digests at each site's local 07:30 (notifications.services.collect_due).
    "reminders": {
        "task": "notifications.tasks.collect_due_reminders",
        "schedule": float(env_int("EDC_REMINDER_SCAN_SECONDS", 300)),
    },
}
# Absolute links in reminder mail (notifications.services).
EDC_BASE_URL = env_str("EDC_BASE_URL", "http://127.0.0.1:8000")

# --- Mail ---------------------------------------------------------------------------------
# Development outbox: one .log file per message in var/mail/ (EMAIL_BACKEND switches to SMTP).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_FILE_PATH.mkdir(parents=True, exist_ok=True)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "edc@localhost")
# Safety mail: who gets SAE alerts besides the site PI and the medical monitors, and the
# address the links in mails point to.
EDC_SAFETY_CONTACTS = env_list("EDC_SAFETY_CONTACTS")
EDC_BASE_URL = env_str("EDC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Audit trail anchors (data_management.anchors) ----------------------------------------
# The HMAC key that signs the anchors: a secret kept out of the database (and out of its
# backups). Unset, a key derived from DJANGO_SECRET_KEY is used and a warning logged: for
# development only.
EDC_AUDIT_ANCHOR_KEY = env_str("EDC_AUDIT_ANCHOR_KEY")
# The anchor log, one JSON line per anchor, outside the database (default: the data directory).
EDC_AUDIT_ANCHOR_LOG = env_str("EDC_AUDIT_ANCHOR_LOG", str(VAR_DIR / "audit-anchors.jsonl"))

# --- Authentication -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # The clinical permissions from the person's role, without a query (study/backends.py).
    "study.backends.RolePermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": SESSION_POLICY.min_password_length},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "study:login"
LOGIN_REDIRECT_URL = "study:home"
LOGOUT_REDIRECT_URL = "study:login"

# django-axes: 5 failures lock the account (username), 15 minutes, whatever the IP.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = SESSION_POLICY.failed_logins_before_lock
AXES_COOLOFF_TIME = timedelta(minutes=SESSION_POLICY.lock_minutes)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "study.views.lockout_response"
AXES_VERBOSE = False
# The issue asks to lock the *account*; behind a proxy every user shares one IP, so
# the IP is deliberately not part of the lockout key (axes warns about that).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Idle sessions end after 30 minutes (study.middleware.IdleSessionTimeoutMiddleware).
EDC_IDLE_TIMEOUT_SECONDS = SESSION_POLICY.idle_timeout_minutes * 60
SESSION_COOKIE_AGE = EDC_IDLE_TIMEOUT_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Security -----------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A form sent with a stale token (page open too long, session ended): the site's own page.
CSRF_FAILURE_VIEW = "study.views.csrf_failure"

# Content security policy: our own static files only, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored in UTC; shown in the site's zone (study.middleware)
EDC_DEFAULT_SITE_TIME_ZONE = DEFAULT_SITE_TIME_ZONE
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
FORMAT_MODULE_PATH = ["trial_edc.formats"]

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "EDC_STATICFILES_STORAGE",
            "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Uploads: the largest file (the study data file) in MB. study.middleware refuses a larger
# request from its Content-Length before the body is read; the proxy sets the same limit
# (docs/deploy.md). Form fields other than files may hold 2.5 MB; a file over 2.5 MB is
# streamed to a temporary file instead of memory.
EDC_MAX_UPLOAD_MB = 50
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Tests that need PostgreSQL or Redis fail instead of skipping when this is set (CI).
EDC_REQUIRE_SERVICES = env_bool("EDC_REQUIRE_SERVICES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
