"""URLs of data management, one module per concern (each keeps its own ``urlpatterns``)."""

from django.urls import include, path

app_name = "data_management"

urlpatterns = [
    path("", include("data_management.urls_queries")),
    path("", include("data_management.urls_sdv")),
    path("", include("data_management.urls_signatures")),
    path("", include("data_management.urls_locks")),
    path("", include("data_management.urls_audit")),
    path("", include("data_management.urls_workspace")),
]
