"""The report in headless Chromium at laptop widths: nothing wider than its card or the page."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from test_report_data import D, build, store_kpis

from arrears import warehouse
from arrears.report import write_report

CHROMIUM = Path("/usr/bin/chromium")

# Runs in the page once laid out, and writes what it measured into the DOM that --dump-dom
# prints: the page's own width, and every section, card and table box wider than its parent.
PROBE = """
<script>
(() => {
  const found = [];
  const page = document.documentElement;
  if (page.scrollWidth > window.innerWidth) found.push(`page ${page.scrollWidth}px`);
  for (const box of document.querySelectorAll("section, .card, .scroll, .wide, table")) {
    const parent = box.parentElement.getBoundingClientRect();
    const own = box.getBoundingClientRect();
    const clipped = box.parentElement.classList.contains("scroll");
    if (!clipped && own.right > parent.right + 0.5) {
      found.push(`${box.tagName.toLowerCase()}#${box.id || box.className} ` +
                 `ends at ${own.right}px, its parent at ${parent.right}px`);
    }
    if (box.tagName === "SECTION" && box.scrollWidth > box.clientWidth) {
      found.push(`section#${box.id} scrolls ${box.scrollWidth - box.clientWidth}px`);
    }
  }
  const validation = document.querySelector("#operations .wide:last-child .scroll");
  const fits = validation ? validation.scrollWidth <= validation.clientWidth : false;
  const out = document.createElement("pre");
  out.id = "layout-probe";
  out.textContent = JSON.stringify({width: window.innerWidth, found, validationFits: fits});
  document.body.appendChild(out);
})();
</script>
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("layout")
    con = warehouse.connect(":memory:")
    build(con)
    store_kpis(con)
    # A long rule name, as a real suite has: it must wrap, not push the table out.
    con.execute(
        "update quality.runs set details_json = $d where suite = 'loans.warning'",
        {
            "d": json.dumps(
                [
                    {
                        "rule": "outstanding_principal greater than principal_amount "
                        "for a loan that is not charged off",
                        "success": False,
                        "unexpected_count": 1234,
                    }
                ]
            )
        },
    )
    path = write_report(con, D, folder / "reports")
    con.close()
    probed = path.with_name("probed.html")
    probed.write_text(path.read_text("utf-8").replace("</body>", PROBE + "</body>"), "utf-8")
    return probed


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed here")
@pytest.mark.parametrize("width", [1100, 1400])
def test_nothing_spills_out_of_its_card(report: Path, width: int, tmp_path: Path) -> None:
    dom = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},1000",
            "--dump-dom",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    match = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom)
    assert match, "the probe did not run"
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&gt;", ">"))
    assert probe["width"] == width
    assert probe["found"] == []
    assert probe["validationFits"], "the validation table needs a scroll bar"
