"""Demo sites and people of every role (make run; never for production)."""

from __future__ import annotations

from dataclasses import dataclass

from study.models import Role, Site
from study.services import upsert_person, upsert_site

DEMO_PASSWORD = "anlo-demo-2026"

DEMO_SITES = (
    ("01", "Demo Site 01 (Beijing)"),
    ("02", "Demo Site 02 (Shanghai)"),
    ("03", "Demo Site 03 (Guangzhou)"),
)


@dataclass(frozen=True)
class DemoPerson:
    username: str
    role: Role
    sites: tuple[str, ...]
    first_name: str
    last_name: str
    pi: bool = False


DEMO_PEOPLE = (
    DemoPerson("investigator", Role.INVESTIGATOR, ("01",), "Wei", "Zhang", pi=True),
    DemoPerson("investigator2", Role.INVESTIGATOR, ("02",), "Li", "Wang", pi=True),
    DemoPerson("sitecoord", Role.SITE_COORDINATOR, ("01",), "Fang", "Liu"),
    DemoPerson("studycoord", Role.STUDY_COORDINATOR, (), "Min", "Chen"),
    DemoPerson("monitor", Role.MONITOR, ("01", "02"), "Jun", "Yang"),
    DemoPerson("datamanager", Role.DATA_MANAGER, (), "Hui", "Zhao"),
    DemoPerson("medmonitor", Role.MEDICAL_MONITOR, (), "Lei", "Huang"),
    DemoPerson("admin", Role.ADMINISTRATOR, (), "Ping", "Zhou"),
)


def seed_people() -> dict[str, Site]:
    """Create or refresh the demo sites and people (idempotent)."""
    sites = {number: upsert_site(number=number, name=name) for number, name in DEMO_SITES}
    for person in DEMO_PEOPLE:
        upsert_person(
            username=person.username,
            password=DEMO_PASSWORD,
            role=person.role,
            sites=[sites[n] for n in person.sites],
            first_name=person.first_name,
            last_name=person.last_name,
            email=f"{person.username}@demo.invalid",
            is_principal_investigator=person.pi,
        )
    return sites
