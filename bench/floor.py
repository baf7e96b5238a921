"""The floor of each pipeline step: the same core work as plain DuckDB SQL, nothing else.

Each function does, on the same connection and data, the irreducible part of a step, so the
ratio step / floor says how much the step costs beyond the database work it cannot avoid:

    ingest            read_csv of every landing file into a typed table
    validate_landed   the suites' checks as plain SQL (bench/bench_quality.py) for loans,
                      installments and customers; the contract's row checks for the rest
    age               what CONTRACT section 3 asks per loan (dpd, bucket, term, class, IFRS 9,
                      overdue split, transition), in one query
    decide            the customer's stage by max dpd, its channels, and a priority per channel
    validate_actions  the pre-publish checks as one query
    kpis              cures and collected amounts against the previous snapshot, and the calls
                      of D with their outcomes, in one query
    seal              AES-GCM over each customer's personal record
    state             the previous night's loan and contact state merged with tonight's results
    commit            the run's result tables copied into a second set of tables
    publish           each channel's file(s) with its recipient columns, as COPY statements

Floors write into the `floor` schema and drop it afterwards; they never touch work.* or marts.*.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb

from arrears.aging import AgingConfig
from arrears.contract import DATASETS, Dataset
from arrears.pii.keys import PiiKey
from arrears.strategy import Strategy

# Landing file types as read_csv column types (the contract's logical types).
_CSV_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "decimal": "DECIMAL(18,2)",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def reset(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop schema if exists floor cascade")
    con.execute("create schema floor")


def ingest(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Every landing CSV of the date into a typed table; returns the rows read."""
    rows = 0
    for name, dataset in DATASETS.items():
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        types = ", ".join(
            f"{_quote(c.name)}: {_quote(_CSV_TYPES[c.type])}" for c in dataset.columns
        )
        # The path is a benchmark's own temporary file; DuckDB binds no parameters in read_csv.
        con.execute(
            f"create or replace table floor.{name} as "
            f"select * from read_csv({_quote(str(path))}, header = true, columns = {{{types}}})"
        )
        rows += int(con.execute(f"select count(*) from floor.{name}").fetchall()[0][0])
    return rows


def _checks(dataset: Dataset, table: str) -> str:
    parts = []
    for column in dataset.columns:
        if column.required:
            parts.append(f"count(*) filter (where {column.name} is null)")
        if column.enum:
            values = ", ".join(_quote(v) for v in column.enum)
            parts.append(f"count(*) filter (where {column.name} not in ({values}))")
        if column.type == "decimal":
            parts.append(f"count(*) filter (where {column.name} < 0)")
    key = ", ".join(dataset.key)
    parts.append(f"count(*) - count(distinct ({key}))")
    return f"select {', '.join(parts)} from {table}"


def validate_landed(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """The suites' checks on work.<dataset> as plain SQL; returns the rows checked.

    Loans, installments and customers (keys, references, the cross-day source_dpd check) get
    the same checks as their suites, from `bench/bench_quality.py`, where they are compared with
    Great Expectations one for one; the small datasets get the contract's row checks (required,
    enum, non-negative, key unique), one query each.
    """
    import bench_quality

    params = {**bench_quality.plain_params(), "d": snapshot_date}
    for query in bench_quality.PLAIN.values():
        con.execute(query, {k: v for k, v in params.items() if f"${k}" in query}).fetchall()
    rows = 0
    for name, dataset in DATASETS.items():
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'work' and table_name = $name",
            {"name": name},
        ).fetchall()[0][0]
        if not exists:
            continue
        if name not in bench_quality.PLAIN:
            con.execute(_checks(dataset, f"work.{name}")).fetchall()
        rows += int(con.execute(f"select count(*) from work.{name}").fetchall()[0][0])
    return rows


def _ranges(table, value: str = "dpd") -> str:
    """A CASE over a range table (label by inclusive dpd range)."""
    return (
        "case "
        + " ".join(
            f"when {value} >= {r.min_dpd}"
            + (f" and {value} <= {r.max_dpd}" if r.max_dpd is not None else "")
            + f" then {_quote(r.label)}"
            for r in table
        )
        + " end"
    )


def _loan_class(config: AgingConfig) -> str:
    """The loan class CASE: each product's override table, else the default one."""
    overrides = " ".join(
        f"when product = {_quote(product)} then {_ranges(table)}"
        for product, table in sorted(config.loan_class.overrides.items())
    )
    return f"case {overrides} else {_ranges(config.loan_class.default)} end"


