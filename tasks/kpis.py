"""Collection KPIs of the snapshot, per strategy variant, ready for the commit."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears.allocation.step import build_kpis as build_assignee_kpis
from arrears.report.kpis import ALL, build_kpi_variants
from arrears.settings import Settings


@task(name="kpis")
def compute_kpis(snapshot_date: date, settings: Settings) -> int:
    """work.kpi_variants for D; the commit then replaces partition D of marts.kpi_variants."""
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        rows = build_kpi_variants(con, snapshot_date)
        assignees = build_assignee_kpis(con, snapshot_date)
        overall = con.execute(
            "select cure_rate, collected_amount, contact_rate, ptp_rate "
            "from work.kpi_variants where strategy_variant = $all",
            {"all": ALL},
        ).fetchall()
    if overall:
        cure, collected, contact, ptp = overall[0]
        logger.info(
            "kpis: %d variant rows; all: cure rate %s, collected %s, contact rate %s, PTP rate %s",
            rows,
            cure,
            collected,
            contact,
            ptp,
        )
    logger.info("assignee kpis: %d agents and agencies", assignees)
    return rows
