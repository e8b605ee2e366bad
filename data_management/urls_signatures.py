"""PI signatures: the signing queue and the signing pages (data_management.signature_views)."""

from django.urls import URLPattern, URLResolver, path

from data_management import signature_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("signatures/", signature_views.signature_queue, name="signature_queue"),
    path(
        "signatures/subjects/<int:subject_pk>/casebook/",
        signature_views.sign_casebook,
        name="sign_casebook",
    ),
    path(
        "signatures/subjects/<int:subject_pk>/visits/<str:visit_code>/",
        signature_views.sign_visit,
        name="sign_visit",
    ),
]
