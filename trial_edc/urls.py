from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("ANLO-HCC EDC administration")
admin.site.site_title = _("EDC admin")

# Error pages in the site's layout (study.views); the 500 page needs no database.
handler400 = "study.views.bad_request"
handler403 = "study.views.permission_denied"
handler404 = "study.views.page_not_found"
handler500 = "study.views.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("crf/", include("crf.urls")),
    path("enrolment/", include("enrollment.urls")),
    path("visits/", include("visits.urls")),
    path("adverse-events/", include("adverse_events.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("data-management/", include("data_management.urls")),
    path("reports/", include("reports.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("study.urls")),
]

if settings.EDC_BENCH_BASELINE:  # `make bench` only: the bare-Django baseline (benchmarks/)
    urlpatterns.append(path("bench-baseline/", include("benchmarks.baseline.urls")))

if settings.DEBUG:  # pragma: no cover - development convenience only
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
