from django.urls import path

from crf import datafile_views, views

app_name = "crf"

urlpatterns = [
    path("data/export/", datafile_views.data_export, name="data_export"),
    path("data/import/", datafile_views.data_import, name="data_import"),
    path("data/import/confirm/", datafile_views.data_import_confirm, name="data_import_confirm"),
    path("subjects/", views.subject_list, name="subject_list"),
    path("subjects/<int:subject_pk>/", views.subject_detail, name="subject_detail"),
    path("subjects/<int:subject_pk>/audit/", views.subject_audit, name="subject_audit"),
    path(
        "subjects/<int:subject_pk>/visits/<str:visit_code>/forms/<str:form_code>/",
        views.form_page,
        name="visit_form",
    ),
    path("subjects/<int:subject_pk>/forms/<str:form_code>/", views.form_page, name="form"),
    path(
        "subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>/",
        views.form_page,
        name="log_record",
    ),
    path(
        "subjects/<int:subject_pk>/forms/<str:form_code>/<int:record_pk>/delete/",
        views.form_delete,
        name="delete",
    ),
]
