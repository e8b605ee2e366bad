"""The shell: security headers, navigation by role, dates and site time zones, the admin."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crf.models import AuditEntry
from study import protocol
from study.models import Membership, Role
from study.roles import ROLE_PERMISSIONS, group_name
from study.services import sync_user_groups
from tests.factories import save_xx

pytestmark = pytest.mark.django_db


def test_content_security_policy_allows_only_our_own_files(client, investigator) -> None:
    client.force_login(investigator)

    policy = client.get(reverse("study:home"))["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_load_no_asset_from_another_host(client, investigator) -> None:
    client.force_login(investigator)

    page = client.get(reverse("study:home")).content.decode()

    assert "/static/vendor/bootstrap/bootstrap.min.css" in page
    assert "/static/vendor/htmx/htmx.min.js" in page
    assert "https://" not in page and "http://" not in page and "<script>" not in page


def test_the_shell_shows_name_role_site_study_and_protocol_version(client, investigator) -> None:
    client.force_login(investigator)

    page = client.get(reverse("study:home")).content.decode()

    assert '<span data-testid="role">Investigator</span>' in page
    assert "Sites: 01" in page
    assert f"{protocol.STUDY_CODE} · Protocol version {protocol.PROTOCOL_VERSION}" in page


def test_the_menu_offers_only_what_the_role_may_use(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    admin_page = client.get(reverse("study:home")).content.decode()
    client.force_login(people[Role.MONITOR])
    monitor_page = client.get(reverse("study:home")).content.decode()

    assert reverse("crf:subject_list") not in admin_page
    assert reverse("admin:index") in admin_page
    assert reverse("crf:subject_list") in monitor_page
    assert reverse("admin:index") not in monitor_page


def test_times_show_in_the_sites_time_zone_and_dates_as_iso(
    client, investigator, subject01
) -> None:
    save_xx(investigator, subject01)
    entry = AuditEntry.objects.filter(subject=subject01).first()
    shanghai = entry.at.astimezone(zoneinfo.ZoneInfo(protocol.DEFAULT_SITE_TIME_ZONE))
    client.force_login(investigator)

    url = reverse("crf:subject_audit", kwargs={"subject_pk": subject01.pk})
    page = client.get(url).content.decode()

    assert shanghai.strftime("%Y-%m-%d %H:%M:%S") in page
    assert re.search(r"<td[^>]*>2026-01-05</td>", page)  # XXDAT as entered, YYYY-MM-DD


def test_a_site_in_another_time_zone_sees_its_own_times(
    client, investigator, subject01, sites
) -> None:
    sites["01"].time_zone = "Asia/Urumqi"
    sites["01"].save()
    save_xx(investigator, subject01)
    entry = AuditEntry.objects.filter(subject=subject01).first()
    client.force_login(investigator)

    page = client.get(
        reverse("crf:subject_audit", kwargs={"subject_pk": subject01.pk})
    ).content.decode()

    local = entry.at.astimezone(zoneinfo.ZoneInfo("Asia/Urumqi"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in page
    assert local.utcoffset() == dt.timedelta(hours=6)


def test_chinese_dates_are_iso_too(client, investigator, subject01) -> None:
    save_xx(investigator, subject01)
    client.force_login(investigator)
    client.post(reverse("set_language"), {"language": "zh-hans"})

    page = client.get(
        reverse("crf:subject_audit", kwargs={"subject_pk": subject01.pk})
    ).content.decode()

    assert '<html lang="zh-hans">' in page
    assert re.search(r"<td[^>]*>2026-01-05</td>", page)


def test_role_groups_carry_exactly_the_permissions_of_roles_py() -> None:
    for role in Role:
        group = Group.objects.get(name=group_name(role))
        codenames = set(
            group.permissions.filter(content_type__model="subject").values_list(
                "codename", flat=True
            )
        )
        assert codenames == set(ROLE_PERMISSIONS[role]), role


def test_changing_a_membership_role_moves_the_user_to_that_group(people) -> None:
    user = people[Role.SITE_COORDINATOR]
    Membership.objects.filter(user=user).update(role=Role.MONITOR)

    sync_user_groups(user)

    assert list(user.groups.values_list("name", flat=True)) == [group_name(Role.MONITOR)]
    assert user.has_perm("study.manage_queries")


def test_the_administrator_manages_people_and_sites_in_the_admin(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])

    for url in (
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[people[Role.MONITOR].pk]),
        reverse("admin:study_site_add"),
        reverse("admin:study_authevent_changelist"),
    ):
        assert client.get(url).status_code == 200, url
    change_page = client.get(reverse("admin:auth_user_change", args=[people[Role.MONITOR].pk]))
    assert "membership-0-role" in change_page.content.decode()
