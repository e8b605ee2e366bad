"""URLs of reports and exports, one module per concern (each keeps its own ``urlpatterns``)."""

from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("", include("reports.urls_pdf")),
    path("", include("reports.urls_casebook")),
    path("", include("reports.urls_bulk")),
    path("", include("reports.urls_csv")),
]