def age(con: duckdb.DuckDBPyConnection, snapshot_date: date, config: AgingConfig) -> int:
    """What CONTRACT section 3 asks per loan, in one query; returns loans aged.

    dpd, bucket, aging term, loan class (with per-product overrides), IFRS 9 stage, the overdue
    split (principal, interest, fees, total) and the transition against the loan's bucket in
    the latest earlier snapshot. The step also computes paid to date, next due date and amount,
    source_dpd mismatches, loans back after a gap in their history, kpi_daily and roll_rates.
    """
    ranks = " ".join(f"when {_quote(r.label)} then {i}" for i, r in enumerate(config.buckets))
    con.execute(
        f"""
        create or replace table floor.loan_aging as
        with unpaid as (
            select loan_id, due_date,
                greatest(principal_due - principal_paid, 0) as principal,
                greatest(interest_due - interest_paid, 0) as interest,
                greatest(coalesce(fee_due, 0) + coalesce(penalty_due, 0)
                    - coalesce(fee_paid, 0) - coalesce(penalty_paid, 0), 0) as fees,
                greatest((principal_due + interest_due + coalesce(fee_due, 0)
                    + coalesce(penalty_due, 0)) - (principal_paid + interest_paid
                    + coalesce(fee_paid, 0) + coalesce(penalty_paid, 0)), 0) as total
            from work.installments
            where due_date < $d
        ),
        overdue as (
            select loan_id, min(due_date) as oldest_unpaid_due_date,
                sum(principal) as principal, sum(interest) as interest, sum(fees) as fees,
                sum(total) as total
            from unpaid
            where total > $tolerance
            group by loan_id
        ),
        previous as (
            select loan_id, bucket
            from marts.loan_aging
            where snapshot_date = (
                select max(snapshot_date) from marts.loan_aging where snapshot_date < $d
            )
        ),
        aged as (
            select loans.loan_id, loans.customer_id, loans.status, loans.product,
                loans.status in ('CLOSED', 'WRITTEN_OFF') as closed,
                case when closed then 0
                    else coalesce($d - overdue.oldest_unpaid_due_date, 0) end as dpd,
                case when closed then 0 else coalesce(overdue.principal, 0) end
                    as overdue_principal_amount,
                case when closed then 0 else coalesce(overdue.interest, 0) end
                    as overdue_interest_amount,
                case when closed then 0 else coalesce(overdue.fees, 0) end as overdue_fees_amount,
                case when closed then 0 else coalesce(overdue.total, 0) end as overdue_amount,
                previous.bucket as previous_bucket
            from work.loans as loans
            left join overdue on overdue.loan_id = loans.loan_id
            left join previous on previous.loan_id = loans.loan_id
        ),
        classified as (
            select *, {_ranges(config.buckets)} as bucket,
                {_ranges(config.aging_term)} as aging_term,
                {_loan_class(config)} as loan_class,
                cast({_ranges(config.ifrs9)} as integer) as ifrs9_stage
            from aged
        )
        select *,
            case
                when closed then 'CLOSED'
                when previous_bucket is null then 'NEW'
                when (case previous_bucket {ranks} end) > 0
                    and (case bucket {ranks} end) = 0 then 'CURE'
                when (case bucket {ranks} end) > (case previous_bucket {ranks} end)
                    then 'ROLL_FORWARD'
                when (case bucket {ranks} end) < (case previous_bucket {ranks} end)
                    then 'ROLL_BACK'
                else 'STAY'
            end as transition
        from classified
        """,
        {"d": snapshot_date, "tolerance": config.tolerance},
    )
    return int(con.execute("select count(*) from floor.loan_aging").fetchall()[0][0])


