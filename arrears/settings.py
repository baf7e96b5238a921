"""One typed settings object: command-line options win over ARREARS_* variables over defaults."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    import duckdb

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULTS_DIR = PACKAGE_DIR / "defaults"


class Settings(BaseSettings):
    """Where data comes from and goes to, and which rules apply.

    Defaults run locally on the embedded DuckDB file; nothing points at a remote system.
    """

    # hide_input_in_errors: a refused value (a DSN with its password) is never repeated.
    model_config = SettingsConfigDict(
        env_prefix="ARREARS_", extra="forbid", hide_input_in_errors=True
    )

    landing: Path = Path("./landing")
    warehouse: Path = Path("./data/arrears.duckdb")
    outbox: Path = Path("./outbox")
    strategy: Path = DEFAULTS_DIR / "strategy.yaml"
    aging: Path = DEFAULTS_DIR / "aging.yaml"
    # Teams, agents and agencies that CALL, VISIT and LEGAL actions go to (docs/allocation.md).
    allocation: Path = DEFAULTS_DIR / "allocation.yaml"
    profile: Literal["cn", "us"] = "cn"
    timezone: str = "Asia/Shanghai"
    postgres: SecretStr | None = None

    # CSV encoding of the landing folder, and per-dataset overrides ({"customers": "gb18030"}).
    encoding: str = "utf-8"
    dataset_encodings: dict[str, str] = Field(default_factory=dict)
    # Channels that get a CSV beside the Parquet outbox file, and that CSV's encoding.
    csv_channels: list[str] = Field(default_factory=lambda: ["letter", "visit"])
    csv_encoding: str = "utf-8"
    # Row-level validation failures tolerated before the run stops (share of the dataset).
    quarantine_limit: float = 0.01
    # Where HTML reports and (on request) Great Expectations Data Docs are written.
    reports: Path = Path("./reports")
    # Saved roll-forward models (arrears train; a strategy's risk.model names one), and the
    # held-out AUC below which training saves nothing (docs/models.md).
    models: Path = Path("./models")
    model_auc_floor: float = Field(default=0.70, ge=0, le=1)
    # A base URL where the reports folder is served (https://reports.example/arrears): each run
    # then links its report as a Prefect artifact, <report_url>/<D>/report.html.
    report_url: str | None = None
    # A base URL where the outbox folder is served: the report and the run-summary then link
    # each date's manifest as <outbox_url>/<A>/_manifest.json.
    outbox_url: str | None = None
    data_docs: Path | None = None
    # How long a run waits for another run's warehouse lock, or for another process to close
    # the warehouse file, before failing.
    lock_timeout_seconds: float = 600.0
    # Cap on DuckDB's memory: a size ('12GB') or a share of the RAM ('60%') of the machine that
    # opens the warehouse; past it DuckDB spills to disk. None: DuckDB's default, 80% of the RAM.
    memory_limit: str | None = None
    # Partitioned age + decide (docs/scaling.md): customers hashed into this many partitions,
    # each computed by a Dask task; 1 = everything in this process.
    partitions: int = Field(default=1, ge=1)
    # A Dask scheduler ("tcp://host:8786"); none = a local cluster started for the run.
    dask_address: str | None = None
    # Where partitions exchange Parquet files; on a cluster, a folder every worker can read
    # and write. None = `<warehouse>.partitions/` beside the warehouse file.
    partition_exchange: Path | None = None
    # Retention (docs/CONTRACT.md section 8, docs/operating.md "Retention"): raw.* keeps the last
    # raw_keep_days snapshots (and the state the last as many nights); older snapshots move to
    # <archive>/<dataset>/snapshot_date=<D>/data.parquet, raw.customers copies are deleted.
    archive: Path = Path("./archive")
    raw_keep_days: int = Field(default=7, ge=1)
    # A customer with no loan on the book (ACTIVE or CHARGED_OFF) for longer is erased from
    # raw.customers; outbox folders older than outbox_keep_days before the action date go.
    personal_data_days: int = Field(default=1825, ge=1)
    outbox_keep_days: int = Field(default=90, ge=1)
    # Monthly credit-bureau files (docs/bureau.md): the reporting day of the month (0: its last
    # day), and the data furnisher's identification and name in the Metro 2 header and records.
    bureau_day: int = Field(default=0, ge=0, le=28)
    bureau_reporter_id: str = Field(default="ARREARS", max_length=20)
    bureau_reporter_name: str = Field(default="ARREARS LENDER", max_length=40)
    # The key of the personal columns of raw.customers (docs/privacy.md): base64 of 32 bytes,
    # or a key file; None = `pii.key` beside the warehouse, created at the first run.
    pii_key: SecretStr | None = None
    pii_key_file: Path | None = None
    # The checkout a worker runs from (the deployments' pull step goes there): when set, the
    # relative default paths above (landing, warehouse, outbox, reports) are taken inside it,
    # whatever the working directory. Paths given explicitly are used as given.
    project_dir: Path | None = None
    # Start a warehouse although the outbox or the landing folder shows earlier dates
    # (`arrears run --init`, `arrears init`); without it such a run refuses to start.
    init: bool = False
    # PostgreSQL sink: seconds to wait for a connection, for a lock, and for one statement.
    postgres_connect_timeout: float = Field(default=10.0, gt=0)
    postgres_lock_timeout: float = Field(default=60.0, gt=0)
    postgres_statement_timeout: float = Field(default=300.0, gt=0)
    # Seconds a flow run may take before Prefect stops it (flows/operator.py reads them when the
    # flows are imported; here they are validated with the other settings).
    run_timeout_seconds: float = Field(default=4 * 3600, gt=0)
    backfill_timeout_seconds: float = Field(default=48 * 3600, gt=0)
    cancel_timeout_seconds: float = Field(default=25 * 60, gt=0)

    @field_validator("postgres")
    @classmethod
    def _libpq_reads_the_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        from arrears import redact

        if value is None:
            return None
        dsn = value.get_secret_value()
        redact.remember(dsn)
        try:
            redact.check_dsn(dsn)
        except redact.DsnError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("report_url", "outbox_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        value = (value or "").strip() or None
        if value is not None and not (urlsplit(value).scheme and urlsplit(value).netloc):
            raise ValueError(f"{value!r} is not an absolute URL (https://host/path)")
        return value

    @model_validator(mode="after")
    def _defaults_inside_the_project(self) -> Settings:
        if self.project_dir is not None:
            for name in _PROJECT_PATHS:
                if name not in self.model_fields_set:
                    default = type(self).model_fields[name].default
                    setattr(self, name, self.project_dir / default)
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc

    @field_validator("dataset_encodings")
    @classmethod
    def _known_dataset_encodings(cls, value: dict[str, str]) -> dict[str, str]:
        import codecs

        from arrears.contract import DATASETS

        out = {}
        for dataset, encoding in value.items():
            if dataset not in DATASETS:
                raise ValueError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")
            try:
                out[dataset] = codecs.lookup(encoding).name
            except LookupError as exc:
                raise ValueError(f"unknown encoding {encoding!r} for {dataset}") from exc
        return out

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit_duckdb_reads(cls, value: str | None) -> str | None:
        import duckdb

        from arrears.errors import ConfigError
        from arrears.warehouse import limit_memory

        value = (value or "").strip() or None
        con = duckdb.connect(":memory:")
        try:
            limit_memory(con, value)  # the check and wording of the warehouse itself
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        finally:
            con.close()
        return value

    def open_warehouse(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """The warehouse with this configuration's lock wait and memory cap (a context manager:
        `with settings.open_warehouse() as con:` closes it)."""
        from arrears import warehouse

        return warehouse.connect(
            self.warehouse,
            read_only=read_only,
            wait_seconds=self.lock_timeout_seconds,
            memory_limit=self.memory_limit,
        )

    def report_link(self, report: Path) -> str | None:
        """The report's URL under report_url (its path relative to the reports folder)."""
        if not self.report_url:
            return None
        relative = Path(report).resolve().relative_to(Path(self.reports).resolve())
        return self.report_url.rstrip("/") + "/" + relative.as_posix()

    def manifest_link(self, action_date: date) -> str | None:
        """The URL of the outbox manifest of action date A under outbox_url."""
        if not self.outbox_url:
            return None
        return f"{self.outbox_url.rstrip('/')}/{action_date.isoformat()}/_manifest.json"

    def pii_key_path(self) -> Path:
        """Where the personal-data key file is (read, or created at the first run)."""
        return self.pii_key_file or self.warehouse.parent / "pii.key"

    def postgres_dsn(self) -> str | None:
        return self.postgres.get_secret_value() if self.postgres else None


# Relative defaults that ARREARS_PROJECT_DIR anchors.
_PROJECT_PATHS = ("landing", "warehouse", "outbox", "reports", "models")


def load_settings(**overrides: object) -> Settings:
    """Build settings at run time; options given as None fall back to env, then defaults."""
    from pydantic import ValidationError

    from arrears.errors import ConfigError

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
