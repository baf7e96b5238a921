"""The Metro 2 character format: fixed-width records of 426 bytes (header, base segment,
trailer), laid out by the published field offsets (docs/bureau.md names the sources).

Each field is numeric (right-justified, zero-filled), a date (MMDDYYYY, zeros when none) or
alphanumeric (left-justified, blank-filled). Text is UTF-8 cut at a character boundary to the
field's width in bytes, so a record stays 426 bytes whatever the name's script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import polars as pl

RECORD_BYTES = 426


@dataclass(frozen=True)
class Field:
    name: str
    start: int  # offset of the first byte, 0-based
    length: int
    kind: Literal["N", "D", "A"]  # numeric, date, alphanumeric


def _layout(*fields: Field) -> tuple[Field, ...]:
    # The fields tile the record: each starts where the previous one ends.
    end = 0
    for f in fields:
        if f.start != end:
            raise ValueError(f"Metro 2 field {f.name} starts at {f.start}, not {end}")
        end = f.start + f.length
    if end != RECORD_BYTES:
        raise ValueError(f"Metro 2 record of {end} bytes")
    return fields


HEADER = _layout(
    Field("record_descriptor_word", 0, 4, "N"),
    Field("record_identifier", 4, 6, "A"),
    Field("cycle_identifier", 10, 2, "A"),
    Field("innovis_program_identifier", 12, 10, "A"),
    Field("equifax_program_identifier", 22, 10, "A"),
    Field("experian_program_identifier", 32, 5, "A"),
    Field("transunion_program_identifier", 37, 10, "A"),
    Field("activity_date", 47, 8, "D"),
    Field("date_created", 55, 8, "D"),
    Field("program_date", 63, 8, "D"),
    Field("program_revision_date", 71, 8, "D"),
    Field("reporter_name", 79, 40, "A"),
    Field("reporter_address", 119, 96, "A"),
    Field("reporter_telephone_number", 215, 10, "N"),
    Field("software_vendor_name", 225, 40, "A"),
    Field("software_version_number", 265, 5, "A"),
    Field("prbc_program_identifier", 270, 10, "A"),
    Field("reserved", 280, 146, "A"),
)

BASE = _layout(
    Field("record_descriptor_word", 0, 4, "N"),
    Field("processing_indicator", 4, 1, "N"),
    Field("time_stamp", 5, 14, "A"),  # MMDDYYYYHHMMSS
    Field("correction_indicator", 19, 1, "N"),
    Field("identification_number", 20, 20, "A"),
    Field("cycle_identifier", 40, 2, "A"),
    Field("consumer_account_number", 42, 30, "A"),
    Field("portfolio_type", 72, 1, "A"),
    Field("account_type", 73, 2, "A"),
    Field("date_opened", 75, 8, "D"),
    Field("credit_limit", 83, 9, "N"),
    Field("highest_credit", 92, 9, "N"),
    Field("terms_duration", 101, 3, "A"),
    Field("terms_frequency", 104, 1, "A"),
    Field("scheduled_monthly_payment_amount", 105, 9, "N"),
    Field("actual_payment_amount", 114, 9, "N"),
    Field("account_status", 123, 2, "A"),
    Field("payment_rating", 125, 1, "A"),
    Field("payment_history_profile", 126, 24, "A"),
    Field("special_comment", 150, 2, "A"),
    Field("compliance_condition_code", 152, 2, "A"),
    Field("current_balance", 154, 9, "N"),
    Field("amount_past_due", 163, 9, "N"),
    Field("original_charge_off_amount", 172, 9, "N"),
    Field("date_account_information", 181, 8, "D"),
    Field("date_first_delinquency", 189, 8, "D"),
    Field("date_closed", 197, 8, "D"),
    Field("date_last_payment", 205, 8, "D"),
    Field("interest_type_indicator", 213, 1, "A"),
    Field("reserved", 214, 17, "A"),
    Field("surname", 231, 25, "A"),
    Field("first_name", 256, 20, "A"),
    Field("middle_name", 276, 20, "A"),
    Field("generation_code", 296, 1, "A"),
    Field("social_security_number", 297, 9, "N"),
    Field("date_of_birth", 306, 8, "D"),
    Field("telephone_number", 314, 10, "N"),
    Field("ecoa_code", 324, 1, "A"),
    Field("consumer_information_indicator", 325, 2, "A"),
    Field("country_code", 327, 2, "A"),
    Field("first_line_address", 329, 32, "A"),
    Field("second_line_address", 361, 32, "A"),
    Field("city", 393, 20, "A"),
    Field("state", 413, 2, "A"),
    Field("zip_code", 415, 9, "A"),
    Field("address_indicator", 424, 1, "A"),
    Field("residence_code", 425, 1, "A"),
)

# The status codes the trailer counts (the others are zero: this pipeline reports no others).
TRAILER_STATUSES = ("11", "13", "71", "78", "80", "82", "83", "84", "97")

TRAILER = _layout(
    Field("record_descriptor_word", 0, 4, "N"),
    Field("record_identifier", 4, 7, "A"),
    Field("total_base_records", 11, 9, "N"),
    Field("reserved_1", 20, 9, "A"),
    Field("total_status_code_df", 29, 9, "N"),
    Field("total_consumer_segments_j1", 38, 9, "N"),
    Field("total_consumer_segments_j2", 47, 9, "N"),
    Field("block_count", 56, 9, "N"),
    Field("total_status_code_da", 65, 9, "N"),
    Field("total_status_code_05", 74, 9, "N"),
    Field("total_status_code_11", 83, 9, "N"),
    Field("total_status_code_13", 92, 9, "N"),
    Field("total_status_code_61", 101, 9, "N"),
    Field("total_status_code_62", 110, 9, "N"),
    Field("total_status_code_63", 119, 9, "N"),
    Field("total_status_code_64", 128, 9, "N"),
    Field("total_status_code_65", 137, 9, "N"),
    Field("total_status_code_71", 146, 9, "N"),
    Field("total_status_code_78", 155, 9, "N"),
    Field("total_status_code_80", 164, 9, "N"),
    Field("total_status_code_82", 173, 9, "N"),
    Field("total_status_code_83", 182, 9, "N"),
    Field("total_status_code_84", 191, 9, "N"),
    Field("total_status_code_88", 200, 9, "N"),
    Field("total_status_code_89", 209, 9, "N"),
    Field("total_status_code_93", 218, 9, "N"),
    Field("total_status_code_94", 227, 9, "N"),
    Field("total_status_code_95", 236, 9, "N"),
    Field("total_status_code_96", 245, 9, "N"),
    Field("total_status_code_97", 254, 9, "N"),
    Field("total_ecoa_code_z", 263, 9, "N"),
    Field("total_employment_segments", 272, 9, "N"),
    Field("total_original_creditor_segments", 281, 9, "N"),
    Field("total_purchased_to_segments", 290, 9, "N"),
    Field("total_mortgage_information_segments", 299, 9, "N"),
    Field("total_payment_information_segments", 308, 9, "N"),
    Field("total_change_segments", 317, 9, "N"),
    Field("total_social_numbers_all_segments", 326, 9, "N"),
    Field("total_social_numbers_base_segments", 335, 9, "N"),
    Field("total_social_numbers_j1_segments", 344, 9, "N"),
    Field("total_social_numbers_j2_segments", 353, 9, "N"),
    Field("total_dates_birth_all_segments", 362, 9, "N"),
    Field("total_dates_birth_base_segments", 371, 9, "N"),
    Field("total_dates_birth_j1_segments", 380, 9, "N"),
    Field("total_dates_birth_j2_segments", 389, 9, "N"),
    Field("total_telephone_numbers_all_segments", 398, 9, "N"),
    Field("reserved_2", 407, 19, "A"),
)

Value = str | int | Decimal | date | None


def _fit(text: str, width: int) -> bytes:
    """UTF-8 of `text` in at most `width` bytes, never splitting a character, blank-filled."""
    data = text.encode("utf-8")
    if len(data) > width:
        data = data[:width].decode("utf-8", errors="ignore").encode("utf-8")
    return data.ljust(width, b" ")


def _field(f: Field, value: Value) -> bytes:
    if f.kind == "A":
        return _fit("" if value is None else str(value), f.length)
    if f.kind == "D":
        if value is None:
            return b"0" * f.length
        if not isinstance(value, date):
            raise TypeError(f"Metro 2 {f.name}: a date, not {value!r}")
        return value.strftime("%m%d%Y").encode("ascii")
    if isinstance(value, date):
        raise TypeError(f"Metro 2 {f.name}: a number, not {value!r}")
    number = 0 if value is None else int(value)  # money in whole units, cents dropped
    if number < 0:
        raise ValueError(f"Metro 2 {f.name}: {value} is negative")
    text = str(number)
    if len(text) > f.length:
        raise ValueError(f"Metro 2 {f.name}: {value} does not fit {f.length} digits")
    return text.rjust(f.length, "0").encode("ascii")


def encode(layout: tuple[Field, ...], values: dict[str, Value]) -> bytes:
    """One record of `layout`; a field missing from `values` is blank (or zero)."""
    unknown = set(values) - {f.name for f in layout}
    if unknown:
        raise KeyError(f"not Metro 2 fields of this record: {sorted(unknown)}")
    record = b"".join(_field(f, values.get(f.name)) for f in layout)
    if len(record) != RECORD_BYTES:  # every field has its width: a broken layout only
        raise ValueError(f"Metro 2 record of {len(record)} bytes")
    return record


def decode(layout: tuple[Field, ...], record: bytes) -> dict[str, str | int | date | None]:
    """A record read back by the field offsets: numbers as int, dates as date (None for zeros),
    text with its trailing blanks removed."""
    if len(record) != RECORD_BYTES:
        raise ValueError(f"a Metro 2 record is {RECORD_BYTES} bytes, not {len(record)}")
    values: dict[str, str | int | date | None] = {}
    for f in layout:
        raw = record[f.start : f.start + f.length]
        if f.kind == "N":
            values[f.name] = int(raw) if raw.strip() else None
        elif f.kind == "D":
            text = raw.decode("ascii")
            values[f.name] = (
                None
                if text.strip("0 ") == ""
                else date(int(text[4:8]), int(text[0:2]), int(text[2:4]))
            )
        else:
            values[f.name] = raw.decode("utf-8").rstrip(" ")
    return values


def _fit_series(text: pl.Series, width: int) -> pl.Series:
    """`_fit` over a column: blank-filled to `width` bytes; the rare value longer than the
    field is cut in Python, at a character boundary."""
    text = text.cast(pl.String).fill_null("")
    too_long = text.str.len_bytes() > width
    if too_long.any():
        index = too_long.arg_true()
        cut = [_fit(v, width).decode("utf-8").rstrip(" ") for v in text.gather(index).to_list()]
        text = text.scatter(index, cut)
    padding = pl.lit(" " * width).str.slice(0, width - pl.col("t").str.len_bytes())
    return pl.DataFrame({"t": text}).select(pl.concat_str([pl.col("t"), padding])).to_series()


def _column(f: Field, values: pl.Series | None, rows: int) -> pl.Series:
    if values is None:
        values = pl.Series([None] * rows, dtype=pl.String)
    if f.kind == "A":
        return _fit_series(values, f.length)
    if f.kind == "D":
        return values.cast(pl.Date).dt.strftime("%m%d%Y").fill_null("0" * f.length)
    numbers = values.cast(pl.Int64).fill_null(0)  # money in whole units, cents dropped
    if rows and numbers.min() < 0:  # type: ignore[operator]
        raise ValueError(f"Metro 2 {f.name}: a negative value")
    text = numbers.cast(pl.String)
    if rows and text.str.len_chars().max() > f.length:  # type: ignore[operator]
        raise ValueError(f"Metro 2 {f.name}: a value does not fit {f.length} digits")
    return text.str.zfill(f.length)


def encode_frame(layout: tuple[Field, ...], values: pl.DataFrame) -> pl.Series:
    """`encode` for every row of `values` (one column per field; a missing column is blank or
    zero), as text: one record per row, each RECORD_BYTES bytes of UTF-8."""
    unknown = set(values.columns) - {f.name for f in layout}
    if unknown:
        raise KeyError(f"not Metro 2 fields of this record: {sorted(unknown)}")
    rows = values.height
    columns = [
        _column(f, values.get_column(f.name) if f.name in values.columns else None, rows)
        for f in layout
    ]
    records = pl.DataFrame({str(i): c for i, c in enumerate(columns)}).select(
        pl.concat_str(pl.all()).alias("record")
    )["record"]
    if rows and (records.str.len_bytes() != RECORD_BYTES).any():
        raise ValueError("a Metro 2 record is not 426 bytes")
    return records
