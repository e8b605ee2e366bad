"""Nobody changes their own access; every change of someone's role, sites or principal-investigator
flag is recorded (who, when, old, new, reason) and shown to data managers (issue 10: "The
administrator can give itself clinical access")."""

from __future__ import annotations

from typing import Any

import pytest
import tinyhtml5
from django.core.exceptions import ValidationError
from django.urls import reverse

from study.models import AccessChange, Membership, Role
from study.services import set_membership, upsert_person
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/1999/xhtml}"


def visible_text(html: str) -> str:
    body = tinyhtml5.parse(html).find(f".//{NS}body")
    assert body is not None
    return " ".join(" ".join(body.itertext()).split())


def admin_form(client: Any, url: str) -> dict[str, Any]:
    """The admin change form's fields as the browser would send them back unchanged."""
    page = tinyhtml5.parse(client.get(url).content.decode())
    form = next(f for f in page.iter(f"{NS}form") if f.get("id") == "user_form")
    data: dict[str, Any] = {}
    for field in form.iter(f"{NS}input"):
        name, kind = field.get("name"), field.get("type", "text")
        if not name or kind in ("submit", "button", "file") or field.get("disabled") is not None:
            continue
        if kind in ("checkbox", "radio"):
            if field.get("checked") is not None:
                data.setdefault(name, []).append(field.get("value", "on"))
            continue
        data[name] = field.get("value", "")
    for select in form.iter(f"{NS}select"):
        chosen = [
            o.get("value") for o in select.iter(f"{NS}option") if o.get("selected") is not None
        ]
        data[select.get("name")] = (
            chosen if select.get("multiple") is not None else (chosen or [""])[0]
        )
    for area in form.iter(f"{NS}textarea"):
        data[area.get("name")] = area.text or ""
    return {k: v for k, v in data.items() if not k.startswith("membership-__prefix__")}


def change_url(user: Any) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def post_change(client: Any, user: Any, **changes: Any) -> Any:
    url = change_url(user)
    data = admin_form(client, url)
    data.update({f"membership-0-{k}" if k in MEMBER_FIELDS else k: v for k, v in changes.items()})
    return client.post(url, data)


MEMBER_FIELDS = {"role", "sites", "is_principal_investigator", "reason"}


@pytest.fixture
def admin(people: dict[Role, Any]) -> Any:
    return people[Role.ADMINISTRATOR]


@pytest.mark.parametrize(
    "change",
    [
        {"role": Role.DATA_MANAGER},
        {"sites": ["SITES"]},
        {"is_principal_investigator": ["on"]},
    ],
    ids=["role", "sites", "pi"],
)
def test_admin_cannot_change_its_own_access(client, admin, sites, change) -> None:
    if change.get("sites") == ["SITES"]:
        change = {"sites": [str(s.pk) for s in sites.values()]}
    client.force_login(admin)

    response = post_change(client, admin, reason="I need to see the data.", **change)

    assert response.status_code == 200
    assert (
        "Nobody changes their own role, sites or principal-investigator flag: "
        "ask another administrator."
    ) in visible_text(response.content.decode())
    membership = Membership.objects.get(user=admin)
    assert (membership.role, list(membership.sites.values_list("number", flat=True))) == (
        Role.ADMINISTRATOR,
        ["01"],
    )
    assert membership.is_principal_investigator is False
    assert not AccessChange.objects.filter(person=admin).exclude(actor=None).exists()


def test_refused_admin_still_reads_no_subject_and_no_export(client, admin) -> None:
    client.force_login(admin)

    post_change(client, admin, role=Role.DATA_MANAGER, reason="Help the data manager.")

    assert client.get(reverse("crf:subject_list")).status_code == 403
    assert client.get(reverse("crf:data_export")).status_code == 403


def test_admin_still_edits_its_own_name(client, admin) -> None:
    client.force_login(admin)

    response = post_change(client, admin, first_name="Ada")

    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.first_name == "Ada"
    assert Membership.objects.get(user=admin).role == Role.ADMINISTRATOR


def test_changing_someones_role_needs_a_reason(client, admin, people) -> None:
    monitor = people[Role.MONITOR]
    client.force_login(admin)

    response = post_change(client, monitor, role=Role.DATA_MANAGER, reason="")

    assert response.status_code == 200
    assert "Give the reason for changing this person's role, sites or flag." in visible_text(
        response.content.decode()
    )
    assert Membership.objects.get(user=monitor).role == Role.MONITOR


def test_changing_someones_role_and_sites_is_recorded(client, admin, people, sites) -> None:
    monitor = people[Role.MONITOR]
    client.force_login(admin)

    response = post_change(
        client,
        monitor,
        role=Role.DATA_MANAGER,
        sites=[str(sites["01"].pk), str(sites["02"].pk)],
        reason="Took over data management at the sponsor.",
    )

    assert response.status_code == 302
    assert Membership.objects.get(user=monitor).role == Role.DATA_MANAGER
    assert monitor.groups.get().name == "role:data_manager"
    rows = list(
        AccessChange.objects.filter(person=monitor, actor=admin)
        .order_by("kind")
        .values_list("kind", "old_value", "new_value", "reason", "actor_username")
    )
    reason = "Took over data management at the sponsor."
    assert rows == [
        ("role", "monitor", "data_manager", reason, "admin"),
        ("sites", "01", "01, 02", reason, "admin"),
    ]


