"""The admin in the user's language: Django's strings, and ours marked for translation (issue 10)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.functional import Promise

from study.admin import StudyUserAdmin
from study.models import Role

pytestmark = pytest.mark.django_db


def test_the_admin_follows_the_users_language(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = client.get(reverse("admin:index")).content.decode()

    assert '<html lang="zh-hans"' in page
    assert "站点管理" in page  # Django's own "Site administration"
    assert "研究、中心和人员" in page  # the study app's verbose name, from our catalogue


def test_the_admin_titles_are_marked_for_translation() -> None:
    assert isinstance(admin.site.site_header, Promise)
    assert isinstance(admin.site.site_title, Promise)


def test_the_user_list_role_column_is_marked_for_translation() -> None:
    assert isinstance(StudyUserAdmin.role.short_description, Promise)  # type: ignore[attr-defined]


def test_the_user_list_filters_by_role_label_not_group_name(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = client.get(reverse("admin:auth_user_changelist")).content.decode()

    assert "role:investigator" not in page
    assert "?membership__role__exact=investigator" in page
    assert "数据管理员" in page  # Data manager, as a filter choice and in the role column
