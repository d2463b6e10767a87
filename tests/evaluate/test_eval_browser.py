"""report.html in headless Chromium (Playwright): the win-rate table, CI bars, plots and image grids render.

The ``page`` fixture (tests/conftest.py) drives a system Chromium; the test is skipped,
saying why, when Playwright or Chromium is missing.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def test_report_renders_tables_bars_plots_and_grids(eval_run, page, tmp_path):
    out, results = eval_run
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "report.html").as_uri())
    page.wait_for_load_state("load")

    table = page.locator("#winrates-per-seed")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 6  # 4 models: every later one against every earlier one
    assert table.locator("th").nth(1).inner_text().lower().startswith("toy-taste")
    # Bars: lora loses on adherence with an interval below 1/2; 'same' ties base exactly.
    lora_row = table.locator("tbody tr", has_text="lora").first
    assert lora_row.locator(".cibar").nth(1).get_attribute("data-verdict") == "loss"
    same_row = table.locator("tbody tr", has_text="same").first
    assert same_row.locator(".cibar").first.get_attribute("data-verdict") == "even"
    assert "50.0%" in same_row.inner_text()

    # Every image (plots and example grids) has loaded with real pixels.
    sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.getAttribute('src')])")
    assert sizes and all(done and width > 0 for done, width, _ in sizes), [s for s in sizes if not s[1]]
    shots = page.locator("#examples .shot img")
    assert shots.count() >= 4 * 3 and shots.first.is_visible()
    assert page.locator("#distributions img.plot").count() == len(results["scorers"])
    assert page.locator("#diversity table").is_visible()
    assert not errors

    png = page.screenshot(full_page=True)
    (tmp_path / "report.png").write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)
    assert image.shape[0] > 2000 and image.shape[1] == 1280
    assert image.std() > 20  # not blank
    colours = len(np.unique(image.reshape(-1, 3)[::7].astype(np.uint8), axis=0))
    assert colours > 500  # text, bars, plots and images, not a flat page
