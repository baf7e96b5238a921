"""Landing folder -> typed `work.<dataset>` tables (docs/CONTRACT.md section 2).

A CSV file is loaded in one streaming pass (fast_reader): DuckDB's typed reader parses it
straight into `work.<dataset>`, with the checks its casts do not make themselves evaluated in
the same pass, then required values and keys are checked on the typed table. Clean files, the
nightly case, are read once.

When anything in that pass fails, the file is read again the careful way (careful_reader): as
text into a scratch table, checked column by column, then for duplicate keys, and only then
cast. That path finds every offending row and raises InputRejected naming the file, the rule,
the count and the first offending rows; nothing reaches `raw` or `marts` from a file that
failed here. Both paths take their SQL from one rule per contract type (acceptance), so which
one ran never changes the result. Parquet files always take the careful path.

Modules: landing (where the files are, what one read of their bytes tells), header (names
matched to the contract), transcoding (GB18030 and other encodings), acceptance, fast_reader,
careful_reader, carry_forward (datasets without a file, events seen before), loading (the
folder, dataset by dataset), summary (what ingest reports).
"""

from __future__ import annotations

import logging

from arrears.ingest.acceptance import typed_reader
from arrears.ingest.landing import FileScan, find_file, landing_folder, scan_file
from arrears.ingest.loading import ingest, load_file
from arrears.ingest.summary import IngestSummary, LandedFile

# One logger for the package, as before the split: operators filter on `arrears.ingest`.
log = logging.getLogger(__name__)

__all__ = [
    "FileScan",
    "IngestSummary",
    "LandedFile",
    "find_file",
    "ingest",
    "landing_folder",
    "load_file",
    "log",
    "scan_file",
    "typed_reader",
]
