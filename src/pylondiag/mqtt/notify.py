"""Alerts to notification URLs through apprise (e-mail ``mailto://``, Telegram ``tgram://``, ntfy
``ntfy://``, webhooks ``json://`` ...: https://github.com/caronc/apprise/wiki)."""

from __future__ import annotations

import logging

import apprise

from pylondiag.errors import PylondiagError
from pylondiag.mqtt.alerts import Alert

log = logging.getLogger(__name__)


class BadNotifyUrl(PylondiagError):
    """A ``--notify`` URL apprise does not understand (CLI exit 2)."""


class Notifier:
    def __init__(self, urls: list[str]) -> None:
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else url[:12]
                raise BadNotifyUrl(f"--notify: {scheme}:// is not a notification URL apprise knows")

    def __bool__(self) -> bool:
        return len(self._apprise) > 0

    def send(self, alert: Alert) -> bool:
        """Send to every URL; False (and a warning) when one could not be delivered."""
        if not self:
            return True
        ok = bool(self._apprise.notify(title=alert.title, body=alert.body))
        if not ok:
            log.warning("an alert could not be delivered to every notification URL")
        return ok
