from django.urls import path

from study import views

app_name = "study"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("people/changes/", views.access_change_list, name="access_changes"),
]
