from django.urls import URLPattern, URLResolver, path

from data_management import audit_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("audit/", audit_views.audit_search, name="audit_search"),
    path("audit/export.csv", audit_views.audit_csv, name="audit_csv"),
    path("audit/check/", audit_views.audit_check_run, name="audit_check_run"),
]
