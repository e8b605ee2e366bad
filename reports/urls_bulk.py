"""Site casebook ZIPs built by Celery (reports.bulk_views)."""

from django.urls import URLPattern, URLResolver, path

from reports import bulk_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("casebooks/", bulk_views.start_page, name="casebooks"),
    path("casebooks/<int:job_pk>/", bulk_views.job_page, name="casebooks_job"),
    path("casebooks/<int:job_pk>/progress/", bulk_views.job_progress, name="casebooks_progress"),
    path("casebooks/<int:job_pk>/download.zip", bulk_views.job_download, name="casebooks_download"),
    path(
        "casebooks/<int:job_pk>/items/<int:item_pk>/retry/",
        bulk_views.retry,
        name="casebooks_retry",
    ),
]
