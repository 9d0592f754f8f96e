"""``pylondiag publish CASE --mqtt URL`` and ``pylondiag monitor PORT --mqtt URL [--every 1m]``.

Both put the stack into Home Assistant through MQTT discovery (:mod:`pylondiag.mqtt`). Exit codes as
everywhere (:mod:`pylondiag.cli_output`): 0 done, 1 the monitor lost the battery, 2 usage or unusable
input (or a missing extra), 3 the broker or the battery console unreachable, 70 a bug.
Light at import: everything heavy is imported inside the commands.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

T = TypeVar("T")

MQTT_HELP = "Broker: mqtt://[USER[:PASSWORD]@]HOST[:PORT] (mqtts:// for TLS)."
NOTIFY_HELP = "Also send alerts to this apprise URL (mailto://, tgram://, ntfy://, json://...); repeatable."


def parse_duration(text: str, minimum_s: float = 0.0) -> float:
    """``90``, ``90s``, ``5m``, ``1h`` -> seconds; a usage error below ``minimum_s``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not m:
        raise typer.BadParameter(f"{text!r}: give a duration such as 30s, 5m or 1h")
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if seconds < minimum_s:
        raise typer.BadParameter(f"{text!r}: at least {minimum_s:g} s")
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


def monitor_cmd(
    port: str = typer.Argument(
        ..., help="The battery console: /dev/ttyUSB0, socket://HOST:PORT, rfc2217://HOST:PORT."
    ),
    mqtt: str = typer.Option(..., "--mqtt", help=MQTT_HELP),
    every: str = typer.Option("1m", "--every", help="How often to read the stack: 30s, 5m, 1h."),
    name: str = typer.Option("battery", "--name", help="Stack id in topics and in Home Assistant."),
    prefix: str = typer.Option("pylondiag", "--topic-prefix", help="Topic prefix of the states."),
    discovery_prefix: str = typer.Option(
        "homeassistant", "--discovery-prefix", help="Home Assistant's discovery prefix."
    ),
    notify: list[str] = typer.Option([], "--notify", help=NOTIFY_HELP),  # noqa: B008
    confirm: int = typer.Option(2, "--confirm", min=1, help="Polls a change must last before it alerts."),
    min_interval: str = typer.Option("1h", "--min-interval", help="At most one alert per this long."),
    polls: int | None = typer.Option(None, "--polls", min=1, help="Stop after N polls (default: run on)."),
    timeout: float = typer.Option(3.0, "--timeout", help="Seconds of console silence before a retry."),
    keep: Path | None = typer.Option(  # noqa: B008
        None, "--keep-last", help="Leave the newest reading here as a case directory (replaced each poll)."
    ),
) -> None:
    """Poll a live stack read-only and keep its states, diagnosis and alerts on MQTT (Home Assistant)."""
    from pylondiag.cli_output import EXIT_OK, detail
    from pylondiag.extras import require

    seconds = parse_duration(every, minimum_s=5)  # the console needs seconds to answer a whole stack
    quiet_s = parse_duration(min_interval)
    _guard(lambda: require("mqtt", "pylondiag monitor"))
    _guard(lambda: require("bus", "pylondiag monitor"))
    from pylondiag.mqtt.alerts import AlertGate
    from pylondiag.mqtt.live import LiveReader
    from pylondiag.mqtt.run import Monitor, Target

    monitor = Monitor(
        Target(mqtt, prefix, discovery_prefix, tuple(notify)),
        name,
        read=LiveReader(port, timeout, keep),
        every_s=seconds,
        gate=AlertGate(confirm=confirm, min_interval_s=quiet_s),
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a clean stop (offline published)
        _guard(lambda: monitor.run(polls, on_poll=lambda n, d: detail(f"poll {n}: {d.outcome.value}")))
    raise typer.Exit(EXIT_OK)


def _guard(step: Callable[[], T]) -> T:
    """Run ``step``; a known failure becomes one line on stderr and its exit status."""
    from pylondiag.cli_output import EXIT_BUG, EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_UNUSABLE, say
    from pylondiag.errors import PylondiagError

    try:
        return step()
    except PylondiagError as exc:
        kind = type(exc).__name__
        say(f"error: {exc}")
        if kind == "BatteryLost":
            raise typer.Exit(EXIT_FAILED) from None
        unreachable = kind in ("BrokerUnavailable", "NoConsole", "PortUnavailable", "NoAnswer")
        raise typer.Exit(EXIT_UNAVAILABLE if unreachable else EXIT_UNUSABLE) from None
    except Exception as exc:  # a bug: one paragraph, never a traceback
        say(f"internal error: {type(exc).__name__}: {exc}. This is a bug in pylondiag; please report it.")
        raise typer.Exit(EXIT_BUG) from None


def register(app: typer.Typer) -> None:
    """Add ``publish`` and ``monitor`` to the main CLI."""
    app.command("publish")(publish_cmd)
    app.command("monitor")(monitor_cmd)
