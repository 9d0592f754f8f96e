"""``pylondiag publish CASE --mqtt URL`` and ``pylondiag monitor PORT --mqtt URL [--every 1m]``.

Both put the stack into Home Assistant through MQTT discovery (:mod:`pylondiag.mqtt`). Exit codes as
everywhere (:mod:`pylondiag.cli_output`): 0 done, 1 the monitor lost the battery, 2 usage or unusable
input (or a missing extra), 3 the broker or the battery console unreachable, 70 a bug.
Light at import: everything heavy is imported inside the commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

T = TypeVar("T")

MQTT_HELP = "Broker: mqtt://[USER[:PASSWORD]@]HOST[:PORT] (mqtts:// for TLS)."
NOTIFY_HELP = "Also send alerts to this apprise URL (mailto://, tgram://, ntfy://, json://...); repeatable."


def parse_every(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h`` -> seconds (at least 5 s: the console needs time to answer)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not m:
        raise typer.BadParameter(f"{text!r}: give a duration such as 30s, 5m or 1h")
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if seconds < 5:
        raise typer.BadParameter(f"{text!r}: poll at most every 5 s")
    return seconds


def publish_cmd(
    case: Path = typer.Argument(..., help="A case directory or evidence file (diagnosed now)."),  # noqa: B008
    mqtt: str = typer.Option(..., "--mqtt", help=MQTT_HELP),
    name: str | None = typer.Option(None, "--name", help="Stack id in topics (default: the case id)."),
    prefix: str = typer.Option("pylondiag", "--topic-prefix", help="Topic prefix of the states."),
    discovery_prefix: str = typer.Option(
        "homeassistant", "--discovery-prefix", help="Home Assistant's discovery prefix."
    ),
    notify: list[str] = typer.Option([], "--notify", help=NOTIFY_HELP),  # noqa: B008
) -> None:
    """Diagnose a case once and publish its states and diagnosis to MQTT with Home Assistant discovery."""
    from pylondiag.cli_output import EXIT_OK, note, say
    from pylondiag.extras import require

    _guard(lambda: require("mqtt", "pylondiag publish"))
    from pylondiag.mqtt.run import Target, publish_case

    target = Target(mqtt, prefix, discovery_prefix, tuple(notify))
    done = _guard(lambda: publish_case(case, target, name))
    note(f"published {done.messages} message(s) under {done.topics.base}/")
    if done.alert is not None:
        say(f"alert: {done.alert.title}")
    raise typer.Exit(EXIT_OK)


def _guard(step: Callable[[], T]) -> T:
    """Run ``step``; a known failure becomes one line on stderr and its exit status."""
    from pylondiag.cli_output import EXIT_BUG, EXIT_UNAVAILABLE, EXIT_UNUSABLE, say
    from pylondiag.errors import PylondiagError

    try:
        return step()
    except PylondiagError as exc:
        unreachable = type(exc).__name__ in ("BrokerUnavailable", "NoConsole", "PortUnavailable")
        say(f"error: {exc}")
        raise typer.Exit(EXIT_UNAVAILABLE if unreachable else EXIT_UNUSABLE) from None
    except Exception as exc:  # a bug: one paragraph, never a traceback
        say(f"internal error: {type(exc).__name__}: {exc}. This is a bug in pylondiag; please report it.")
        raise typer.Exit(EXIT_BUG) from None


def register(app: typer.Typer) -> None:
    """Add ``publish`` (and ``monitor``) to the main CLI."""
    app.command("publish")(publish_cmd)
