"""The database drops connections (a restart, a failover): on PostgreSQL.

What a person sees: the request that was saving gets the site's 500 page ("Nothing was
saved") and nothing is half-written; the next requests work, including those a worker
serves on a connection that died while idle (CONN_HEALTH_CHECKS).

The connections are killed for real with ``pg_terminate_backend`` from a second
connection. The tests run with ``transaction=True``: a test wrapped in one transaction
would lose that transaction with the killed connection and see none of the app's writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from study.models import Subject

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class ServerClient(Client):
    """Django's test client with a WSGI server's request boundaries.

    A server's handler runs ``close_old_connections`` when each request starts and ends
    (the request_started / request_finished signals); that is where Django drops a broken
    connection and where ``CONN_HEALTH_CHECKS`` arms its check. The test client switches
    those receivers off, so they are called here, as the server calls them.
    """

    def request(self, **request: Any) -> Any:
        close_old_connections()
        try:
            return super().request(**request)
        finally:
            close_old_connections()


@pytest.fixture
def server_client(investigator: Any) -> ServerClient:
    client = ServerClient(raise_request_exception=False)
    client.force_login(investigator)
    return client


def backend_pid() -> int:
    """The PostgreSQL process of the app's (this thread's) connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    """Kill one backend from a second, independent connection, and wait until it is gone."""
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        for _ in range(100):
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still alive")


@pytest.fixture
def health_checks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run with CONN_HEALTH_CHECKS as the parameter says (read when Django connects)."""
    settings_dict = connection.settings_dict
    before = settings_dict["CONN_HEALTH_CHECKS"]
    settings_dict["CONN_HEALTH_CHECKS"] = request.param
    connection.close()
    yield
    settings_dict["CONN_HEALTH_CHECKS"] = before
    connection.close()


def test_the_project_checks_persistent_connections_before_reuse() -> None:
    assert connection.settings_dict["CONN_MAX_AGE"] == 60
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("health_checks", [True], indirect=True)
def test_after_the_database_drops_an_idle_connection_the_next_request_works(
    server_client: ServerClient, health_checks: None
) -> None:
    assert server_client.get(reverse("study:home")).status_code == 200
    dead = backend_pid()  # the persistent connection the next request would reuse
    terminate(dead)

    responses = [server_client.get(reverse("study:home")).status_code for _ in range(3)]

    assert responses == [200, 200, 200]
    assert backend_pid() != dead


@pytest.mark.parametrize("health_checks", [False], indirect=True)
def test_without_health_checks_the_dead_connection_fails_the_next_request(
    server_client: ServerClient, health_checks: None
) -> None:
    # The control: it shows the connection above was really killed, and what
    # CONN_HEALTH_CHECKS saves a person from.
    assert server_client.get(reverse("study:home")).status_code == 200
    terminate(backend_pid())

    response = server_client.get(reverse("study:home"))

    assert response.status_code == 500
    assert "Nothing was saved." in response.content.decode()
    assert server_client.get(reverse("study:home")).status_code == 200  # Django dropped it


def kill_at_first_insert() -> Callable[..., Any]:
    """A database instrument that kills the app's own connection as it starts saving."""
    fired = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if not fired and sql.lstrip().upper().startswith("INSERT"):
            fired.append(sql)
            terminate(context["connection"].info.backend_pid)
        return execute(sql, params, many, context)

    return wrapper


def test_a_save_cut_off_by_the_database_shows_the_500_page_and_the_next_request_works(
    server_client: ServerClient, sites: Any
) -> None:
    url = reverse("enrollment:register")
    form = {"site": sites["01"].pk, "screening_date": "2026-11-20"}
    assert server_client.get(url).status_code == 200

    with connection.execute_wrapper(kill_at_first_insert()):
        cut_off = server_client.post(url, form)

    page = cut_off.content.decode()
    assert cut_off.status_code == 500
    assert "<title>Something went wrong · Trial EDC</title>" in page
    assert "Nothing was saved." in page
    assert Subject.objects.count() == 0  # all or nothing: the transaction rolled back
    assert server_client.get(url).status_code == 200
    again = server_client.post(url, form)
    assert again.status_code == 302
    assert list(Subject.objects.values_list("screening_id", flat=True)) == ["S01-001"]
