"""Reports from a real case (load_case → diagnose → HTML) over the real console captures, read in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from pylondiag.pipeline import run_case
from pylondiag.report import render_html
from pylondiag.report.view import from_view
from pylondiag.report.words import OUTCOME_HEADLINE

IMBALANCE = "bat_balancing_imbalance__US2000C__GPollakDiener_Pylontech-Battery-Investigation_20260713.txt"
STAT = "stat__US2000C-B67.5.0__Hrabovszki1023_pylontech-console.txt"
PWR = "pwr__US2000C-B67.5.0-mixed-US2000__Hrabovszki1023_pylontech-console.txt"


@pytest.fixture
def case(tmp_path: Path, captures_dir: Path) -> Path:
    """A case directory whose console files are symlinks to the real captures (never copies)."""
    (tmp_path / "console").mkdir()
    for name in (IMBALANCE, STAT, PWR):
        (tmp_path / "console" / name).symlink_to(captures_dir / name)
    (tmp_path / "case.yaml").write_text(
        "schema: pylondiag.case/1\n"
        'case_id: "real-<b>1</b>"\n'
        "site: {location: garage, ambient_c: 4}\n"
        "inverter: {brand: sunsynk, battery_protocol: '00'}\n"
        "stack:\n"
        "  - {position: 1, model: US2000C, led: red_flashing, address: 1, role: master, dip: '0000'}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_view_is_copied_not_judged(case: Path) -> None:
    result = run_case(case)
    data = from_view(result.view)
    m1 = data.module(1)
    assert m1 is not None and m1.model == "US2000C" and m1.led == "red_flashing" and m1.dip == "0000"
    assert m1.soh_pct == 93 and m1.cycles == 666  # the real stat capture: SOH 93, CYCLE Times 666
    cells = data.latest_cells()
    assert cells and max(r.spread_mv or 0 for r in cells.values()) == 3469 - 3345
    assert ("BMS protocol", "00") in data.inverter
    assert ("Location", "garage") in data.site
    assert {f[0] for f in data.files} == {f"console/{n}" for n in (IMBALANCE, STAT, PWR)}


def test_real_case_report_shows_diagnosis_and_evidence(case: Path) -> None:
    result = run_case(case)
    d = result.diagnosis
    html = render_html(d, result.view)
    assert OUTCOME_HEADLINE[d.outcome] in html
    assert 'id="chart-cells"' in html and 'id="chart-counters"' in html
    assert "real-&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html
    for f in d.findings:
        for ref in f.evidence:
            assert ref.source in html


def test_photos_are_embedded_small_and_broken_ones_listed(case: Path) -> None:
    import base64
    import io

    from PIL import Image

    (case / "photos").mkdir()
    Image.new("RGB", (3000, 2000), (40, 60, 90)).save(case / "photos" / "front.jpg", quality=95)
    (case / "photos" / "broken.png").write_bytes(b"this is not a picture")
    result = run_case(case)
    data = from_view(result.view)
    by_name = {p.name: p for p in data.photos}
    assert set(by_name) == {"photos/front.jpg", "photos/broken.png"}
    good = by_name["photos/front.jpg"]
    assert good.data_uri is not None and good.data_uri.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(good.data_uri.split(",", 1)[1]))) as img:
        assert max(img.size) == 1000
    assert by_name["photos/broken.png"].data_uri is None
    assert "cannot be read" in by_name["photos/broken.png"].note
    html = render_html(result.diagnosis, result.view)
    assert html.count('<img src="data:image/jpeg;base64,') == 1
    assert "photos/broken.png</code> — not shown" in html


def test_a_png_that_decodes_to_too_many_pixels_is_listed_not_decoded(tmp_path: Path) -> None:
    """60 MP of one colour is a few hundred kB of PNG; Pillow would decode it whole (180 MB) before
    shrinking. A 60 MP JPEG is still shown: Pillow decodes it at 1/8 scale."""
    from PIL import Image

    from pylondiag.report.photos import MAX_DECODED_PIXELS, embed

    big = Image.new("L", (10_000, 6_000), 128)
    assert MAX_DECODED_PIXELS < 10_000 * 6_000
    big.save(tmp_path / "flat.png")
    big.save(tmp_path / "flat.jpg", quality=50)
    del big
    assert (tmp_path / "flat.png").stat().st_size < 1_000_000
    png = embed(tmp_path / "flat.png", "photos/flat.png")
    assert png.data_uri is None and "10000 × 6000 pixels" in png.note
    jpg = embed(tmp_path / "flat.jpg", "photos/flat.jpg")
    assert jpg.data_uri is not None and jpg.data_uri.startswith("data:image/jpeg;base64,")
