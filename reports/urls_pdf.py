"""Completed CRF PDFs and the blank annotated CRF (reports/crf_pdf.py)."""

from django.urls import URLPattern, URLResolver, path

from reports import crf_pdf

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>.pdf",
        crf_pdf.form_pdf,
        name="crf_form_pdf",
    ),
    path(
        "subjects/<int:subject_pk>/visits/<str:visit_code>.pdf",
        crf_pdf.visit_pdf,
        name="crf_visit_pdf",
    ),
    path("blank-crf.pdf", crf_pdf.blank_crf_pdf, name="blank_crf_pdf"),
]