def decide(con: duckdb.DuckDBPyConnection, strategy: Strategy) -> int:
    """Stage by the customer's max dpd, the stage's channels, priority per channel by overdue.

    Reads work.loan_aging (the real aging result); returns the actions produced.
    """
    stages = list(strategy.stages.items())
    con.execute(
        "create or replace table floor.stages "
        "(stage varchar, stage_rank integer, dpd_min integer, dpd_max integer)"
    )
    con.executemany(
        "insert into floor.stages values (?, ?, ?, ?)",
        [(name, i, s.dpd.min_dpd, s.dpd.max_dpd) for i, (name, s) in enumerate(stages)],
    )
    con.execute("create or replace table floor.channels (stage varchar, channel varchar)")
    con.executemany(
        "insert into floor.channels values (?, ?)",
        [(name, channel) for name, s in stages for channel in s.channels],
    )
    con.execute(
        """
        create or replace table floor.actions as
        with customers as (
            select customer_id, max(dpd) as dpd, sum(overdue_amount) as overdue_amount,
                list(loan_id order by loan_id) as loan_ids
            from work.loan_aging
            where is_aged
            group by customer_id
        ),
        staged as (
            select customers.*, arg_min(stages.stage, stages.stage_rank) as stage
            from customers
            inner join floor.stages as stages
                on customers.dpd >= stages.dpd_min
                and (stages.dpd_max is null or customers.dpd <= stages.dpd_max)
            group by all
        )
        select staged.*, channels.channel,
            row_number() over (
                partition by channels.channel
                order by staged.overdue_amount desc, staged.customer_id
            ) as priority
        from staged
        inner join floor.channels as channels on channels.stage = staged.stage
        """
    )
    return int(con.execute("select count(*) from floor.actions").fetchall()[0][0])


def validate_actions(con: duckdb.DuckDBPyConnection) -> int:
    """Key unique, required values present, window ordered, on work.collection_actions."""
    con.execute(
        """
        select
            count(*) - count(distinct (customer_id, channel, action_date)),
            count(*) filter (where action_id is null or customer_id is null or channel is null),
            count(*) filter (where window_start >= window_end),
            count(*) filter (where priority is null or priority < 1),
        from work.collection_actions
        """
    ).fetchall()
    return int(con.execute("select count(*) from work.collection_actions").fetchall()[0][0])


def kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """Delinquent, cured and collected since the previous snapshot; calls of D answered."""
    con.execute(
        """
        create or replace table floor.kpis as
        with previous as (
            select max(snapshot_date) as d from marts.loan_aging where snapshot_date < $d
        ),
        moves as (
            select
                count(*) filter (where before.dpd > 0) as delinquent_loans,
                count(*) filter (where before.dpd > 0 and now.dpd = 0) as cured_loans,
                sum(greatest(coalesce(now.paid_to_date_amount, before.paid_to_date_amount)
                    - before.paid_to_date_amount, 0)) as collected_amount,
            from marts.loan_aging as before
            left join work.loan_aging as now
                on now.loan_id = before.loan_id
            where before.snapshot_date = (select d from previous) and before.is_aged
        ),
        calls as (
            select count(distinct actions.action_id) as call_actions,
                count(events.event_id) as answered,
            from marts.collection_actions as actions
            left join raw.contact_events as events
                on events.action_id = actions.action_id
            where actions.action_date = $d and actions.channel = 'CALL'
        )
        select * from moves, calls
        """,
        {"d": snapshot_date},
    )
    return int(con.execute("select count(*) from floor.kpis").fetchall()[0][0])


def seal(con: duckdb.DuckDBPyConnection, key: PiiKey) -> int:
    """AES-GCM over each customer's personal columns, as one record a row (the step also
    derives its nonce, checks the values and writes the sealed rows back)."""
    import os

    rows = con.execute(
        "select customer_id, concat_ws(chr(31), full_name, national_id, phone, email, address, "
        "postal_code) from work.customers"
    ).fetchall()
    encrypt = key.aead().encrypt
    nonce = os.urandom(12)
    for customer_id, record in rows:
        encrypt(nonce, (record or "").encode(), customer_id.encode())
    return len(rows)


