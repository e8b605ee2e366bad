"""The CTCAE v5.0 term list is present after migrate, with only the grades each term defines."""

import pytest

from adverse_events.models import CtcaeTerm

pytestmark = pytest.mark.django_db


def test_all_837_terms_in_26_organ_classes_after_migrate() -> None:
    assert CtcaeTerm.objects.count() == 837
    assert CtcaeTerm.objects.values("soc").distinct().count() == 26


def test_hypertension_has_its_meddra_code_class_and_five_grades() -> None:
    term = CtcaeTerm.objects.get(term="Hypertension")
    assert (term.meddra_code, term.soc) == ("10020772", "Vascular disorders")
    assert [grade for grade, _ in term.grades()] == [1, 2, 3, 4, 5]
    assert term.grades()[4][1] == "Death"


def test_a_term_offers_only_the_grades_it_defines() -> None:
    alopecia = CtcaeTerm.objects.get(term="Alopecia")
    assert [grade for grade, _ in alopecia.grades()] == [1, 2]


def test_other_specify_terms_are_recognised() -> None:
    term = CtcaeTerm.objects.get(term="Blood and lymphatic system disorders - Other, specify")
    assert term.is_other_specify
