from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.study_outcomes_page, name="study"),
    path("figures/<str:name>.<str:fmt>", views.study_figure, name="figure"),
    path("data/<str:name>.csv", views.study_csv, name="csv"),
    path(
        "subjects/<int:subject_pk>/end-treatment/",
        views.end_treatment,
        name="end_treatment",
    ),
]
