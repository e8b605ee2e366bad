"""Adverse events: the CTCAE v5.0 term list (reference data)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CtcaeTerm(models.Model):
    """One CTCAE v5.0 term with its MedDRA code, system organ class and grade texts.

    Reference data loaded by a migration from adverse_events/data/ctcae_v5.0.csv (NCI,
    public domain); an empty grade text means the term has no such grade.
    """

    meddra_code = models.CharField(_("MedDRA code"), max_length=10, unique=True)
    soc = models.CharField(_("system organ class"), max_length=120, db_index=True)
    term = models.CharField(_("CTCAE term"), max_length=200, db_index=True)
    grade1 = models.TextField(_("grade 1"), blank=True)
    grade2 = models.TextField(_("grade 2"), blank=True)
    grade3 = models.TextField(_("grade 3"), blank=True)
    grade4 = models.TextField(_("grade 4"), blank=True)
    grade5 = models.TextField(_("grade 5"), blank=True)
    definition = models.TextField(_("definition"), blank=True)

    class Meta:
        ordering = ["soc", "term"]
        verbose_name = _("CTCAE term")
        verbose_name_plural = _("CTCAE terms")

    def __str__(self) -> str:
        return self.term

    @property
    def is_other_specify(self) -> bool:
        """'… - Other, specify' terms need the verbatim term (crf-spec AE AETERMSP)."""
        return self.term.endswith("Other, specify")

    def grades(self) -> list[tuple[int, str]]:
        """The grades this term defines, with their texts (crf-spec AE: only those)."""
        texts = [self.grade1, self.grade2, self.grade3, self.grade4, self.grade5]
        return [(n, text) for n, text in enumerate(texts, start=1) if text and text.strip() != "-"]
