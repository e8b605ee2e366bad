"""The monitor's home: per assigned site, open queries by age, answered queries, forms
awaiting SDV, casebooks awaiting signature, overdue visits and SAE reports, each a link to
where to act; only for monitors; the same number of queries whatever the data."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree.ElementTree import Element

import pytest
import tinyhtml5
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crf import registry
from crf.models import Visit
from data_management.models import Query, QueryStatus, Signature, SignatureScope, SourceVerification
from data_management.workspace_selectors import site_work
from enrollment.demo import screen_and_enrol
from study.models import Role, Subject, SubjectStatus
from visits.demo import treat

pytestmark = pytest.mark.django_db

NS = "{http://www.w3.org/1999/xhtml}"
HOME = "/"


def _enrol(actor: Any, site: Any, *, days_ago: int = 80, cycles: int = 1) -> Subject:
    subject = screen_and_enrol(
        actor, site, start=timezone.localdate() - dt.timedelta(days=days_ago)
    )
    day1 = Visit.objects.get(subject=subject, code="C1D1").planned_date
    assert day1 is not None
    treat(actor, subject, day1=day1, cycles=cycles, course="SD")
    return subject


def _query(subject: Subject, *, days_ago: int, status: str = QueryStatus.OPEN) -> Query:
    vs = registry.get("VS").model.objects.get(subject=subject, visit__code="C1D1")
    return Query.objects.create(
        subject=subject,
        form_code="VS",
        visit_code="C1D1",
        object_model=vs._meta.label,
        object_id=vs.pk,
        text="Please check",
        status=status,
        raised_at=timezone.now() - dt.timedelta(days=days_ago, hours=1),
    )


def _panel(client: Any) -> dict[str, dict[str, tuple[str, str]]]:
    """{site number: {cell: (text, link)}} of the monitor's panel on the home page."""
    response = client.get(HOME)
    assert response.status_code == 200
    page: Element = tinyhtml5.parse(response.content.decode())
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for row in page.iter(f"{NS}tr"):
        number = row.get("data-site")
        if number is None:
            continue
        found[number] = {}
        for cell in row.iter(f"{NS}td"):
            link = next(cell.iter(f"{NS}a"), None)
            text = "".join(cell.itertext()).strip()
            found[number][cell.get("data-testid", "")] = (
                text,
                "" if link is None else link.get("href", ""),
            )
    return found


@pytest.fixture
def monitor(make_person: Any) -> Any:
    return make_person("mon12", Role.MONITOR, ("01", "02"))


def test_the_monitor_sees_each_sites_work_with_links(client, people, sites, monitor) -> None:
    investigator = people[Role.INVESTIGATOR]
    first = _enrol(investigator, sites["01"])
    second = _enrol(investigator, sites["02"], days_ago=20)
    for days in (0, 3, 10, 20, 40, 41):
        _query(first, days_ago=days)
    _query(first, days_ago=2, status=QueryStatus.ANSWERED)
    _query(first, days_ago=50, status=QueryStatus.CLOSED)
    _query(second, days_ago=15)
    Subject.objects.filter(pk=first.pk).update(status=SubjectStatus.OFF_STUDY)
    client.force_login(monitor)

    panel = _panel(client)

    assert list(panel) == ["01", "02"]
    site1, site2 = panel["01"], panel["02"]
    assert [site1[f"open-{n}"][0] for n in range(1, 5)] == ["2", "1", "1", "2"]
    assert [site2[f"open-{n}"][0] for n in range(1, 5)] == ["0", "0", "1", "0"]
    assert site1["open-4"][1] == "/data-management/queries/?status=open&site=01&age=31-"
    assert site1["answered"] == ("1", "/data-management/queries/?status=answered&site=01")
    assert site1["signature"] == (
        "1",
        "/data-management/matrix/?site=01&status=awaiting_signature",
    )
    assert site2["signature"][0] == "0"
    overdue = int(site1["overdue"][0])
    assert overdue > 0  # C2D1 and later cycles, 80 days after screening
    assert site1["overdue"][1] == "/visits/worklist/?kind=overdue&site=01"
    assert site1["sdv"][1] == "/data-management/matrix/?site=01&status=awaiting_sdv"
    assert site1["sae"] == ("0", "")


def test_forms_awaiting_sdv_and_signatures_count_down(people, sites, monitor) -> None:
    investigator = people[Role.INVESTIGATOR]
    subject = _enrol(investigator, sites["01"])
    Subject.objects.filter(pk=subject.pk).update(status=SubjectStatus.DIED)
    now = timezone.now()
    today = timezone.localdate()
    before = site_work(monitor, now=now, today=today)[0]
    complete = [
        form
        for spec in registry.all_forms()
        for form in spec.model.objects.filter(subject=subject, status="complete", is_deleted=False)
    ]
    assert before.awaiting_sdv == len(complete) > 0
    assert before.awaiting_signature == 1

    form = complete[0]
    SourceVerification.objects.create(
        subject=subject,
        form_code=registry.for_model(type(form)).code,
        visit_code=form.visit.code if form.visit is not None else "",
        object_model=form._meta.label,
        object_id=form.pk,
        variable="",
        verified_by=monitor,
        verified_at=now,
    )
    Signature.objects.create(
        subject=subject,
        scope=SignatureScope.CASEBOOK,
        signer=investigator,
        printed_name="Wei Zhang",
        signed_at=now,
        site_time_zone="Asia/Shanghai",
        meaning="I attest",
        data_sha256="0" * 64,
    )
    after = site_work(monitor, now=now, today=today)[0]

    assert after.awaiting_sdv == before.awaiting_sdv - 1
    assert after.awaiting_signature == 0


def test_only_the_monitor_has_the_panel(client, people, sites) -> None:
    for role in Role:
        client.force_login(people[role])
        page = client.get(HOME).content.decode()
        assert ('data-testid="monitor-work"' in page) == (role == Role.MONITOR), role


def test_the_monitors_home_costs_the_same_with_1_and_8_subjects(
    client, people, sites, monitor, django_assert_max_num_queries
) -> None:
    investigator = people[Role.INVESTIGATOR]
    _query(_enrol(investigator, sites["01"]), days_ago=1)
    client.force_login(monitor)
    client.get(HOME)
    with CaptureQueriesContext(connection) as small:
        assert client.get(HOME).status_code == 200

    for n in range(7):
        subject = _enrol(investigator, sites["01" if n % 2 else "02"], days_ago=30 + 10 * n)
        _query(subject, days_ago=n * 6)

    with django_assert_max_num_queries(len(small)):
        assert client.get(HOME).status_code == 200
    assert reverse("data_management:matrix") in client.get(HOME).content.decode()
