"""`manage.py figure_fonts`: which font the outcome figures draw Chinese with, or what to
install when the machine has none (`make run` calls it before serving)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Say which font the outcome figures draw Chinese text with, or what to install."

    def handle(self, *args: Any, **options: Any) -> None:
        from outcomes import figures

        choice = figures.cjk_font()
        if choice is None:
            # A warning, not a failure: everything but Chinese text in PNG figures works.
            self.stderr.write(self.style.WARNING(figures.NO_CJK_FONT_HELP))
            return
        self.stdout.write(
            f"Outcome figures draw Chinese text with {choice.family} ({choice.path})."
        )
