"""Query pages (data_management.query_views), under /data-management/."""

from django.urls import URLPattern, URLResolver, path

from data_management import query_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("queries/", views.query_list, name="queries"),
    path("queries/metrics/", views.query_metrics, name="query_metrics"),
    path("queries/queries.csv", views.query_csv, name="queries_csv"),
    path(
        "subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>/queries/raise/",
        views.raise_query,
        name="query_raise",
    ),
    path(
        "subjects/<int:subject_pk>/queries/<int:query_pk>/answer/",
        views.answer_query,
        name="query_answer",
    ),
    path(
        "subjects/<int:subject_pk>/queries/<int:query_pk>/close/",
        views.close_query,
        name="query_close",
    ),
    path(
        "subjects/<int:subject_pk>/queries/<int:query_pk>/reopen/",
        views.reopen_query,
        name="query_reopen",
    ),
    path(
        "subjects/<int:subject_pk>/queries/<int:query_pk>/comment/",
        views.comment_query,
        name="query_comment",
    ),
]