def state(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """Tonight's per-loan and per-customer state: the previous version merged with tonight's
    aging and actions, by key, one statement per table."""
    con.execute(
        """
        create or replace table floor.loan_state as
        select coalesce(today.loan_id, previous.loan_id) as loan_id,
            coalesce(today.dpd, previous.last_dpd) as last_dpd,
            coalesce(today.paid_to_date_amount, previous.last_paid_to_date_amount) as paid,
        from work.loan_aging as today
        full outer join (
            select * from marts.loan_state
            where snapshot_date = (select max(snapshot_date) from marts.loan_state
                where snapshot_date < $d)
        ) as previous
            on previous.loan_id = today.loan_id
        """,
        {"d": snapshot_date},
    )
    con.execute(
        """
        create or replace table floor.contact_state as
        select coalesce(today.customer_id, previous.customer_id) as customer_id,
            coalesce(today.channel, previous.channel) as channel,
            greatest(today.action_date, previous.last_action_date) as last_action_date,
        from work.collection_actions as today
        full outer join (
            select * from marts.contact_state
            where snapshot_date = (select max(snapshot_date) from marts.contact_state
                where snapshot_date < $d)
        ) as previous
            on previous.customer_id = today.customer_id and previous.channel = today.channel
        """,
        {"d": snapshot_date},
    )
    return int(con.execute("select count(*) from floor.loan_state").fetchall()[0][0])


COMMITTED = (
    "loans",
    "installments",
    "customers",
    "loan_aging",
    "kpi_daily",
    "roll_rates",
    "arrangement_status",
    "collection_actions",
    "suppressed_actions",
    "kpi_variants",
    "loan_state",
    "customer_state",
    "contact_state",
    "loan_action_state",
    "arrangement_state",
    "contact_events",
)


def commit(con: duckdb.DuckDBPyConnection) -> int:
    """The run's result tables written once more, in one transaction; returns rows written."""
    rows = 0
    con.execute("begin transaction")
    for name in COMMITTED:
        con.execute(f"create or replace table floor.copy_{name} as select * from work.{name}")
        rows += int(con.execute(f"select count(*) from floor.copy_{name}").fetchall()[0][0])
    con.execute("commit")
    return rows


def publish(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    folder: Path,
    csv_channels: tuple[str, ...] = ("letter", "visit"),
    key: PiiKey | None = None,
) -> int:
    """What CONTRACT section 6 asks of the files, as plain COPYs; returns the rows published.

    Per channel, the committed actions of the action date with the recipient columns that
    channel carries (the sealed customer records opened with `key` as the step opens them, and
    the branch from marts.loan_aging) to
    Parquet, and to CSV for the channels configured for it (DuckDB's own text rendering). The
    step also renders lists and local times for the CSV readers, hashes each file, writes the
    manifest, checks personal columns and swaps the folder in atomically.
    """
    from arrears.pii.publishing import TABLE, recipients_opened
    from arrears.publish.columns import OUTBOX_CHANNELS

    folder.mkdir(parents=True, exist_ok=True)
    action_date = snapshot_date + timedelta(days=1)
    with recipients_opened(con, action_date, key):
        _copy_channels(con, action_date, folder, csv_channels, OUTBOX_CHANNELS, TABLE)
    return int(
        con.execute(
            "select count(*) from marts.collection_actions where action_date = $a",
            {"a": action_date},
        ).fetchall()[0][0]
    )


def _copy_channels(con, action_date, folder, csv_channels, channels, customers) -> None:
    from arrears.publish.columns import channel_columns, channel_schema

    # Every channel gets its file, empty or not, as downstream systems expect.
    for name in channels:
        columns = ", ".join(f"r.{c}" for c in channel_columns(name))
        # COPY binds no parameters: the date and channel are the benchmark's own values.
        # Phones in E.164 (an 11-digit mainland number gets +86); the covered loans' currency
        # when they share one.
        digits = "regexp_replace(coalesce(c.phone, ''), '[^0-9]', '', 'g')"
        phone = (
            f"case when {digits} = '' then null when trim(c.phone) like '+%' then '+' || {digits} "
            f"when length({digits}) = 11 and {digits} like '1%' then '+86' || {digits} "
            "else trim(c.phone) end"
        )
        currency = (
            "(select case when count(distinct la.currency) = 1 and count(la.currency) = count(*) "
            "then min(la.currency) end from unnest(r.loan_ids) as u(loan_id) "
            "left join marts.loan_aging la on la.loan_id = u.loan_id "
            "and la.snapshot_date = r.snapshot_date)"
        )
        rows = (
            f"(select r.*, {currency} as currency, c.full_name, c.national_id, {phone} as phone, "
            "c.email, c.address, c.city, c.province, c.postal_code, l.branch "
            "from marts.collection_actions r "
            f"left join {customers} c on c.customer_id = r.customer_id "
            "and c.snapshot_date = r.snapshot_date "
            "left join marts.loan_aging l on l.loan_id = r.primary_loan_id "
            "and l.snapshot_date = r.snapshot_date "
            f"where r.action_date = date {_quote(action_date.isoformat())} "
            f"and r.channel = {_quote(name.upper())})"
        )
        query = f"select {columns} from {rows} as r order by r.priority, r.action_id"
        (folder / f"{name}.schema.json").write_text(
            json.dumps(channel_schema(name), indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        con.execute(f"copy ({query}) to {_quote(str(folder / f'{name}.parquet'))} (format parquet)")
        if name in csv_channels:
            con.execute(f"copy ({query}) to {_quote(str(folder / f'{name}.csv'))} (header)")
