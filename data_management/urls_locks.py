"""Locks: the data manager's locks page (the study lock) and the locks of a subject, a
visit and a form, posted from their pages (data_management.lock_views)."""

from django.urls import URLPattern, URLResolver, path

from data_management import lock_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("locks/", lock_views.locks_page, name="locks"),
    path("subjects/<int:subject_pk>/lock/", lock_views.lock_subject, name="lock_subject"),
    path("subjects/<int:subject_pk>/lock-visit/", lock_views.lock_visit, name="lock_visit"),
    path(
        "subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>/lock/",
        lock_views.lock_form,
        name="lock_form",
    ),
]
