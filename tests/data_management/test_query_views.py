"""Query pages: the form page's badges and threads, each step from the panel per role (htmx
partial and plain POST), another site's subject, the subject and home panels, the queries
page, the metrics and the CSV (issue 12, "Queries")."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.models import ChangeReason
from crf.services import Reason
from data_management import query_selectors as selectors
from data_management.models import Query, QueryMessage, QueryOrigin, QueryStatus
from data_management.queries import answer_query, close_query, raise_query
from study.models import Role
from tests.factories import save_xx

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def monitor(people: dict[Role, Any]) -> Any:
    return people[Role.MONITOR]


@pytest.fixture
def data_manager(people: dict[Role, Any]) -> Any:
    return people[Role.DATA_MANAGER]


@pytest.fixture
def form(investigator: Any, subject01: Any) -> Any:
    return save_xx(
        investigator,
        subject01,
        complete=True,
        lesions=[{"lesion_id": "L1", "diameter": "21.0"}, {"lesion_id": "L2", "diameter": "9.5"}],
    )


@pytest.fixture
def query(monitor: Any, subject01: Any, form: Any) -> Query:
    return raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        variable="SYSBP",
        text="Systolic 120 in the CRF, 210 in the source?",
    )


def form_url(subject: Any) -> str:
    return reverse(
        "crf:visit_form", kwargs={"subject_pk": subject.pk, "visit_code": "SCR", "form_code": "XX"}
    )


def step_url(name: str, query: Query) -> str:
    return reverse(
        f"data_management:{name}", kwargs={"subject_pk": query.subject_id, "query_pk": query.pk}
    )


def raise_url(form: Any) -> str:
    return reverse(
        "data_management:query_raise",
        kwargs={"subject_pk": form.subject_id, "form_code": "XX", "record_pk": form.pk},
    )


def thread_steps(query: Query) -> list[tuple[str, str, str]]:
    return [
        (m.step, m.author.username if m.author else "system", m.status_after)
        for m in QueryMessage.objects.filter(query=query)
    ]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- The form page ---------------------------------------------------------------------------


def test_form_page_as_monitor_shows_the_badge_at_the_value_and_the_thread(
    client, monitor, subject01, query
) -> None:
    client.force_login(monitor)

    page = client.get(form_url(subject01)).content.decode()

    value = re.search(r'data-variable="SYSBP">(.*?)</dd>', page, re.S)
    assert value is not None
    assert f'href="#query-{query.pk}"' in value.group(1)
    assert "1 open query" in text_of(value.group(1))
    assert f'id="query-{query.pk}"' in page
    assert "Systolic 120 in the CRF, 210 in the source?" in page
    assert 'data-testid="raise-query"' in page
    assert "Send the answer" not in page
    assert "Close the query" in page


def test_form_page_as_investigator_offers_the_answer_and_the_way_to_the_field(
    client, investigator, subject01, query
) -> None:
    client.force_login(investigator)

    page = client.get(form_url(subject01)).content.decode()

    assert f'href="#query-{query.pk}"' in page  # the badge in the field's help
    assert "Send the answer" in page
    assert "Correction in response to a query" in page
    assert 'href="#id_systolic"' in page and 'id="id_systolic"' in page
    assert 'data-testid="raise-query"' not in page
    assert "Close the query" not in page


def test_form_page_shows_step_times_in_the_sites_zone(client, monitor, subject01, query) -> None:
    subject01.site.time_zone = "America/New_York"
    subject01.site.save()
    client.force_login(monitor)

    page = client.get(form_url(subject01)).content.decode()

    local = query.raised_at.astimezone(dt.UTC).astimezone(selectors.zone_of("America/New_York"))
    assert f"<time>{local:%Y-%m-%d %H:%M}</time>" in page
    assert "Times in America/New_York." in page


def test_form_page_for_a_reader_shows_threads_without_actions(
    client, people, subject01, query
) -> None:
    client.force_login(people[Role.MEDICAL_MONITOR])

    page = client.get(form_url(subject01)).content.decode()

    assert f'id="query-{query.pk}"' in page and "Systolic 120 in the CRF" in page
    panel = page[page.index('data-testid="queries-panel"') :]
    assert "<form" not in panel.split("</section>")[0]


def test_raise_form_offers_only_groups_with_rows(client, monitor, investigator, subject01) -> None:
    save_xx(investigator, subject01)  # no lesion rows
    client.force_login(monitor)

    page = client.get(form_url(subject01)).content.decode()

    assert 'value="SYSBP"' in page
    assert 'value="LS.LDIAM"' not in page and 'id="raise-row"' not in page
    assert "None: the whole form</option>" in page


def test_form_page_without_queries_shows_no_panel_to_the_site(
    client, investigator, subject01, form
) -> None:
    client.force_login(investigator)

    page = client.get(form_url(subject01)).content.decode()

    assert 'data-testid="queries-panel"' not in page


def test_row_query_badge_stands_in_the_rows_cell(client, monitor, subject01, form) -> None:
    query = raise_query(
        actor=monitor,
        subject=subject01,
        form_code="XX",
        instance=form,
        group="LS",
        row_key="L2",
        variable="LDIAM",
        text="L2 is 12 mm on the report.",
    )
    client.force_login(monitor)

    page = client.get(form_url(subject01)).content.decode()

    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    l2 = next(r for r in rows if ">L2<" in r)
    assert f'href="#query-{query.pk}"' in l2
    assert "Diameter: 1 open query" in text_of(l2)
    assert "Test vitals" not in text_of(next(r for r in rows if ">L1<" in r))


@pytest.mark.parametrize("size", [1, 15])
def test_form_page_reads_queries_in_a_constant_number_of_sql_queries(
    client, monitor, investigator, subject01, form, size, django_assert_max_num_queries
) -> None:
    for n in range(size):
        q = raise_query(
            actor=monitor,
            subject=subject01,
            form_code="XX",
            instance=form,
            variable=("LDIAM" if n % 3 == 0 else "SYSBP") if n % 2 else "",
            group="LS" if n % 3 == 0 else "",
            row_key="L1" if n % 3 == 0 else "",
            text=f"Question {n}",
        )
        answer_query(actor=investigator, query=q, text=f"Answer {n}")
    client.force_login(monitor)
    client.get(form_url(subject01))  # the session and permissions warmed up

    with django_assert_max_num_queries(30):
        response = client.get(form_url(subject01))

    assert response.content.decode().count('data-testid="query-thread"') == size


# --- Steps from the panel --------------------------------------------------------------------


def test_raise_without_javascript_redirects_to_the_new_thread(
    client, monitor, subject01, form
) -> None:
    client.force_login(monitor)

    response = client.post(
        raise_url(form), {"variable": "DIABP", "row": "", "text": "Diastolic: which arm?"}
    )

    query = Query.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{form_url(subject01)}#query-{query.pk}"
    assert (query.variable, query.group, query.row_key, query.status, query.text) == (
        "DIABP",
        "",
        "",
        QueryStatus.OPEN,
        "Diastolic: which arm?",
    )
    page = client.get(response["Location"]).content.decode()
    assert "Query raised." in page


def test_raise_with_htmx_returns_the_panel_only(client, data_manager, subject01, form) -> None:
    client.force_login(data_manager)

    response = client.post(
        raise_url(form), {"variable": "LS.LDIAM", "row": "LS:L1", "text": "Unit?"}, **HTMX
    )

    html = response.content.decode()
    query = Query.objects.get()
    assert response.status_code == 200
    assert html.startswith("<section") and "<html" not in html
    assert f'id="query-{query.pk}"' in html and "Query raised." in html
    assert (query.group, query.row_key, query.variable) == ("LS", "L1", "LDIAM")


def test_raise_on_a_whole_row_and_on_the_whole_form(client, monitor, subject01, form) -> None:
    client.force_login(monitor)

    client.post(raise_url(form), {"variable": "", "row": "LS:L2", "text": "Row?"})
    client.post(raise_url(form), {"variable": "", "row": "", "text": "Form?"})

    assert sorted(Query.objects.values_list("group", "row_key", "variable", "text")) == [
        ("", "", "", "Form?"),
        ("LS", "L2", "", "Row?"),
    ]


@pytest.mark.parametrize(
    ("variable", "row", "text", "message"),
    [
        ("LS.LDIAM", "", "x", "Choose the row of the value"),
        ("SYSBP", "LS:L1", "x", "That variable is not in a row"),
        ("SYSBP", "", "  ", "Write the question for the site."),
        ("LS.LDIAM", "LS:L9", "x", "LS has no row L9 on this form."),
    ],
)
def test_raise_refused_says_why_and_keeps_the_text(
    client, monitor, subject01, form, variable, row, text, message
) -> None:
    client.force_login(monitor)

    htmx = client.post(
        raise_url(form), {"variable": variable, "row": row, "text": text}, **HTMX
    ).content.decode()
    plain = client.post(raise_url(form), {"variable": variable, "row": row, "text": text})

    assert Query.objects.count() == 0
    assert message in htmx and 'data-testid="raise-error"' in htmx
    assert plain.status_code == 302
    assert plain["Location"].endswith("#queries-panel")
    assert message in client.get(plain["Location"]).content.decode()


def test_answer_without_javascript_redirects_to_the_thread(
    client, investigator, subject01, query
) -> None:
    client.force_login(investigator)

    response = client.post(step_url("query_answer", query), {"text": "Corrected to 210."})

    query.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"{form_url(subject01)}#query-{query.pk}"
    assert query.status == QueryStatus.ANSWERED
    assert thread_steps(query)[-1] == ("answer", "inv01", "answered")


def test_answer_with_htmx_returns_the_panel_and_the_changed_badge(
    client, investigator, query
) -> None:
    client.force_login(investigator)

    response = client.post(step_url("query_answer", query), {"text": "Corrected."}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith("<section") and "<html" not in html
    assert "Answer sent." in html
    updates = html[html.index('<template class="edc-query-mark-updates">') :]
    assert updates.startswith(
        '<template class="edc-query-mark-updates"><span class="edc-query-marks" '
        'id="qmark-----SYSBP" data-query-group="" data-query-title="" data-query-row="" '
        'data-query-variable="SYSBP">'
    )
    assert "1 answered query" in text_of(html)


def test_answer_of_an_empty_text_is_refused_in_its_thread(client, investigator, query) -> None:
    client.force_login(investigator)

    html = client.post(step_url("query_answer", query), {"text": " "}, **HTMX).content.decode()

    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    thread = html[html.index(f'id="query-{query.pk}"') :]
    assert "Write the answer for the monitor." in thread


def test_investigator_corrects_the_value_with_the_query_reason_then_answers(
    client, investigator, subject01, form, query
) -> None:
    save_xx(
        investigator,
        subject01,
        instance=form,
        systolic=210,
        reason=Reason(ChangeReason.QUERY_RESPONSE, ""),
    )
    client.force_login(investigator)

    client.post(step_url("query_answer", query), {"text": "Corrected to 210 from the source."})

    form.refresh_from_db()
    query.refresh_from_db()
    assert (form.systolic, query.status) == (210, QueryStatus.ANSWERED)


def test_monitor_closes_reopens_and_comments(client, monitor, investigator, query) -> None:
    answer_query(actor=investigator, query=query, text="Corrected.")
    client.force_login(monitor)

    closed = client.post(step_url("query_close", query), {"text": ""})
    refused = client.post(step_url("query_reopen", query), {"text": ""}, **HTMX)
    reopened = client.post(step_url("query_reopen", query), {"text": "Still 120 on page 2."})
    commented = client.post(step_url("query_comment", query), {"text": "See page 2."}, **HTMX)

    query.refresh_from_db()
    assert [closed.status_code, reopened.status_code, commented.status_code] == [302, 302, 200]
    assert "Say why the query is re-opened." in refused.content.decode()
    assert query.status == QueryStatus.OPEN
    assert thread_steps(query) == [
        ("raise", "mon01", "open"),
        ("answer", "inv01", "answered"),
        ("close", "mon01", "closed"),
        ("reopen", "mon01", "open"),
        ("comment", "mon01", "open"),
    ]


def test_data_manager_closes_an_open_query_with_htmx(client, data_manager, query) -> None:
    client.force_login(data_manager)

    html = client.post(
        step_url("query_close", query), {"text": "Raised in error."}, **HTMX
    ).content.decode()

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert "Query closed." in html and "Raised in error." in html
    assert "Re-open" in html


@pytest.mark.parametrize(
    ("role", "name", "status"),
    [
        (Role.INVESTIGATOR, "query_close", 403),
        (Role.SITE_COORDINATOR, "query_reopen", 403),
        (Role.MONITOR, "query_answer", 403),
        (Role.DATA_MANAGER, "query_answer", 403),
        (Role.STUDY_COORDINATOR, "query_comment", 403),
        (Role.MEDICAL_MONITOR, "query_close", 403),
        (Role.SITE_COORDINATOR, "query_answer", 302),
    ],
)
def test_each_step_only_for_its_roles(client, people, query, role, name, status) -> None:
    client.force_login(people[role])

    response = client.post(step_url(name, query), {"text": "x"})

    assert response.status_code == status


def test_investigator_cannot_raise(client, investigator, form) -> None:
    client.force_login(investigator)

    response = client.post(raise_url(form), {"variable": "", "row": "", "text": "x"})

    assert response.status_code == 403
    assert Query.objects.count() == 0


def test_a_query_on_another_sites_subject_is_not_found(
    client, people, data_manager, investigator, subject02
) -> None:
    other = save_xx(investigator, subject02)
    query = raise_query(
        actor=data_manager, subject=subject02, form_code="XX", instance=other, text="Site 02?"
    )
    for role, name in [
        (Role.INVESTIGATOR, "query_answer"),
        (Role.MONITOR, "query_close"),
        (Role.MONITOR, "query_comment"),
    ]:
        client.force_login(people[role])

        response = client.post(step_url(name, query), {"text": "x"})

        assert response.status_code == 404, (role, name)
    client.force_login(people[Role.MONITOR])
    assert client.post(raise_url(other), {"text": "x"}).status_code == 404
    listing = client.get(reverse("data_management:queries")).content.decode()
    assert "Site 02?" not in listing


def test_a_query_of_another_subject_under_this_subjects_url_is_not_found(
    client, monitor, investigator, subject01, query
) -> None:
    from enrollment.services import register_screening

    other = register_screening(actor=investigator, site=subject01.site)
    client.force_login(monitor)

    url = reverse(
        "data_management:query_close", kwargs={"subject_pk": other.pk, "query_pk": query.pk}
    )

    assert client.post(url, {"text": ""}).status_code == 404


# --- The subject page and the home page ------------------------------------------------------


def test_subject_page_lists_open_and_answered_queries_and_follows_each_step(
    client, monitor, investigator, subject01, form, query
) -> None:
    url = reverse("crf:subject_detail", kwargs={"subject_pk": subject01.pk})
    client.force_login(monitor)
    first = client.get(url).content.decode()
    answer_query(actor=investigator, query=query, text="Done.")

    answered = client.get(url).content.decode()
    close_query(actor=monitor, query=query)
    closed = client.get(url).content.decode()

    assert f'href="{form_url(subject01)}#query-{query.pk}"' in first
    assert "1 open" in text_of(first)
    assert "1 answered" in text_of(answered) and "1 open" not in text_of(answered)
    assert 'data-testid="subject-queries"' not in closed


def test_home_page_of_the_site_lists_its_open_queries(
    client, investigator, monitor, subject01, query
) -> None:
    client.force_login(investigator)

    page = client.get(reverse("study:home")).content.decode()

    assert "1 open query waiting for your answer" in text_of(page)
    assert f"{form_url(subject01)}#query-{query.pk}" in page
    client.force_login(monitor)
    assert 'data-testid="home-queries"' not in client.get(reverse("study:home")).content.decode()


def test_menu_has_queries_for_every_role_that_reads_data(client, people) -> None:
    url = reverse("data_management:queries")
    for role, user in people.items():
        client.force_login(user)

        page = client.get(reverse("study:home")).content.decode()

        assert (f'href="{url}"' in page) == (role != Role.ADMINISTRATOR), role


# --- The queries page ------------------------------------------------------------------------


def _age(query: Query, days: int) -> None:
    """Date a query back (Query rows are not audited clinical data)."""
    Query.objects.filter(pk=query.pk).update(raised_at=timezone.now() - dt.timedelta(days=days))


def test_queries_page_filters_by_status_form_origin_and_age(
    client, monitor, investigator, subject01, form, query
) -> None:
    old = raise_query(
        actor=monitor, subject=subject01, form_code="XX", instance=form, text="Old one"
    )
    _age(old, 20)
    answer_query(actor=investigator, query=old, text="Answered.")
    Query.objects.filter(pk=query.pk).update(origin=QueryOrigin.AUTOMATIC)
    client.force_login(monitor)
    url = reverse("data_management:queries")

    def shown(params: str) -> list[int]:
        page = client.get(f"{url}?{params}").content.decode()
        return [int(pk) for pk in re.findall(r'data-query="(\d+)"', page)]

    assert shown("") == [query.pk, old.pk]
    assert shown("status=answered") == [old.pk]
    assert shown("status=open") == [query.pk]
    assert shown("origin=automatic") == [query.pk]
    assert shown("origin=manual&form=XX") == [old.pk]
    assert shown("age=15-30") == [old.pk]
    assert shown("age=0-7") == [query.pk]
    assert shown("form=XL") == []
    assert shown("status=bogus&age=nope") == [query.pk, old.pk]


def test_queries_page_of_one_subject_counts_its_queries_by_state(
    client, monitor, investigator, subject01, form, query
) -> None:
    from enrollment.services import register_screening

    other = register_screening(actor=investigator, site=subject01.site)
    raise_query(
        actor=monitor,
        subject=other,
        form_code="XX",
        instance=save_xx(investigator, other),
        text="Other subject",
    )
    close_query(actor=monitor, query=query)
    client.force_login(monitor)

    page = client.get(
        reverse("data_management:queries") + f"?subject={subject01.pk}"
    ).content.decode()

    assert re.findall(r'data-query="(\d+)"', page) == [str(query.pk)]
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', page))
    assert counts == {"all": "1", "open": "0", "answered": "0", "closed": "1"}
    assert f'href="?subject={subject01.pk}&amp;status=closed"' in page


def test_queries_page_rows_link_to_the_thread(client, investigator, subject01, query) -> None:
    client.force_login(investigator)

    page = client.get(reverse("data_management:queries")).content.decode()

    assert f'href="{form_url(subject01)}#query-{query.pk}"' in page
    assert 'data-testid="queries-csv"' not in page  # the CSV is for monitors and managers


@pytest.mark.parametrize("size", [2, 30])
def test_queries_page_reads_a_constant_number_of_sql_queries(
    client, monitor, subject01, form, size, django_assert_max_num_queries
) -> None:
    for n in range(size):
        raise_query(actor=monitor, subject=subject01, form_code="XX", instance=form, text=f"Q{n}")
    client.force_login(monitor)
    url = reverse("data_management:queries")
    client.get(url)

    with django_assert_max_num_queries(12):
        response = client.get(url + "?status=open")

    assert response.content.decode().count('data-testid="query-row"') == size


@pytest.mark.parametrize("size", [2, 30])
def test_metrics_and_csv_read_a_constant_number_of_sql_queries(
    client, monitor, investigator, subject01, form, size, django_assert_max_num_queries
) -> None:
    for n in range(size):
        q = raise_query(
            actor=monitor, subject=subject01, form_code="XX", instance=form, text=f"Q{n}"
        )
        if n % 2:
            answer_query(actor=investigator, query=q, text="A")
    client.force_login(monitor)
    client.get(reverse("data_management:query_metrics"))

    with django_assert_max_num_queries(10):
        metrics = client.get(reverse("data_management:query_metrics"))
    with django_assert_max_num_queries(10):
        exported = client.get(reverse("data_management:queries_csv"))

    assert f"{size} queries on the subjects of your sites." in text_of(metrics.content.decode())
    assert len(exported.content.decode().strip().splitlines()) == size + 1


# --- Metrics and CSV -------------------------------------------------------------------------


def _known_set(
    monitor: Any, investigator: Any, data_manager: Any, subject01: Any, form: Any, subject02: Any
) -> list[Query]:
    """Five queries: open 3 and 10 days old, answered 20 days old (answered after 2 days),
    closed 40 days old (answered after 1 day, closed after 4) at site 01; open 40 days old
    at site 02."""
    now = timezone.now()

    def make(subject: Any, instance: Any, days: int) -> Query:
        q = raise_query(
            actor=data_manager, subject=subject, form_code="XX", instance=instance, text="?"
        )
        Query.objects.filter(pk=q.pk).update(raised_at=now - dt.timedelta(days=days))
        return Query.objects.get(pk=q.pk)

    a, b, c, d = (make(subject01, form, days) for days in (3, 10, 20, 40))
    e = make(subject02, save_xx(investigator, subject02), 40)
    answer_query(actor=investigator, query=c, text="a")
    Query.objects.filter(pk=c.pk).update(answered_at=now - dt.timedelta(days=18))
    answer_query(actor=investigator, query=d, text="a")
    close_query(actor=monitor, query=d)
    Query.objects.filter(pk=d.pk).update(
        answered_at=now - dt.timedelta(days=39), closed_at=now - dt.timedelta(days=36)
    )
    return [a, b, c, d, e]


def test_metrics_on_a_known_set(
    client, monitor, investigator, data_manager, subject01, subject02, form
) -> None:
    _known_set(monitor, investigator, data_manager, subject01, form, subject02)
    client.force_login(data_manager)

    page = client.get(reverse("data_management:query_metrics")).content.decode()

    def cells(testid: str) -> list[list[str]]:
        table = re.search(rf'data-testid="{testid}">(.*?)</table>', page, re.S)
        assert table is not None
        body = table.group(1).split("<tbody>")[1]
        return [
            [text_of(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        ]

    assert cells("metrics-age") == [
        ["0–7 days", "1", "0"],
        ["8–14 days", "1", "0"],
        ["15–30 days", "0", "1"],
        ["More than 30 days", "1", "0"],
    ]
    assert cells("metrics-site") == [
        ["01 Site 01", "2", "1", "1", "4"],
        ["02 Site 02", "1", "0", "0", "1"],
    ]
    assert cells("metrics-form") == [["Test vitals (XX)", "3", "1", "1", "5"]]
    assert cells("metrics-timing") == [
        ["Every query", "2", "1.5", "1", "4.0"],
        ["Raised by a person", "2", "1.5", "1", "4.0"],
        ["Raised by an edit check", "0", "—", "0", "—"],
    ]


def test_metrics_of_a_monitor_count_only_their_sites(
    client, monitor, investigator, data_manager, subject01, subject02, form
) -> None:
    _known_set(monitor, investigator, data_manager, subject01, form, subject02)
    client.force_login(monitor)

    page = client.get(reverse("data_management:query_metrics")).content.decode()

    assert "4 queries on the subjects of your sites." in text_of(page)
    assert 'data-site="02"' not in page


def test_metrics_and_csv_are_for_monitors_and_data_managers(client, people) -> None:
    for role, user in people.items():
        client.force_login(user)
        allowed = role in (Role.MONITOR, Role.DATA_MANAGER)

        for name in ("data_management:query_metrics", "data_management:queries_csv"):
            assert (client.get(reverse(name)).status_code == 200) == allowed, (role, name)


def test_csv_holds_every_query_with_its_thread(
    client, monitor, investigator, data_manager, subject01, subject02, form
) -> None:
    queries = _known_set(monitor, investigator, data_manager, subject01, form, subject02)
    client.force_login(data_manager)

    response = client.get(reverse("data_management:queries_csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == [
        "id",
        "subject",
        "site",
        "visit",
        "form",
        "group",
        "variable",
        "row_key",
        "origin",
        "check_code",
        "status",
        "text",
        "raised_by",
        "raised_at",
        "answered_at",
        "closed_at",
        "thread",
    ]
    assert sorted(int(r["id"]) for r in rows) == sorted(q.pk for q in queries)
    closed = next(r for r in rows if int(r["id"]) == queries[3].pk)
    assert (closed["subject"], closed["site"], closed["visit"], closed["form"]) == (
        subject01.label,
        "01",
        "SCR",
        "XX",
    )
    assert (closed["status"], closed["origin"], closed["raised_by"]) == ("closed", "manual", "dm")
    closed_at = Query.objects.get(pk=queries[3].pk).closed_at
    assert closed_at is not None
    assert closed["closed_at"] == closed_at.astimezone(dt.UTC).isoformat("T", "seconds")
    steps = closed["thread"].split(" | ")
    assert [s.split(" ", 1)[1] for s in steps] == [
        "dm raise (open): ?",
        "inv01 answer (answered): a",
        "mon01 close (closed): ",
    ]


def test_csv_of_a_monitor_holds_only_their_sites(
    client, monitor, investigator, data_manager, subject01, subject02, form
) -> None:
    _known_set(monitor, investigator, data_manager, subject01, form, subject02)
    client.force_login(monitor)

    rows = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("data_management:queries_csv")).content.decode())
        )
    )

    assert {r["site"] for r in rows} == {"01"} and len(rows) == 4


# --- Pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "0-7"), (7, "0-7"), (8, "8-14"), (14, "8-14"), (15, "15-30"), (30, "15-30"), (31, "31-")],
)
def test_age_bucket_edges(days, bucket) -> None:
    assert selectors.age_bucket(days) == bucket


def test_compute_metrics_medians_and_buckets() -> None:
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)

    def facts(days: int, status: str, answer: float | None = None, close: float | None = None):
        raised = now - dt.timedelta(days=days)
        return selectors.QueryFacts(
            "01",
            "VS",
            "manual",
            status,
            raised,
            raised + dt.timedelta(days=answer) if answer is not None else None,
            raised + dt.timedelta(days=close) if close is not None else None,
        )

    metrics = selectors.compute_metrics(
        [
            facts(1, "open"),
            facts(9, "answered", answer=1),
            facts(9, "answered", answer=2),
            facts(9, "answered", answer=6),
            facts(40, "closed", answer=1, close=3),
        ],
        now=now,
    )

    assert {k: (t.open, t.answered) for k, t in metrics.by_age.items()} == {
        "0-7": (1, 0),
        "8-14": (0, 3),
        "15-30": (0, 0),
        "31-": (0, 0),
    }
    assert (metrics.timings[0].median_days_to_answer, metrics.timings[0].answered) == (1.5, 4)
    assert (metrics.timings[0].median_days_to_close, metrics.timings[0].closed) == (3.0, 1)
