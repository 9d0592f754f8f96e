"""Preliminary and signed-off reports: the banner on page one, "PRELIMINARY" in every PDF page header,
the signed-off report naming the engineer and the time (read back with pdftotext as a person sees it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import report_samples as samples

from pylondiag.errors import PylondiagError
from pylondiag.report import PRELIMINARY_TEXT, SignOff, render_html, render_pdf

SIGNED = SignOff(engineer="ana.engineer@example.com", at=datetime(2026, 11, 20, 14, 5, tzinfo=UTC))
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftotext", "pdfinfo")),
    reason="poppler-utils not installed (scripts/setup.sh installs it)",
)


def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert m, info
    return [
        re.sub(
            r"\s+",
            " ",
            subprocess.run(
                ["pdftotext", "-enc", "UTF-8", "-f", str(i), "-l", str(i), str(path), "-"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout,
        )
        for i in range(1, int(m.group(1)) + 1)
    ]


def test_html_preliminary_banner_comes_before_the_outcome() -> None:
    d, data = samples.ALL_OUTCOMES["replace"]()
    html = render_html(d, data, generated_at=samples.GENERATED, preliminary=True)
    assert html.count('id="preliminary"') == 1
    assert html.index('id="preliminary"') < html.index('id="outcome"')
    assert "PRELIMINARY — automatic diagnosis, not yet reviewed by an engineer" in html
    assert "Signed off by" not in html


def test_html_default_and_signed_off_have_no_preliminary_mark() -> None:
    d, data = samples.ALL_OUTCOMES["replace"]()
    plain = render_html(d, data, generated_at=samples.GENERATED)
    signed = render_html(d, data, generated_at=samples.GENERATED, signed_off=SIGNED)
    for html in (plain, signed):
        assert "PRELIMINARY" not in html
    assert 'id="signed-off"' in signed and 'id="signed-off"' not in plain
    assert "ana.engineer@example.com" in signed and "2026-11-20 14:05 UTC" in signed


def test_signed_off_engineer_name_is_escaped_in_page_and_page_footer() -> None:
    d, data = samples.ALL_OUTCOMES["rebalance"]()
    evil = SignOff(engineer='x"; } body { color: red } </style><script>alert(1)</script>@e.org', at=SIGNED.at)
    html = render_html(d, data, signed_off=evil)
    assert "<script>alert" not in html
    assert html.count("</style>") == 1
    rule = re.search(r'@bottom-left \{ content: "([^"]*)"; \}', html)
    assert rule is not None, "the footer rule is one closed CSS string"
    assert not set(rule.group(1)) & set('{}<>;\\"')


def test_both_preliminary_and_signed_off_is_refused() -> None:
    d, data = samples.ALL_OUTCOMES["replace"]()
    with pytest.raises(PylondiagError):
        render_html(d, data, preliminary=True, signed_off=SIGNED)


@needs_poppler
def test_pdf_preliminary_on_page_one_and_every_page_header(tmp_path: Path) -> None:
    d, data = samples.ALL_OUTCOMES["replace"]()
    pages = page_texts(render_pdf(d, data, generated_at=samples.GENERATED, preliminary=True), tmp_path)
    assert len(pages) >= 2
    assert "PRELIMINARY — automatic diagnosis, not yet reviewed by an engineer" in pages[0]
    for i, text in enumerate(pages, 1):
        assert "PRELIMINARY" in text, f"page {i} has no PRELIMINARY header"
    assert PRELIMINARY_TEXT.startswith("PRELIMINARY")


@needs_poppler
def test_pdf_signed_off_names_engineer_and_time_and_is_not_preliminary(tmp_path: Path) -> None:
    d, data = samples.ALL_OUTCOMES["replace"]()
    pages = page_texts(render_pdf(d, data, generated_at=samples.GENERATED, signed_off=SIGNED), tmp_path)
    whole = " ".join(pages)
    assert "PRELIMINARY" not in whole.upper()
    assert "ana.engineer@example.com" in pages[0] and "2026-11-20 14:05 UTC" in pages[0]
    for i, text in enumerate(pages, 1):
        assert "Signed off by ana.engineer@example.com" in text, f"page {i} footer"
