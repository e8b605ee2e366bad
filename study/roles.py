"""Which permissions each role has (protocol.md, "Users and what they do").

Groups and their permissions are written by ``sync_roles`` (run after every
``migrate`` by a post_migrate handler, and as ``manage.py sync_roles``), never by
hand in the admin.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from study.models import Role

# Permission codenames on study.Subject (see Subject.Meta.permissions).
VIEW = "view_clinical_data"
ENTER = "enter_clinical_data"
SIGN = "sign_casebook"
QUERIES = "manage_queries"
SDV = "verify_source_data"
EXPORT = "export_data"
IMPORT = "import_data"
LOCK = "lock_data"
PROTOCOL = "manage_protocol"
SAFETY = "review_safety"
DASHBOARDS = "view_dashboards"
AUDIT = "view_audit_trail"
DEVIATIONS = "review_deviations"
OUTCOMES = "view_outcomes"
ACCESS = "view_access_changes"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.INVESTIGATOR: frozenset({VIEW, ENTER, SIGN, AUDIT}),
    Role.SITE_COORDINATOR: frozenset({VIEW, ENTER, AUDIT}),
    Role.STUDY_COORDINATOR: frozenset({VIEW, DASHBOARDS, SAFETY, OUTCOMES, AUDIT}),
    Role.MONITOR: frozenset({VIEW, QUERIES, SDV, EXPORT, AUDIT}),
    Role.DATA_MANAGER: frozenset(
        {
            VIEW,
            QUERIES,
            LOCK,
            EXPORT,
            IMPORT,
            PROTOCOL,
            DASHBOARDS,
            SAFETY,
            DEVIATIONS,
            OUTCOMES,
            AUDIT,
            ACCESS,
        }
    ),
    Role.MEDICAL_MONITOR: frozenset({VIEW, SAFETY, OUTCOMES, AUDIT}),
    Role.ADMINISTRATOR: frozenset(),
}

# The administrator also manages people and sites in the admin (model permissions).
ADMIN_MODEL_PERMISSIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("auth", "add_user"),
        ("auth", "change_user"),
        ("auth", "view_user"),
        ("study", "add_site"),
        ("study", "change_site"),
        ("study", "view_site"),
        ("study", "add_membership"),
        ("study", "change_membership"),
        ("study", "view_membership"),
        ("study", "view_authevent"),
        ("notifications", "view_digest"),  # reminder mails that failed (issue 14)
    }
)


def group_name(role: str) -> str:
    return f"role:{role}"


@transaction.atomic
def sync_roles() -> None:
    """Create one group per role and set exactly its permissions. Idempotent."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        perms = list(
            Permission.objects.filter(
                content_type__app_label="study",
                content_type__model="subject",
                codename__in=ROLE_PERMISSIONS[role],
            )
        )
        if role == Role.ADMINISTRATOR:
            for app_label, codename in ADMIN_MODEL_PERMISSIONS:
                perms.extend(
                    Permission.objects.filter(content_type__app_label=app_label, codename=codename)
                )
        group.permissions.set(perms)


def perm(codename: str) -> str:
    """The full permission name for ``user.has_perm``."""
    return f"study.{codename}"
