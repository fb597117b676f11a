"""The SMS channel. ``SMS_BACKEND`` names a class with ``send(phone, text)``; the default writes the message to
the log (no SMS provider is reachable here). A real provider (阿里云短信, 腾讯云短信, a government SMS gateway)
is one class: raise ``OSError`` (or a subclass) on a transient failure and the task retries with backoff."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("kjproject.sms")


class LogBackend:
    """Writes each message to the ``kjproject.sms`` log instead of sending it."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)


class LocmemBackend:
    """Keeps messages in ``LocmemBackend.outbox`` (for tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        LocmemBackend.outbox.append((phone, text))


def get_backend():
    return import_string(settings.SMS_BACKEND)()


def sms_text(title: str, link: str = "") -> str:
    """Short: the title and where to act. Providers put the signature (【科技局】) in front themselves."""
    text = str(title)
    if link:
        text = f"{text} {settings.SITE_URL}{link}"
    return text[:300]
