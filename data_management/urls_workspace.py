from django.urls import URLPattern, URLResolver, path

from data_management import matrix

urlpatterns: list[URLPattern | URLResolver] = [
    path("matrix/", matrix.status_matrix, name="matrix"),
]
