from django.urls import path

from enrollment import dashboard_views, views

app_name = "enrollment"

urlpatterns = [
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/<str:table>.csv", dashboard_views.dashboard_csv, name="dashboard_csv"),
    path("screening/new/", views.register, name="register"),
    path("subjects/<int:subject_pk>/eligibility/", views.eligibility, name="eligibility"),
    path("subjects/<int:subject_pk>/screen-failure/", views.screen_failure, name="screen_failure"),
    path("subjects/<int:subject_pk>/enrol/", views.enrol, name="enrol"),
    path("criteria/", views.criteria, name="criteria"),
    path("criteria/<int:pk>/", views.criterion_edit, name="criterion_edit"),
    path("target/", views.target, name="target"),
]
