"""Run one manage.py command and report its peak memory: ``python -m benchmarks.command
migrate -v0``. The parent (benchmarks/run.py) times it by the wall clock, start-up
included, as a person at the command line waits for it."""

from __future__ import annotations

import os
import resource
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial_edc.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["manage.py", *sys.argv[1:]])
    finally:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sys.stderr.write(f"\nBENCH_MAXRSS_KB={peak_kb}\n")


if __name__ == "__main__":
    main()
