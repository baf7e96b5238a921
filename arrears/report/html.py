"""The daily HTML report: one self-contained file per snapshot date, charts drawn in inline SVG.

Only aggregates reach the page (bucket, stage, channel, reason and variant names, counts,
amounts, shares): no customer or loan ids, no personal data. The page holds no generation
time, so the same warehouse state gives the same bytes.

Longer than 400 lines on purpose: the page's sections are rendered in the order they appear,
so the page reads top-down here; the SVG primitives live in svg.py, the figures in summary.py.
"""

from __future__ import annotations

import os
from datetime import UTC, date
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from arrears.contract import CHANNELS
from arrears.errors import ConfigError
from arrears.report import fmt, svg
from arrears.report.kpis import ALL, kpis
from arrears.report.queries import bucket_key, channel_key, rows, stage_key
from arrears.report.summary import RunSummary, run_summary
from arrears.warehouse import connect, scalar

HISTORY = 30
REPORT_NAME = "report.html"

# Sequential: green (current) through amber to deep red (longest overdue).
BUCKET_COLORS = (
    "#2f9e44",
    "#94d82d",
    "#fcc419",
    "#ff922b",
    "#f76707",
    "#e03131",
    "#a61e4d",
    "#5f0f40",
)
CHANNEL_COLORS = {
    "SMS": "#1c7ed6",
    "CALL": "#37b24d",
    "EMAIL": "#9c36b5",
    "LETTER": "#f59f00",
    "VISIT": "#795548",
    "LEGAL": "#c92a2a",
}
STAGE_COLORS = (
    "#a5d8ff",
    "#74c0fc",
    "#4dabf7",
    "#339af0",
    "#228be6",
    "#1c7ed6",
    "#1864ab",
    "#0b3d75",
)
VARIANT_COLORS = {"champion": "#1864ab", "challenger": "#e8590c"}
OTHER_COLORS = ("#868e96", "#5c940d", "#862e9c", "#0b7285")
ROLL_EXITS = ("CLOSED", "WRITTEN_OFF", "ABSENT")

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#ffffff;
        --accent:#1864ab; --good:#2b8a3e; --bad:#c92a2a; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background:#102a43; color:#fff; padding:22px 40px; }
