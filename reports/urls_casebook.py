"""The subject casebook (reports/casebook.py)."""

from django.urls import URLPattern, URLResolver, path

from reports import casebook

urlpatterns: list[URLPattern | URLResolver] = [
    path("subjects/<int:subject_pk>/casebook.pdf", casebook.casebook_pdf, name="casebook"),
]
