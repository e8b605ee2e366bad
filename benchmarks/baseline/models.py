from __future__ import annotations

from django.db import models


class Row(models.Model):
    """One row of the one table the baseline reads and writes: no audit, no checks."""

    name = models.CharField(max_length=100)
    value = models.IntegerField()
    recorded_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    # declared, so type checkers see it while the app is not installed (the mode is off)
    objects: models.Manager[Row] = models.Manager()

    def __str__(self) -> str:
        return self.name