header h1 { margin:0; font-size:22px; font-weight:650; }
header p { margin:4px 0 0; color:#bcccdc; }
main { max-width:1200px; margin:0 auto; padding:24px 40px 48px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
          padding:18px 20px 20px; margin:0 0 20px; }
section h2 { margin:0 0 4px; font-size:17px; }
section p.note { margin:0 0 12px; color:var(--muted); font-size:13px; }
.cards { display:grid; grid-template-columns:repeat(4, 1fr); gap:12px; margin:0 0 20px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
        padding:12px 14px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:22px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
.card .delta { font-size:12px; color:var(--muted); }
.chart { overflow-x:auto; }
.chart svg { max-width:100%; height:auto; display:block; }
table { border-collapse:collapse; width:100%; margin-top:12px; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right;
         white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase;
     letter-spacing:.03em; background:#f8fafc; white-space:normal; }
th:first-child, td:first-child, td.text, th.text { text-align:left; }
tr.total td { font-weight:650; border-top:2px solid var(--line); }
td.up { color:var(--bad); } td.down { color:var(--good); }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
        font-weight:600; }
.pill.pass { background:#d3f9d8; color:#2b8a3e; } .pill.fail { background:#ffe3e3; color:#c92a2a; }
.empty { color:var(--muted); font-style:italic; margin:8px 0 0; }
.grid2 { display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1fr); gap:20px; }
.grid2 > div, .wide { min-width:0; }
.scroll { overflow-x:auto; max-width:100%; }
td.rules { white-space:normal; text-align:left; min-width:14em; }
td.rules div { white-space:normal; overflow-wrap:anywhere; }
header p.run { font-size:13px; }
header a { color:#9fd2ff; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:8px 0 24px; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _table(
    header: list[str],
    body: list[list[str]],
    *,
    text_columns: int = 1,
    total_last: bool = False,
    classes: list[list[str]] | None = None,
) -> str:
    if not body:
        return '<p class="empty">No rows.</p>'
    head = "".join(
        f'<th class="text">{_e(h)}</th>' if i < text_columns else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    lines = []
    for r, cells in enumerate(body):
        tr = ' class="total"' if total_last and r == len(body) - 1 else ""
        tds = []
        for i, cell in enumerate(cells):
            cls = ["text"] if i < text_columns else []
            if classes and classes[r][i]:
                cls.append(classes[r][i])
            attr = f' class="{" ".join(cls)}"' if cls else ""
            tds.append(f"<td{attr}>{cell}</td>")
        lines.append(f"<tr{tr}>{''.join(tds)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


def _direction(value: Any) -> str:
    """Growth of arrears reads as bad (red), shrinkage as good (green)."""
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"


def _palette(names: list[str], fixed: dict[str, str] | tuple[str, ...]) -> dict[str, str]:
    if isinstance(fixed, dict):
        spare = iter(OTHER_COLORS * (len(names) + 1))
        return {n: fixed.get(n) or next(spare) for n in names}
    if len(names) <= len(fixed):
        # Spread over the ramp so a short bucket table still runs from green to red.
        step = (len(fixed) - 1) / max(len(names) - 1, 1)
        return {n: fixed[round(i * step)] for i, n in enumerate(names)}
    return {n: fixed[min(i, len(fixed) - 1)] for i, n in enumerate(names)}


def _cards(summary: RunSummary, all_kpis: dict[str, Any] | None) -> str:
    total = next((r for r in summary.buckets if r["bucket"] == "TOTAL"), None)
    delinquent = sum(r["loans"] for r in summary.buckets[1:-1]) if total else 0
    cards = [
        (
            "Loans on book",
            fmt.count(total["loans"]) if total else fmt.DASH,
            f"{fmt.signed_count(total['loans_change'])} vs previous" if total else "",
        ),
        (
            "Outstanding principal",
            fmt.money(total["outstanding_principal"]) if total else fmt.DASH,
            f"{fmt.signed_money(total['outstanding_principal_change'])} vs previous"
            if total
            else "",
        ),
        (
            "Overdue amount",
            fmt.money(total["overdue_amount"]) if total else fmt.DASH,
            f"{fmt.signed_money(total['overdue_amount_change'])} vs previous" if total else "",
        ),
        (
            "Delinquent loans",
            fmt.count(delinquent),
            fmt.rate(Decimal(delinquent) / total["loans"]) + " of the book"
            if total and total["loans"]
            else "",
        ),
        (
            "Cure rate",
            fmt.rate(all_kpis["cure_rate"]) if all_kpis else fmt.DASH,
            f"{fmt.count(all_kpis['cured_loans'])} of {fmt.count(all_kpis['delinquent_loans'])} "
            "delinquent"
            if all_kpis
            else "",
        ),
        (
            "Collected",
            fmt.money(all_kpis["collected_amount"])
            if all_kpis and summary.previous_snapshot_date
            else fmt.DASH,
            f"since {summary.previous_snapshot_date}"
            if summary.previous_snapshot_date
            else "first snapshot: nothing to compare with",
        ),
        (
            f"Actions for {summary.action_date}",
            fmt.count(summary.total_actions),
            fmt.counted(all_kpis["next_customers"], "customer") if all_kpis else "",
        ),
        ("Suppressed", fmt.count(summary.total_suppressed), "actions not taken, with reasons"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="label">{_e(label)}</div>'
            f'<div class="value">{_e(value)}</div><div class="delta">{_e(delta)}</div></div>'
            for label, value, delta in cards
        )
        + "</div>"
    )


def _section(title: str, note: str, body: str, section_id: str) -> str:
    return (
        f'<section id="{section_id}"><h2>{_e(title)}</h2><p class="note">{_e(note)}</p>'
        f"{body}</section>"
    )


def _bucket_section(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> str:
    history = rows(
        con, "bucket_history", {"snapshot_date": summary.snapshot_date, "snapshots": HISTORY}
    )
    dates = sorted({r["snapshot_date"] for r in history})
    buckets = sorted({r["bucket"] for r in history}, key=bucket_key)
    colors = _palette(buckets, BUCKET_COLORS)
    loans: dict[tuple[date, str], int] = {
        (r["snapshot_date"], r["bucket"]): r["loans"] for r in history
    }
    categories = [d.isoformat() for d in dates]

    def chart(names: list[str], label: str) -> str:
        series = [svg.Series(b, colors[b], [loans.get((d, b), 0) for d in dates]) for b in names]
        return svg.stacked_bars(categories, series, label=label, y_title="loans")

    body = ""
    if dates:
        body += '<div class="chart">' + chart(buckets, "Loans per bucket over time") + "</div>"
        if len(buckets) > 1:
            body += (
                '<p class="note" style="margin-top:14px">Delinquent buckets only '
                f"({_e(buckets[1])} and later), on their own scale.</p>"
                '<div class="chart">'
                + chart(buckets[1:], "Delinquent loans per bucket over time")
                + "</div>"
            )
    else:
        body += '<p class="empty">No committed snapshots.</p>'
    body += _table(
        [
            "bucket",
            "loans",
            "Δ loans",
            "outstanding principal",
            "Δ outstanding",
            "overdue amount",
            "Δ overdue",
        ],
        [
            [
                _e(r["bucket"]),
                fmt.count(r["loans"]),
                fmt.signed_count(r["loans_change"]),
                fmt.money(r["outstanding_principal"]),
                fmt.signed_money(r["outstanding_principal_change"]),
                fmt.money(r["overdue_amount"]),
                fmt.signed_money(r["overdue_amount_change"]),
            ]
            for r in summary.buckets
        ],
        total_last=True,
        classes=[
            ["", "", "", "", "", "", _direction(r["overdue_amount_change"])]
            for r in summary.buckets
        ],
    )
    previous = summary.previous_snapshot_date
    note = (
        f"Loans per bucket for the last {len(dates)} snapshots up to {summary.snapshot_date}; "
        f"the table compares {summary.snapshot_date} with "
        f"{previous if previous else 'no earlier snapshot'}."
    )
    return _section("Bucket distribution over time", note, body, "buckets")


def _roll_section(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> str:
    matrix = rows(con, "roll_matrix", {"snapshot_date": summary.snapshot_date})
    if not matrix:
        body = '<p class="empty">No day-on-day roll rates for this snapshot (no earlier one).</p>'
        note = "Where the loans of the previous snapshot are now."
    else:
        froms = sorted({r["from_bucket"] for r in matrix}, key=bucket_key)
        seen_to = {r["to_bucket"] for r in matrix}
        buckets = sorted((seen_to - set(ROLL_EXITS)) | set(froms), key=bucket_key)
        columns = buckets + [x for x in ROLL_EXITS if x in seen_to]
        cells = {(r["from_bucket"], r["to_bucket"]): (r["loan_share"], r["loans"]) for r in matrix}
        body = (
            '<div class="chart">'
            + svg.heatmap(
                froms,
                columns,
                cells,
                label="Roll-rate matrix",
                row_title=f"from ({matrix[0]['previous_snapshot_date']})",
                column_title=f"to ({summary.snapshot_date})",
            )
            + "</div>"
        )
        note = (
            f"Share of the loans in each bucket at {matrix[0]['previous_snapshot_date']} "
            f"by where they are at {summary.snapshot_date} (each row adds up to 100 %); "
            "the small figure is the loan count."
        )
    return _section("Roll-rate matrix (day on day)", note, body, "roll-rates")


def _funnel_section(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> str:
    found = sorted(
        rows(con, "stage_funnel", {"action_date": summary.action_date}),
        key=lambda r: stage_key(r["stage"]),
    )
    if found:
        body = (
            '<div class="chart">'
            + svg.funnel(
                [r["stage"] for r in found],
                [r["customers"] for r in found],
                label="Customers per stage",
                colors=STAGE_COLORS,
            )
            + "</div>"
        )
        body += _table(
            ["stage", "customers", "actions"],
            [[_e(r["stage"]), fmt.count(r["customers"]), fmt.count(r["actions"])] for r in found],
        )
    else:
        body = '<p class="empty">No actions for this action date.</p>'
    note = f"Customers with at least one action on {summary.action_date}, per stage, early to late."
    return _section("Stage funnel", note, body, "funnel")


def _channel_section(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> str:
    history = rows(
        con, "channel_history", {"action_date": summary.action_date, "action_dates": HISTORY}
    )
    dates = sorted({r["action_date"] for r in history})
    channels = sorted({r["channel"] for r in history}, key=channel_key)
    colors = _palette(channels, CHANNEL_COLORS)
    volume = {(r["action_date"], r["channel"]): r["actions"] for r in history}
    if dates:
        series = [
            svg.Series(c, colors[c], [volume.get((d, c), 0) for d in dates]) for c in channels
        ]
        body = (
            '<div class="chart">'
            + svg.stacked_bars(
                [d.isoformat() for d in dates],
                series,
                label="Actions per channel over time",
                y_title="actions",
            )
            + "</div>"
        )
        latest = {c: volume.get((summary.action_date, c), 0) for c in CHANNELS}
        body += _table(
            ["channel", f"actions {summary.action_date}"],
            [[_e(c), fmt.count(n)] for c, n in latest.items() if n or c in channels],
        )
    else:
        body = '<p class="empty">No actions yet.</p>'
    note = (
        f"Actions per channel for the last {len(dates)} action dates up to {summary.action_date}."
    )
    return _section("Channel volumes", note, body, "channels")


def _variant_section(found: list[dict[str, Any]], summary: RunSummary) -> str:
    variants = [r for r in found if r["strategy_variant"] != ALL]
    if not variants:
        return _section(
            "Variant comparison",
            "Champion against challenger.",
            '<p class="empty">No variant decisions for this date.</p>',
            "variants",
        )
    names = [r["strategy_variant"] for r in variants]
    if len(names) == 1:
        note = (
            f"Only the {names[0]} strategy decided this date (no challenger share configured): "
            "nothing to compare, so no charts. Its figures:"
        )
        return _section("Variant comparison", note, _variant_table(found), "variants")
    colors = _palette(names, VARIANT_COLORS)
    panels = [
        svg.Panel(
            f"Actions for {summary.action_date}",
            [
                (r["strategy_variant"], r["next_actions"], fmt.count(r["next_actions"]))
                for r in variants
            ],
        ),
        svg.Panel(
            "Cure rate",
            [(r["strategy_variant"], r["cure_rate"], fmt.rate(r["cure_rate"])) for r in variants],
        ),
        svg.Panel(
            "Collected amount",
            [
                (r["strategy_variant"], r["collected_amount"], fmt.money(r["collected_amount"]))
                for r in variants
            ],
        ),
        svg.Panel(
            "Right-party contact rate",
            [
                (
                    r["strategy_variant"],
                    r["right_party_contact_rate"],
                    fmt.rate(r["right_party_contact_rate"]),
                )
                for r in variants
            ],
        ),
    ]
    body = (
        '<div class="chart">'
        + svg.paired_bars(panels, label="Variant comparison", colors=colors)
        + "</div>"
    )
    body += _variant_table(found)
    note = (
        f"Actions for {summary.action_date}; cure rate and collected amount from "
        f"{summary.previous_snapshot_date or 'the previous snapshot'} to "
        f"{summary.snapshot_date}; call outcomes for calls of {summary.snapshot_date}. "
        "The 'all' row also counts customers with no decision at the previous snapshot."
    )
    return _section("Variant comparison", note, body, "variants")


def _variant_table(found: list[dict[str, Any]]) -> str:
    return _table(
        [
            "variant",
            "actions",
            "customers",
            "cure rate",
            "cured / delinquent",
            "collected",
            "promise kept",
            "contact rate",
            "right-party",
            "PTP rate",
        ],
        [
            [
                _e(r["strategy_variant"]),
                fmt.count(r["next_actions"]),
                fmt.count(r["next_customers"]),
                fmt.rate(r["cure_rate"]),
                f"{fmt.count(r['cured_loans'])} / {fmt.count(r['delinquent_loans'])}",
                fmt.money(r["collected_amount"]),
                fmt.rate(r["promise_kept_rate"]),
                fmt.rate(r["contact_rate"]),
                fmt.rate(r["right_party_contact_rate"]),
                fmt.rate(r["ptp_rate"]),
            ]
            for r in found
        ],
    )


def _operations_section(summary: RunSummary) -> str:
    suppressed = _table(
        ["reason", "channel", "actions", "customers"],
        [
            [_e(r["reason"]), _e(r["channel"]), fmt.count(r["actions"]), fmt.count(r["customers"])]
            for r in summary.suppressed
        ],
        text_columns=2,
    )
    rules: dict[str, list[str]] = {}
    for r in summary.failed_rules:
        rules.setdefault(r["suite"], []).append(
            f"<div>{_e(r['rule'])}: {_e(fmt.counted(r['unexpected_rows'], 'row'))}</div>"
        )
    validation = _table(
        ["suite", "result", "checks", "failed", "unexpected rows", "quarantined", "failed rules"],
        [
            [
                _e(r["suite"]),
                '<span class="pill pass">pass</span>'
                if r["success"]
                else '<span class="pill fail">fail</span>',
                fmt.count(r["evaluated"]),
                fmt.count(r["failed"]),
                fmt.count(r["unexpected_rows"]),
                fmt.count(r["quarantined_rows"]),
                "".join(rules.get(r["suite"], [])) or ("" if r["success"] else fmt.DASH),
            ]
            for r in summary.validation
        ],
        text_columns=2,
        classes=[["", "", "", "", "", "", "rules"] for _ in summary.validation],
    )
    # One above the other: the validation table is too wide to share a row at 1100-1400 px.
    body = (
        f'<div class="wide"><h3>Suppressed for {summary.action_date}</h3>{suppressed}</div>'
        f'<div class="wide"><h3>Validation of {summary.snapshot_date}</h3>{validation}</div>'
    )
    return _section(
        "Suppressed actions and validation",
        "What was not done and why; the checks of the latest validation run.",
        body,
        "operations",
    )


_CONTACT_DATA_LABELS = {
    "BAD_PHONE": "phone reported bad (BAD_PHONE)",
    "BAD_ADDRESS": "address reported bad (BAD_ADDRESS)",
    "SKIP_TRACE": "skip trace (marts.skip_trace)",
}


def _contact_data_section(summary: RunSummary) -> str:
    body = _table(
        ["", "customers", f"actions held back for {summary.action_date}", "new this night"],
        [
            [
                _e(_CONTACT_DATA_LABELS.get(r["item"], r["item"])),
                fmt.count(r["customers"]),
                fmt.count(r["actions"]),
                fmt.count(r["new_customers"]),
            ]
            for r in summary.contact_data
        ],
    )
    note = (
        "Phones reported as a wrong party and addresses where letters came back or visits "
        "found no one are not used while they stay the customer's; customers with a bad "
        f"address at {summary.snapshot_date} are listed for skip tracing. Counts only."
    )
    return _section("Contact data reported bad", note, body, "contact-data")


def _cancelled_section(summary: RunSummary) -> str:
    body = _table(
        ["channel", "reason", "actions", "customers", "covered amount"],
        [
            [
                _e(r["channel"]),
                _e(r["reason"]),
                fmt.count(r["actions"]),
                fmt.count(r["customers"]),
                fmt.money(r["covered_amount"]),
            ]
            for r in summary.cancelled
        ],
    )
    note = (
        f"Actions of {summary.snapshot_date} withdrawn during that day because payments covered "
        "them (arrears cancel; PAID: the overdue amount, PAID_INSTALLMENT: a pre-due reminder's "
        "installment). Counts and amounts only."
    )
    return _section("Withdrawn during the day", note, body, "cancelled")


# The nights the league table adds up (docs/allocation.md "League table").
LEAGUE_DAYS = 30


def _league_section(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> str:
    league = rows(
        con,
        "league_table",
        {"snapshot_date": summary.snapshot_date, "league_days": LEAGUE_DAYS},
    )
    body = _table(
        [
            "team or agency",
            "kind",
            "collectors",
            "accounts held (avg)",
            "collected",
            "cure rate",
            "promise-kept rate",
            "commission",
        ],
        [
            [
                _e(r["team_id"]),
                _e(r["assignee_kind"].lower()),
                fmt.count(r["assignees"]),
                _e(r["average_accounts_held"]),
                fmt.money(r["collected_amount"]),
                fmt.rate(r["cure_rate"]),
                fmt.rate(r["promise_kept_rate"]),
                fmt.money(r["commission_amount"]),
            ]
            for r in league
        ],
        text_columns=2,
    )
    note = (
        f"Teams of agents and agencies over the last {LEAGUE_DAYS} nights to "
        f"{summary.snapshot_date} (marts.assignee_kpis): collected on the accounts they held, "
        "customers cured per account held on average, promises kept per promise made, and the "
        "commission due. Formulas in docs/allocation.md."
    )
    return _section("League table", note, body, "league")


def _run_line(summary: RunSummary) -> str:
    details = summary.run_details
    if details is None:
        return '<p class="run">No run recorded in ops.runs for this snapshot.</p>'
    if details["duration_seconds"] is not None:
        took = f"took {fmt.duration(details['duration_seconds'])}"
    elif details["validated_after_seconds"] is not None:
        # The nightly report is written before the run ends: its time to the last check.
        took = f"validated after {fmt.duration(details['validated_after_seconds'])}"
    else:
        took = "duration not known yet"
    versions = ", ".join(details["strategy_versions"] or []) or fmt.DASH
    started = details["started_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f'<p class="run">Run <code>{_e(details["run_id"])}</code> · {_e(details["status"])} · '
        f"started {_e(started)} · {_e(took)} · strategy version {_e(versions)}</p>"
    )


def _links(summary: RunSummary, outbox: Path | None, home: Path | None, url: str | None) -> str:
    """Relative links: the reports folder and the outbox are served or copied as they are.
    The manifest's is `url` (ARREARS_OUTBOX_URL) when the outbox is served apart, else the
    path from the report's folder `home`: it opens from disk and where one server serves both
    folders under a common root."""
    links = []
    if summary.previous_snapshot_date:
        previous = summary.previous_snapshot_date.isoformat()
        links.append(f'<a href="../{previous}/{REPORT_NAME}">previous report ({previous})</a>')
    if url is None and outbox is not None and home is not None:
        manifest = Path(outbox) / summary.action_date.isoformat() / "_manifest.json"
        url = Path(os.path.relpath(manifest.resolve(), home.resolve())).as_posix()
    if url is not None:
        links.append(f'<a href="{_e(url)}">outbox manifest</a>')
    links.append('<a href="#operations">validation</a>')
    return f'<p class="run">{" · ".join(links)}</p>'


def render_report(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    outbox: Path | None = None,
    *,
    home: Path | None = None,
    manifest_url: str | None = None,
) -> str:
    """The report page of snapshot D as text, to be written in the folder `home`; a link to
    the date's outbox manifest at `manifest_url`, or relative to `home` when `outbox` is given."""
    summary = run_summary(con, snapshot_date)
    found = kpis(con, snapshot_date)
    all_kpis = next((r for r in found if r["strategy_variant"] == ALL), None)
    title = f"Collections report · {snapshot_date}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>Snapshot {snapshot_date} · actions for "
        f"{summary.action_date} · previous snapshot "
        f"{summary.previous_snapshot_date or 'none'}</p>{_run_line(summary)}"
        f"{_links(summary, outbox, home, manifest_url)}</header><main>",
        _cards(summary, all_kpis),
        _bucket_section(con, summary),
        _roll_section(con, summary),
        _funnel_section(con, summary),
        _channel_section(con, summary),
        _variant_section(found, summary),
        _league_section(con, summary),
        _operations_section(summary),
        _contact_data_section(summary),
        _cancelled_section(summary),
        "</main><footer>arrears · aggregates only: no customer data · formulas in docs/report.md"
        "</footer></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_report(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    reports_dir: Path,
    outbox: Path | None = None,
    *,
    manifest_url: str | None = None,
) -> Path:
    """Write `<reports_dir>/<D>/report.html` (replaced whole, never half-written)."""
    target = Path(reports_dir) / snapshot_date.isoformat() / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_report(con, snapshot_date, outbox, home=target.parent, manifest_url=manifest_url)
    partial = target.with_name(f".{REPORT_NAME}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return target


def report_for_date(
    warehouse: Path,
    snapshot_date: date,
    reports_dir: Path,
    *,
    wait_seconds: float | None = None,
    memory_limit: str | None = None,
    outbox: Path | None = None,
    manifest_url: str | None = None,
) -> Path:
    """Open the warehouse read-only and write the report of D (`arrears report --date D`).

    `wait_seconds` and `memory_limit` are those of warehouse.connect (the lock_timeout_seconds
    and memory_limit settings); `outbox` (absolute) adds a link to the date's manifest.
    """
    path = Path(warehouse)
    if not path.is_file():
        raise ConfigError(f"no warehouse at {path}: run `arrears run --date {snapshot_date}` first")
    with connect(path, read_only=True, wait_seconds=wait_seconds, memory_limit=memory_limit) as con:
        committed = scalar(
            con,
            "select count(*) from marts.kpi_daily where snapshot_date = $d",
            {"d": snapshot_date},
        )
        if not committed:
            raise ConfigError(
                f"snapshot {snapshot_date} is not in {path}: run `arrears run --date "
                f"{snapshot_date}` first"
            )
        return write_report(con, snapshot_date, reports_dir, outbox, manifest_url=manifest_url)


__all__ = ["render_report", "report_for_date", "write_report", "HISTORY", "REPORT_NAME"]
