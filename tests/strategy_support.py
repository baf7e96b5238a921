"""Given/expect helpers for the strategy tests: a tiny book in an in-memory warehouse."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from arrears import registry, state, warehouse
from arrears.aging import AGE_MODELS
from arrears.settings import DEFAULTS_DIR
from arrears.strategy import Strategy, decide, load_strategy
from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

DEFAULT_STRATEGY = DEFAULTS_DIR / "strategy.yaml"
D = date(2025, 6, 30)
A = D + timedelta(days=1)


def strategy(profile: str = "cn", tmp_path: Path | None = None, **changes: Any) -> Strategy:
    """The bundled default, optionally with top-level sections replaced (written to tmp_path)."""
    if not changes:
        return load_strategy(DEFAULT_STRATEGY, profile)
    assert tmp_path is not None
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    document.update(changes)
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_strategy(path, profile)


class _OwnPhone:
    """The default phone of a test customer: a number of its own (shared ones are a case)."""


OWN_PHONE = _OwnPhone()


def own_phone(customer_id: str) -> str:
    """A mainland mobile number derived from customer_id, different for every test customer."""
    return "139" + f"{int(hashlib.md5(customer_id.encode()).hexdigest()[:12], 16) % 10**8:08d}"


def money(value: str | int | float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class Book:
    """One customer book at snapshot date `day`, written into the work.* inputs of a run."""

    con: duckdb.DuckDBPyConnection
    day: date = D

    @classmethod
    def new(cls, day: date = D) -> Book:
        con = warehouse.connect(":memory:")
        for dataset in ("customers", "installments", "arrangements", "holds", "contact_events"):
            con.execute(warehouse.work_table_ddl(dataset))
        con.execute(
            "create or replace table work.loan_aging as select * from marts.loan_aging limit 0"
        )
        return cls(con, day)

    # -- inputs -------------------------------------------------------------------------------
    def customer(
        self,
        customer_id: str,
        *,
        phone: str | None | _OwnPhone = OWN_PHONE,
        address: str | None = "1 Century Avenue",
        email: str | None = "someone@example.cn",
        timezone: str | None = None,
        consent_sms: bool = True,
        consent_call: bool = True,
        consent_email: bool = True,
    ) -> Book:
        if isinstance(phone, _OwnPhone):
            phone = own_phone(customer_id)
        self.con.execute(
            "insert into work.customers by name select $d as snapshot_date, $id as customer_id,"
            " 'Name' as full_name, $phone as phone, $email as email, $address as address,"
            " $tz as timezone, $cs as consent_sms, $cc as consent_call, $ce as consent_email",
            {
                "d": self.day,
                "id": customer_id,
                "phone": phone,
                "email": email,
                "address": address,
                "tz": timezone,
                "cs": consent_sms,
                "cc": consent_call,
                "ce": consent_email,
            },
        )
        return self

    def change_customer(self, customer_id: str, **values: str | None) -> Book:
        """New contact data in the customers file (e.g. phone=..., address=...)."""
        for column, value in values.items():
            assert column in ("phone", "address", "city", "province", "postal_code", "email")
            self.con.execute(
                f"update work.customers set {column} = $v where customer_id = $c",
                {"v": value, "c": customer_id},
            )
        return self

    def loan(
        self,
        loan_id: str,
        customer_id: str,
        dpd: int,
        *,
        overdue: str | int = 0,
        outstanding: str | int = 1000,
        status: str = "ACTIVE",
        paid_to_date: str | int = 0,
        last_payment_date: date | None = None,
        day: date | None = None,
        table: str = "work.loan_aging",
    ) -> Book:
        self.con.execute(
            f"insert into {table} by name select $d as snapshot_date, $loan as loan_id,"
            " $cust as customer_id, 'consumer_loan' as product, 'BJ01' as branch,"
            " 'CNY' as currency, $status as status,"
            " $status not in ('CLOSED', 'WRITTEN_OFF') as is_aged, $dpd as dpd, 'M?' as bucket,"
            " 'NONE' as aging_term, 'NORMAL' as loan_class, 1 as ifrs9_stage,"
            " 'STAY' as transition, 0 as overdue_installments,"
            " 0 as overdue_principal_amount, 0 as overdue_interest_amount,"
            " 0 as overdue_fees_amount, $overdue::decimal(18,2) as overdue_amount,"
            " $outstanding::decimal(18,2) as outstanding_principal,"
            " $paid::decimal(18,2) as paid_to_date_amount, $lpd as last_payment_date,"
            " false as has_source_dpd_mismatch",
            {
                "d": day or self.day,
                "loan": loan_id,
                "cust": customer_id,
                "status": status,
                "dpd": dpd,
                "overdue": str(overdue),
                "outstanding": str(outstanding),
                "paid": str(paid_to_date),
                "lpd": last_payment_date,
            },
        )
        return self

    def history(self, day: date, loan_id: str, customer_id: str, dpd: int, **kw: Any) -> Book:
        """A loan's row in an earlier, committed snapshot (marts.loan_aging)."""
        return self.loan(loan_id, customer_id, dpd, day=day, table="marts.loan_aging", **kw)

    def installment(
        self, loan_id: str, no: int, due_date: date, due: str | int, paid: str | int = 0
    ) -> Book:
        self.con.execute(
            "insert into work.installments by name select $d as snapshot_date, $loan as loan_id,"
            " $no as installment_no, $due_date as due_date, $due::decimal(18,2) as principal_due,"
            " 0 as interest_due, 0 as fee_due, 0 as penalty_due,"
            " $paid::decimal(18,2) as principal_paid, 0 as interest_paid, 0 as fee_paid,"
            " 0 as penalty_paid",
            {
                "d": self.day,
                "loan": loan_id,
                "no": no,
                "due_date": due_date,
                "due": str(due),
                "paid": str(paid),
            },
        )
        return self

    def hold(
        self,
        customer_id: str,
        kind: str,
        start: date,
        end: date | None = None,
        loan_id: str | None = None,
    ) -> Book:
        self.con.execute(
            "insert into work.holds by name select $d as snapshot_date, $c as customer_id,"
            " $l as loan_id, $k as kind, $s as start_date, $e as end_date",
            {"d": self.day, "c": customer_id, "l": loan_id, "k": kind, "s": start, "e": end},
        )
        return self

    def arrangement(
        self,
        arrangement_id: str,
        loan_id: str,
        created: date,
        promised: date,
        amount: str | int,
        cancelled: bool = False,
    ) -> Book:
        self.con.execute(
            "insert into work.arrangements by name select $d as snapshot_date,"
            " $a as arrangement_id, $l as loan_id, 'PROMISE_TO_PAY' as kind,"
            " $c as created_date, $p as promised_date, $amt::decimal(18,2) as promised_amount,"
            " $x as cancelled",
            {
                "d": self.day,
                "a": arrangement_id,
                "l": loan_id,
                "c": created,
                "p": promised,
                "amt": str(amount),
                "x": cancelled,
            },
        )
        return self

    def event(
        self,
        event_id: str,
        customer_id: str,
        loan_id: str | None,
        occurred_at: datetime,
        outcome: str,
        channel: str = "CALL",
        table: str = "work.contact_events",
        snapshot_date: date | None = None,
    ) -> Book:
        self.con.execute(
            f"insert into {table} by name select $d as snapshot_date, $e as event_id,"
            " $c as customer_id, $l as loan_id, $ch as channel, $t as occurred_at,"
            " $o as outcome",
            {
                "d": snapshot_date or self.day,
                "e": event_id,
                "c": customer_id,
                "l": loan_id,
                "ch": channel,
                "t": occurred_at,
                "o": outcome,
            },
        )
        if table == "raw.contact_events":
            # what a committed night leaves: the event in the ledger the runs read
            self.con.execute(
                "insert into marts.contact_history by name select * from raw.contact_events "
                "where event_id = $e and snapshot_date = $d",
                {"e": event_id, "d": snapshot_date or self.day},
            )
        return self

    def published(
        self,
        customer_id: str,
        channel: str,
        action_date: date,
        stage: str = "LETTER",
        loan_ids: list[str] | None = None,
    ) -> Book:
        """An action committed by an earlier run (marts.collection_actions)."""
        self.con.execute(
            "insert into marts.collection_actions by name select md5($c || $ch || $a) as action_id,"
            " $a as action_date, $a::date - 1 as snapshot_date, $c as customer_id,"
            " $loans as loan_ids, $loans[1] as primary_loan_id, $ch as channel, $st as stage,"
            " 1 as priority, 0 as risk_score, 0 as overdue_amount, 0 as outstanding_amount,"
            " now() as window_start, now() as window_end, 'Asia/Shanghai' as timezone,"
            " 't' as template, 'old' as strategy_version, 'champion' as strategy_variant",
            {
                "c": customer_id,
                "ch": channel,
                "a": action_date,
                "st": stage,
                "loans": loan_ids or ["L?"],
            },
        )
        return self

    # -- running ------------------------------------------------------------------------------
    def run(self, plan: Strategy | None = None, timezone: str = "Asia/Shanghai") -> dict[str, int]:
        # The state a night reads, derived from the history planted in the marts (as an
        # upgrade derives it from a warehouse's history).
        state.rebuild(self.con, through=self.day - timedelta(days=1))
        return decide(self.con, self.day, plan or strategy(), timezone)

    def commit(self) -> None:
        """What the run's commit step does: work.* results become the published marts."""
        action_date = self.day + timedelta(days=1)
        with warehouse.transaction(self.con):
            for name, column, value in (
                ("loan_aging", "snapshot_date", self.day),
                ("arrangement_status", "snapshot_date", self.day),
                ("collection_actions", "action_date", action_date),
                ("suppressed_actions", "action_date", action_date),
            ):
                warehouse.replace_partition(
                    self.con, f"marts.{name}", f"work.{name}", column, value
                )
            for ledger in ("raw.contact_events", "marts.contact_history"):
                self.con.execute(f"insert into {ledger} by name select * from work.contact_events")
            # the phones and addresses reported bad tonight (built by decide), into raw
            warehouse.replace_partition(
                self.con,
                "raw.contact_fingerprints",
                "work.contact_fingerprints",
                "snapshot_date",
                self.day,
            )

    def next_day(self, dpd_step: int = 1) -> None:
        """Commit, then roll the inputs to the next snapshot date (delinquent loans age a day)."""
        self.commit()
        self.day += timedelta(days=1)
        self.con.execute(
            "update work.loan_aging set snapshot_date = $d,"
            " dpd = case when dpd > 0 then dpd + $step else 0 end",
            {"d": self.day, "step": dpd_step},
        )
        for dataset in ("customers", "installments", "arrangements", "holds"):
            self.con.execute(f"update work.{dataset} set snapshot_date = $d", {"d": self.day})
        self.con.execute("delete from work.contact_events")

    # -- reading ------------------------------------------------------------------------------
    def actions(self, *columns: str) -> pl.DataFrame:
        cols = ", ".join(columns or ("customer_id", "channel", "stage"))
        return self.con.sql(
            f"select {cols} from work.collection_actions order by customer_id, channel"
        ).pl()

    def suppressed(self, *columns: str) -> pl.DataFrame:
        cols = ", ".join(columns or ("customer_id", "channel", "reason"))
        return self.con.sql(
            f"select {cols} from work.suppressed_actions order by customer_id, channel, reason"
        ).pl()

    def skip_trace(self) -> list[tuple[Any, ...]]:
        """marts.skip_trace of the day as the night builds it after deciding."""
        registry.build(
            self.con,
            ("skip_trace",),
            {"snapshot_date": self.day},
            given=(*AGE_MODELS, *DECIDE_MODELS),
        )
        return self.rows(
            "select customer_id, since_date, event_id, channel, outcome, blocked_channels "
            "from work.skip_trace order by customer_id"
        )

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return self.con.execute(query).fetchall()
