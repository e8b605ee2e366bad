"""CSV exports: the page, each form's and group's CSV, the dictionary, the ZIP, the JSON."""

from django.urls import URLPattern, URLResolver, path

from reports import csv_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("csv/", csv_views.csv_index, name="csv_index"),
    path("csv/export.zip", csv_views.export_zip, name="csv_zip"),
    path("csv/data-dictionary.csv", csv_views.dictionary_csv, name="csv_dictionary"),
    path("csv/study-data.json", csv_views.study_data, name="csv_study_data"),
    path("csv/<str:form_code>.csv", csv_views.form_csv, name="csv_form"),
    path("csv/<str:form_code>/<str:group_name>.csv", csv_views.group_csv, name="csv_group"),
]
