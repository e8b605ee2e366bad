from django.urls import path

from benchmarks.baseline import views

app_name = "bench_baseline"

urlpatterns = [
    path("rows/", views.rows, name="rows"),
    path("rows/new/", views.new_row, name="new_row"),
]
