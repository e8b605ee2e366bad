"""The project's URLconf plus a view that fails, to see the 500 page a person gets."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from trial_edc.urls import handler400, handler403, handler404, handler500
from trial_edc.urls import urlpatterns as project_urlpatterns


def database_gone(request: HttpRequest) -> HttpResponse:
    raise OperationalError("terminating connection due to administrator command")


urlpatterns: list[URLPattern | URLResolver] = [
    path("test-fault/database-gone/", database_gone),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
