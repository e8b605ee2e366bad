"""A mail backend that hangs before it sends (a slow SMTP server), for the worker-kill test.

It leaves a marker file first, so the test knows a worker is inside a send when it
kills it; then it waits EDC_SLOW_MAIL_SECONDS and writes the mail as Django's file
backend does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        Path(os.environ["EDC_SLOW_MAIL_MARKER"]).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("EDC_SLOW_MAIL_SECONDS", "120")))
        return super().send_messages(email_messages)
