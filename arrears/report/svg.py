"""Small inline-SVG charts: no JavaScript, no network, the same text for the same numbers.

Coordinates are written with one decimal so the output is byte-for-byte stable. Every mark
carries a <title> (the browser's tooltip) with the exact figure, and a data-value attribute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from arrears.report import fmt

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""
AXIS = "#9aa5b1"
GRID = "#e4e7eb"
TEXT = "#323f4b"
MUTED = "#616e7c"

Number = int | Decimal


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[Number]


def _n(x: float) -> str:
    return f"{x:.1f}"


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5, 5 x 10^k) up to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _tick_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:,.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{value / 1_000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _open(width: int, height: int, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_t(label)}" {FONT}>'
    ]


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, width: float) -> list[str]:
    out, cx, cy = [], x, y
    for name, color in items:
        span = 22 + 7.2 * len(name) + 18
        if cx + span > x + width:
            cx, cy = x, cy + 18
        out.append(
            f'<rect x="{_n(cx)}" y="{_n(cy - 10)}" width="12" height="12" rx="2" fill="{color}"/>'
            f'<text x="{_n(cx + 17)}" y="{_n(cy)}" font-size="12" fill="{TEXT}">{_t(name)}</text>'
        )
        cx += span
    return out


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    y_title: str,
    width: int = 1120,
    height: int = 340,
    value_format=lambda v: f"{v:,}",
) -> str:
    """Vertical bars, one per category, stacked by series (bottom = first series)."""
    left, right, top, bottom = 64, 16, 40, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum((s.values[i] for s in series), 0) for i in range(len(categories))]
    ticks = nice_ticks(float(max(totals, default=0)))
    scale = plot_h / ticks[-1]
    out = _open(width, height, label)
    out += _legend([(s.name, s.color) for s in series], left, 16, plot_w)
    for tick in ticks:
        y = top + plot_h - tick * scale
        out.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" y2="{_n(y)}" stroke="{GRID}"/>'
            f'<text x="{left - 8}" y="{_n(y + 4)}" font-size="11" fill="{MUTED}" '
            f'text-anchor="end">{_tick_label(tick)}</text>'
        )
    out.append(
        f'<text transform="translate(14 {_n(top + plot_h / 2)}) rotate(-90)" font-size="12" '
        f'fill="{MUTED}" text-anchor="middle">{_t(y_title)}</text>'
    )
    n = max(len(categories), 1)
    slot = plot_w / n
    bar_w = min(slot * 0.72, 48)
    every = max(1, math.ceil(n / 16))
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        base = float(top + plot_h)
        for s in series:
            value = s.values[i]
            if value:
                h = float(value) * scale
                base -= h
                out.append(
                    f'<rect class="bar" x="{_n(x)}" y="{_n(base)}" width="{_n(bar_w)}" '
                    f'height="{_n(h)}" fill="{s.color}" data-series="{_t(s.name)}" '
                    f'data-value="{value}"><title>{_t(category)} · {_t(s.name)}: '
                    f"{_t(value_format(value))}</title></rect>"
                )
        if i % every == 0 or i == n - 1:
            out.append(
                f'<text x="{_n(x + bar_w / 2)}" y="{top + plot_h + 16}" font-size="11" '
                f'fill="{MUTED}" text-anchor="end" '
                f'transform="rotate(-35 {_n(x + bar_w / 2)} {top + plot_h + 16})">'
                f"{_t(category)}</text>"
            )
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/>'
    )
    out.append("</svg>")
    return "".join(out)


def heat_color(share: float) -> str:
    """White to deep blue; a share of 0 stays white."""
    share = min(max(share, 0.0), 1.0) ** 0.6  # lift small shares so a 2 % roll is visible
    low, high = (247, 251, 255), (8, 69, 148)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: dict[tuple[str, str], tuple[Decimal, int]],
    *,
    label: str,
    row_title: str,
    column_title: str,
    cell_w: int = 96,
    cell_h: int = 40,
) -> str:
    """A matrix of shares: each cell shows its share as a percentage and its loan count."""
    left, top = 120, 64
    width = left + cell_w * len(columns) + 16
    height = top + cell_h * len(rows) + 16
    out = _open(width, height, label)
    out.append(
        f'<text x="{_n(left + cell_w * len(columns) / 2)}" y="16" font-size="12" fill="{MUTED}" '
        f'text-anchor="middle">{_t(column_title)}</text>'
    )
    out.append(f'<text x="8" y="{top - 12}" font-size="12" fill="{MUTED}">{_t(row_title)}</text>')
    for j, column in enumerate(columns):
        out.append(
            f'<text x="{_n(left + cell_w * j + cell_w / 2)}" y="{top - 12}" font-size="12" '
            f'font-weight="600" fill="{TEXT}" text-anchor="middle">{_t(column)}</text>'
        )
    for i, row in enumerate(rows):
        y = top + cell_h * i
        out.append(
            f'<text x="{left - 12}" y="{_n(y + cell_h / 2 + 4)}" font-size="12" font-weight="600" '
            f'fill="{TEXT}" text-anchor="end">{_t(row)}</text>'
        )
        for j, column in enumerate(columns):
            x = left + cell_w * j
            share, loans = cells.get((row, column), (Decimal(0), 0))
            fill = heat_color(float(share))
            ink = "#ffffff" if float(share) >= 0.45 else TEXT
            percent = f"{share * 100:.1f}%"
            out.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'rx="3" fill="{fill}" stroke="{GRID}" '
                f'data-from="{_t(row)}" data-to="{_t(column)}" '
                f'data-value="{share}"><title>{_t(row)} → {_t(column)}: {percent} '
                f"({fmt.counted(loans, 'loan')})</title></rect>"
            )
            if loans:
                out.append(
                    f'<text x="{_n(x + cell_w / 2 - 1)}" y="{_n(y + 17)}" font-size="12" '
                    f'font-weight="600" fill="{ink}" text-anchor="middle">{percent}</text>'
                    f'<text x="{_n(x + cell_w / 2 - 1)}" y="{_n(y + 31)}" font-size="10" '
                    f'fill="{ink}" text-anchor="middle">{loans:,}</text>'
                )
    out.append("</svg>")
    return "".join(out)


def funnel(
    stages: Sequence[str],
    values: Sequence[int],
    *,
    label: str,
    colors: Sequence[str],
    width: int = 1120,
    bar_h: int = 34,
) -> str:
    """Centred horizontal bars, widest for the largest count."""
    left, right, gap = 130, 130, 8
    plot_w = width - left - right
    height = len(stages) * (bar_h + gap) + gap
    top_value = max(values, default=0) or 1
    out = _open(width, height, label)
    for i, (stage, value) in enumerate(zip(stages, values, strict=True)):
        y = gap + i * (bar_h + gap)
        w = max(plot_w * value / top_value, 2.0)
        x = left + (plot_w - w) / 2
        out.append(
            f'<text x="{left - 12}" y="{_n(y + bar_h / 2 + 4)}" font-size="13" font-weight="600" '
            f'fill="{TEXT}" text-anchor="end">{_t(stage)}</text>'
            f'<rect class="bar" x="{_n(x)}" y="{y}" width="{_n(w)}" height="{bar_h}" rx="4" '
            f'fill="{colors[i % len(colors)]}" data-series="{_t(stage)}" data-value="{value}">'
            f"<title>{_t(stage)}: {fmt.counted(value, 'customer')}</title></rect>"
            f'<text x="{left + plot_w + 12}" y="{_n(y + bar_h / 2 + 4)}" font-size="13" '
            f'fill="{TEXT}">{value:,}</text>'
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Panel:
    title: str
    # (variant, value or None, text shown)
    bars: Sequence[tuple[str, Decimal | int | None, str]]


def paired_bars(
    panels: Sequence[Panel],
    *,
    label: str,
    colors: dict[str, str],
    panel_w: int = 260,
    height: int = 230,
) -> str:
    """Small multiples: one panel per metric, one bar per variant, each panel on its own scale."""
    gap = 20
    width = len(panels) * (panel_w + gap)
    top, bottom = 34, 30
    plot_h = height - top - bottom
    out = _open(width, height, label)
    for p, panel in enumerate(panels):
        x0 = p * (panel_w + gap)
        out.append(
            f'<rect x="{x0}" y="0" width="{panel_w}" height="{height}" rx="6" fill="#f8fafc" '
            f'stroke="{GRID}"/>'
            f'<text x="{_n(x0 + panel_w / 2)}" y="20" font-size="13" font-weight="600" '
            f'fill="{TEXT}" text-anchor="middle">{_t(panel.title)}</text>'
        )
        top_value = max((float(v) for _, v, _ in panel.bars if v is not None), default=0) or 1
        n = max(len(panel.bars), 1)
        slot = (panel_w - 40) / n
        bar_w = min(slot * 0.6, 70)
        base = top + plot_h
        for i, (variant, value, text) in enumerate(panel.bars):
            x = x0 + 20 + slot * i + (slot - bar_w) / 2
            h = (plot_h - 18) * float(value) / top_value if value is not None else 0.0
            out.append(
                f'<rect class="bar" x="{_n(x)}" y="{_n(base - h)}" width="{_n(bar_w)}" '
                f'height="{_n(h)}" rx="3" fill="{colors.get(variant, "#9aa5b1")}" '
                f'data-series="{_t(variant)}" data-value="{"" if value is None else value}">'
                f"<title>{_t(panel.title)} · {_t(variant)}: {_t(text)}</title></rect>"
                f'<text x="{_n(x + bar_w / 2)}" y="{_n(base - h - 6)}" font-size="12" '
                f'font-weight="600" fill="{TEXT}" text-anchor="middle">{_t(text)}</text>'
                f'<text x="{_n(x + bar_w / 2)}" y="{base + 18}" font-size="12" fill="{MUTED}" '
                f'text-anchor="middle">{_t(variant)}</text>'
            )
        out.append(
            f'<line x1="{x0 + 14}" y1="{base}" x2="{x0 + panel_w - 14}" y2="{base}" '
            f'stroke="{AXIS}"/>'
        )
    out.append("</svg>")
    return "".join(out)
