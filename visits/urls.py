from django.urls import path

from visits import views

app_name = "visits"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("subjects/<int:subject_pk>/summary/", views.summary, name="summary"),
    path(
        "subjects/<int:subject_pk>/visits/<str:visit_code>/missed/",
        views.declare_missed,
        name="declare_missed",
    ),
]
