"""The first user journeys in a real browser: every role signs in; a lockout."""

from __future__ import annotations

import pytest

from tests.conftest import HOME_TITLES, PASSWORD, ROLE_USERS

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_every_role_signs_in_and_sees_its_home_page(page, people) -> None:
    for role, username in ROLE_USERS.items():
        sign_in(page, username, PASSWORD)

        assert page.get_by_test_id("home-title").inner_text() == HOME_TITLES[role]
        assert page.get_by_test_id("role").inner_text() == role.label
        page.get_by_role("button", name="Sign out").click()
        assert page.get_by_role("heading", name="Sign in").is_visible()
    assert page.console_errors == []  # no CSP violation, no script error


def test_keyboard_only_sign_in(page, people) -> None:
    page.goto("/accounts/login/")
    for _ in range(10):  # Tab from the top of the page until the user name field has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_username":
            break
    assert page.evaluate("document.activeElement.id") == "id_username"
    page.keyboard.type("inv01")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    assert page.get_by_test_id("home-title").inner_text() == "Site home"


def test_five_wrong_passwords_lock_the_account(page, people) -> None:
    for _ in range(5):
        sign_in(page, "inv01", "wrong-password-here")

    sign_in(page, "inv01", PASSWORD)

    locked = page.get_by_test_id("locked")
    assert (
        "This account is locked for 15 minutes after 5 failed sign-in attempts"
        in locked.inner_text()
    )
    assert page.get_by_test_id("home-title").count() == 0


def test_language_switch_shows_chinese(page, people) -> None:
    sign_in(page, "inv01", PASSWORD)

    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state("load")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("button", name="退出").is_visible()
