"""Sign-in, lockout after failed attempts, sign-in records, idle timeout, passwords."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from study.middleware import LAST_ACTIVITY_KEY
from study.models import AuthEvent, AuthEventKind
from study.protocol import SESSION_POLICY
from tests.conftest import HOME_TITLES, PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "study:login"


def _login(client, username: str, password: str):
    return client.post(reverse(LOGIN), {"username": username, "password": password})


def test_sign_in_with_the_right_password_opens_the_home_page(client, investigator) -> None:
    response = _login(client, "inv01", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("study:home")
    assert "Site home" in client.get(reverse("study:home")).content.decode()


def test_wrong_password_says_so_and_warns_of_the_lock(client, investigator) -> None:
    response = _login(client, "inv01", "not-the-password")

    assert response.status_code == 200
    assert (
        "After 5 failed attempts the account is locked for 15 minutes." in response.content.decode()
    )


def test_five_failures_lock_the_account_even_with_the_right_password(client, investigator) -> None:
    for _ in range(SESSION_POLICY.failed_logins_before_lock):
        _login(client, "inv01", "not-the-password")

    response = _login(client, "inv01", PASSWORD)

    assert response.status_code == 403
    assert "This account is locked for 15 minutes after 5 failed sign-in attempts" in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_four_failures_do_not_lock(client, investigator) -> None:
    for _ in range(SESSION_POLICY.failed_logins_before_lock - 1):
        _login(client, "inv01", "not-the-password")

    assert _login(client, "inv01", PASSWORD).status_code == 302


def test_the_lock_ends_after_fifteen_minutes(client, investigator) -> None:
    for _ in range(SESSION_POLICY.failed_logins_before_lock):
        _login(client, "inv01", "not-the-password")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - dt.timedelta(minutes=SESSION_POLICY.lock_minutes, seconds=1)
    )

    assert _login(client, "inv01", PASSWORD).status_code == 302


def test_sign_in_sign_out_and_failures_are_recorded(client, investigator) -> None:
    _login(client, "inv01", "not-the-password")
    _login(client, "inv01", PASSWORD)
    client.post(reverse("study:logout"))

    events = list(AuthEvent.objects.order_by("id").values_list("kind", "username"))
    assert events == [
        (AuthEventKind.LOGIN_FAILED, "inv01"),
        (AuthEventKind.LOGIN, "inv01"),
        (AuthEventKind.LOGOUT, "inv01"),
    ]


def test_idle_session_ends_after_thirty_minutes(client, investigator) -> None:
    client.force_login(investigator)
    assert client.get(reverse("study:home")).status_code == 200
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - SESSION_POLICY.idle_timeout_minutes * 60 - 1
    session.save()

    response = client.get(reverse("study:home"), follow=True)

    assert response.redirect_chain[0][0].startswith(reverse(LOGIN))
    assert "Your session ended after 30 minutes without activity" in response.content.decode()
    assert AuthEvent.objects.filter(kind=AuthEventKind.SESSION_EXPIRED, username="inv01").exists()


def test_activity_within_thirty_minutes_keeps_the_session(client, investigator) -> None:
    client.force_login(investigator)
    client.get(reverse("study:home"))
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - SESSION_POLICY.idle_timeout_minutes * 60 + 30
    session.save()

    assert client.get(reverse("study:home")).status_code == 200


@pytest.mark.parametrize("password", ["short-pw-11", "12345678901234", "password1234"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_twelve_character_password_is_accepted() -> None:
    validate_password("tiger-lake-9")


def test_every_role_has_a_home_page_of_its_own(client, people) -> None:
    titles = {}
    for role, user in people.items():
        client.force_login(user)
        page = client.get(reverse("study:home")).content.decode()
        titles[role] = page.split('data-testid="home-title">')[1].split("<")[0]
    assert titles == HOME_TITLES
