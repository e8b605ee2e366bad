from django.urls import path

from visits import views

app_name = "visits"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("subjects/<int:subject_pk>/summary/", views.summary, name="summary"),
]
