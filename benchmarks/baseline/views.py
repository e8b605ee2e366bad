"""The bare read and the bare save: plain function views, ``login_required``, a template."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from benchmarks.baseline.forms import RowForm
from benchmarks.baseline.models import Row

ROWS_LISTED = 28  # the study's size: a list of 28 rows, as the baseline


@login_required
def rows(request: HttpRequest) -> HttpResponse:
    listed = Row.objects.order_by("id")[:ROWS_LISTED]
    return render(request, "baseline/rows.html", {"rows": listed})


@login_required
def new_row(request: HttpRequest) -> HttpResponse:
    form = RowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("bench_baseline:rows")
    return render(request, "baseline/row_form.html", {"form": form})
