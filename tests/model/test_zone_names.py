"""``is_zone_name`` answers one name from that name's path; it must agree with the whole zone list
(``zoneinfo.available_timezones``) for every zone and for names that are not zones."""

from __future__ import annotations

import os
import zoneinfo

from pylondiag.model.case import _listed_zone, is_zone_name, zone_names


def _files_under_zone_folders() -> set[str]:
    """Every path under the zone folders, folders and special files included (``right/...``, ``posix/...``,
    ``zone.tab``, ``posixrules``...), as a name relative to its folder."""
    names: set[str] = set()
    for root in zoneinfo.TZPATH:
        for folder, dirs, files in os.walk(root):
            for entry in dirs + files:
                names.add(os.path.relpath(os.path.join(folder, entry), root))
    return names


NOT_ZONES = [
    "",
    "Europe",
    "Europe/",
    "/Europe/London",
    "Europe//London",
    "Europe/./London",
    "Europe/../Europe/London",
    "../zoneinfo/Europe/London",
    "europe/london",
    "EUROPE/LONDON",
    "Europe/London\0",
    "Europe/London/x",
    "posixrules",
    "right/Europe/London",
    "posix/Europe/London",
    "zone.tab",
    "tzdata.zi",
    "Mars/Olympus",
    "Europe/" + "x" * 5000,
    "\\Europe\\London",
]


def test_one_name_is_answered_as_the_whole_list_answers_it() -> None:
    listed = zone_names()
    assert "Europe/London" in listed and len(listed) > 300
    candidates = _files_under_zone_folders() | set(NOT_ZONES) | set(listed)
    wrong = sorted(n for n in candidates if _listed_zone(n) != (n in listed))
    assert wrong == []


def test_zones_and_non_zones() -> None:
    assert is_zone_name("Europe/London") and is_zone_name("UTC") and is_zone_name("America/Argentina/Salta")
    assert not any(is_zone_name(n) for n in NOT_ZONES)
