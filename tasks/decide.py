"""Each customer's stage, channels and actions for the action date, and what was suppressed."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears.settings import Settings
from arrears.strategy import decide, load_strategy


@task(name="decide")
def decide_actions(snapshot_date: date, settings: Settings) -> dict[str, int]:
    logger = get_run_logger()
    strategy = load_strategy(settings.strategy, settings.profile)
    with settings.open_warehouse() as con:
        counts = decide(con, snapshot_date, strategy, settings.timezone, settings.models)
        channels = con.execute(
            "select channel, count(*) from work.collection_actions group by 1 order by 1"
        ).fetchall()
        reasons = con.execute(
            "select reason, count(*) from work.suppressed_actions group by 1 order by 1"
        ).fetchall()
    logger.info(
        "strategy %s (profile %s, ranked by %s): %d actions %s; %d suppressed %s",
        strategy.version,
        settings.profile,
        f"model {strategy.risk.model}" if strategy.risk.model else "the weighted score",
        counts["collection_actions"],
        dict(channels),
        counts["suppressed_actions"],
        dict(reasons),
    )
    return counts