def test_data_manager_reads_the_changes_and_a_monitor_may_not(client, admin, people) -> None:
    monitor = people[Role.SITE_COORDINATOR]
    client.force_login(admin)
    post_change(client, monitor, role=Role.INVESTIGATOR, reason="New sub-investigator.")
    url = reverse("study:access_changes")

    client.force_login(people[Role.DATA_MANAGER])
    text = visible_text(client.get(url).content.decode())
    client.force_login(people[Role.MONITOR])
    refused = client.get(url)

    assert "People and roles: changes" in text
    assert "sc01 Role Site coordinator Investigator New sub-investigator." in text
    assert "admin" in text
    assert refused.status_code == 403


def test_data_manager_home_links_to_the_changes(client, people) -> None:
    client.force_login(people[Role.DATA_MANAGER])

    html = client.get(reverse("study:home")).content.decode()

    assert f'href="{reverse("study:access_changes")}"' in html


def test_admin_creating_a_person_with_a_clinical_role_is_recorded(client, admin, sites) -> None:
    client.force_login(admin)
    url = reverse("admin:auth_user_add")
    data = admin_form(client, url)
    data.update(
        {
            "username": "newdm",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
            "membership-0-role": Role.DATA_MANAGER,
            "membership-TOTAL_FORMS": "1",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    rows = list(
        AccessChange.objects.filter(person__username="newdm").values_list(
            "kind", "old_value", "new_value", "actor_username"
        )
    )
    assert rows == [("role", "", "data_manager", "admin")]


def test_admin_setting_someones_password_is_recorded(client, admin, people) -> None:
    dm = people[Role.DATA_MANAGER]
    client.force_login(admin)
    url = reverse("admin:auth_user_password_change", args=[dm.pk])

    response = client.post(
        url, {"password1": PASSWORD + "x", "password2": PASSWORD + "x", "usable_password": "true"}
    )

    assert response.status_code == 302
    change = AccessChange.objects.get(person=dm, actor=admin)
    assert change.kind == "password"


def test_service_refuses_ones_own_change_and_writes_nothing(admin) -> None:
    with pytest.raises(ValidationError) as error:
        set_membership(actor=admin, person=admin, role=Role.DATA_MANAGER, reason="x")

    assert "role" in error.value.message_dict
    assert Membership.objects.get(user=admin).role == Role.ADMINISTRATOR
    assert not AccessChange.objects.filter(person=admin).exclude(actor=None).exists()


def test_upsert_person_refuses_ones_own_change_before_writing(admin, sites) -> None:
    with pytest.raises(ValidationError):
        upsert_person(
            actor=admin,
            username="admin",
            password=PASSWORD + "new",
            role=Role.DATA_MANAGER,
            first_name="Changed",
            reason="x",
        )

    admin.refresh_from_db()
    assert admin.first_name == ""
    assert admin.check_password(PASSWORD)
    assert Membership.objects.get(user=admin).role == Role.ADMINISTRATOR


def test_service_records_a_change_by_another_person(admin, people, sites) -> None:
    investigator = people[Role.INVESTIGATOR]

    set_membership(
        actor=admin,
        person=investigator,
        role=Role.INVESTIGATOR,
        sites=[sites["01"]],
        is_principal_investigator=True,
        reason="Appointed PI.",
    )

    change = AccessChange.objects.get(person=investigator, actor=admin)
    assert (change.kind, change.old_value, change.new_value, change.reason) == (
        "pi",
        "N",
        "Y",
        "Appointed PI.",
    )


def test_access_changes_are_append_only(admin, people) -> None:
    set_membership(
        actor=admin, person=people[Role.MONITOR], role=Role.DATA_MANAGER, reason="Cover."
    )
    change = AccessChange.objects.filter(actor=admin, kind="role").get()

    with pytest.raises(RuntimeError):
        change.save()
    with pytest.raises(RuntimeError):
        change.delete()


@pytest.mark.parametrize("count", [1, 8])
def test_changes_page_queries_do_not_grow(
    client, admin, people, count, django_assert_max_num_queries
) -> None:
    monitor = people[Role.MONITOR]
    for n in range(count):
        role = Role.DATA_MANAGER if n % 2 == 0 else Role.MONITOR
        set_membership(actor=admin, person=monitor, role=role, reason=f"Change {n}.")
    client.force_login(people[Role.DATA_MANAGER])

    with django_assert_max_num_queries(10):
        response = client.get(reverse("study:access_changes"))

    assert response.status_code == 200
    assert f"Change {count - 1}." in response.content.decode()


@pytest.mark.postgres
def test_database_refuses_to_edit_access_changes(admin, people) -> None:
    from django.db import DatabaseError, transaction

    set_membership(
        actor=admin, person=people[Role.MONITOR], role=Role.DATA_MANAGER, reason="Cover."
    )
    changes = AccessChange.objects.filter(actor=admin)

    with pytest.raises(DatabaseError), transaction.atomic():
        changes.update(reason="Nothing happened.")
    with pytest.raises(DatabaseError), transaction.atomic():
        changes._raw_delete(changes.db)

    assert set(changes.values_list("reason", flat=True)) == {"Cover."}
