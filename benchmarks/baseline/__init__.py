"""A bare Django 5.2 app measured beside the EDC in the same `make bench` run.

Installed only with ``EDC_BENCH_BASELINE=1`` (trial_edc/settings.py) and mounted under
``/bench-baseline/`` then (trial_edc/urls.py): production and ``make test`` never see it.
Its two views are what Django itself costs behind the project's middleware, login and
CSRF: read and list 28 rows of one table, and validate a small form and save one row.
"""
