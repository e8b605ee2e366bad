"""Source data verification: progress, a form's SDV page, and verifying (POST)."""

from django.urls import URLPattern, URLResolver, path

from data_management import sdv_views

FORM = "sdv/subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("sdv/", sdv_views.sdv_progress, name="sdv_progress"),
    path(FORM, sdv_views.sdv_form, name="sdv_form"),
    path(f"{FORM}verify/", sdv_views.sdv_verify, name="sdv_verify"),
]
