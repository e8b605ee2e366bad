from django.urls import path

from adverse_events import deviation_views, sae_views, safety_views, views

app_name = "adverse_events"

urlpatterns = [
    path("terms/", views.term_search, name="term_search"),
    path("grades/", views.grades, name="grades"),
    path("safety/", safety_views.safety, name="safety"),
    path("safety/csv/", safety_views.safety_csv, name="safety_csv"),
    path("safety/events/", safety_views.safety_events, name="safety_events"),
    path("safety/mail/", sae_views.mail_log, name="mail_log"),
    path(
        "subjects/<int:subject_pk>/adverse-events/",
        views.subject_adverse_events,
        name="subject_log",
    ),
    path("deviations/", deviation_views.deviations, name="deviations"),
    path("deviations/csv/", deviation_views.deviations_csv, name="deviations_csv"),
    path(
        "deviations/suggested/<int:finding_pk>/",
        deviation_views.decide_suggestion,
        name="decide_suggestion",
    ),
]
