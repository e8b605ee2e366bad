"""Digests on the administrator's page: a digest that failed after its last retry shows here
with its error (issue 14)."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import Digest


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("local_date", "kind", "recipient", "site", "status", "attempts", "sent_at")
    list_filter = ("status", "kind", "site")
    readonly_fields = (
        "recipient",
        "kind",
        "local_date",
        "site",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    date_hierarchy = "local_date"

    def has_add_permission(self, request: object) -> bool:  # type: ignore[override]
        return False
