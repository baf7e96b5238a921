"""Reporting: the operator's run summary, collection KPIs and the daily HTML report.

Everything here reads committed marts (plus raw.contact_events, quality.runs and ops.runs) and
emits aggregates only: no personal data reaches a summary, an artifact or a report.
"""

from arrears.report.html import render_report, report_for_date, write_report
from arrears.report.kpis import kpis
from arrears.report.summary import RunSummary, run_summary

__all__ = ["RunSummary", "kpis", "render_report", "report_for_date", "run_summary", "write_report"]
