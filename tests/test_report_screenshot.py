"""Open the daily report in headless Chromium and check that the charts are really drawn."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from test_report_data import D, build

from arrears import warehouse
from arrears.report import write_report
from arrears.report.html import STAGE_COLORS
from arrears.report.svg import heat_color

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 2400


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, bytes per pixel and rows of an 8-bit RGB(A), non-interlaced PNG (as from Chromium)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (2, 6) and interlace == 0, header
    bpp = 3 if color_type == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    previous = bytearray(stride)
    low7, high1 = int.from_bytes(b"\x7f" * stride, "big"), int.from_bytes(b"\x80" * stride, "big")
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            # Byte-wise add without carries across bytes, on the whole row as one integer.
            a, b = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
            total = ((a & low7) + (b & low7)) ^ ((a ^ b) & high1)
            line = bytearray(total.to_bytes(stride, "big"))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(bpp):  # no left neighbour: Paeth predicts the byte above
                line[i] = (line[i] + previous[i]) & 0xFF
            for i in range(bpp, stride):
                a, b, c = line[i - bpp], previous[i], previous[i - bpp]
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - c - c)
                if pa <= pb and pa <= pc:
                    line[i] = (line[i] + a) & 0xFF
                elif pb <= pc:
                    line[i] = (line[i] + b) & 0xFF
                else:
                    line[i] = (line[i] + c) & 0xFF
        previous = line
        rows.append(bytes(line))
    return width, bpp, rows


def colours(rows: list[bytes], bpp: int, top: int, bottom: int) -> Counter[tuple[int, int, int]]:
    found: Counter[tuple[int, int, int]] = Counter()
    for line in rows[top:bottom]:
        found.update(zip(line[0::bpp], line[1::bpp], line[2::bpp], strict=True))
    return found


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed here")
def test_report_screenshot_shows_the_charts(tmp_path: Path) -> None:
    con = warehouse.connect(":memory:")
    build(con)
    report = write_report(con, D, tmp_path / "reports")
    con.close()
    shot = tmp_path / "report.png"

    subprocess.run(
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
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={WIDTH},{HEIGHT}",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shutil.copy(shot, report.with_name("report.png"))  # kept next to the report for a look

    assert shot.stat().st_size > 50_000
    width, bpp, rows = read_png(shot)
    assert (width, len(rows)) == (WIDTH, HEIGHT)
    # The charts start below the header and cards; a blank or unstyled page has a handful.
    chart_area = colours(rows, bpp, 300, HEIGHT)
    assert len(chart_area) > 200
    # Solid fills of the marks: bucket bars, the darkest heat-map cells, funnel bars.
    marks = ("#2f9e44", "#fcc419", "#e03131", "#5f0f40", heat_color(1.0), *STAGE_COLORS[:4])
    for mark in marks:
        assert chart_area[rgb(mark)] > 500, f"no {mark} fill drawn"
