from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path(
        "subjects/<int:subject_pk>/end-treatment/",
        views.end_treatment,
        name="end_treatment",
    ),
]
