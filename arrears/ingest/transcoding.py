"""Landing text in another encoding, made readable for DuckDB (which reads UTF-8 here).

DuckDB 2.0 reads only UTF-8/UTF-16/Latin-1 without its encodings extension (not available
offline), so GB18030/GBK files are transcoded to a temporary UTF-8 copy, streaming, with strict
decoding; a file that is really UTF-8 but configured otherwise is refused rather than turned
into mojibake.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from arrears.errors import InputRejected
from arrears.ingest.landing import CHUNK


def not_valid(path: Path, encoding: str, offset: int) -> InputRejected:
    """The rejection of a file whose bytes are not text in its configured encoding."""
    if codecs.lookup(encoding).name == "utf-8":
        return InputRejected(
            str(path),
            "text is not valid UTF-8",
            1,
            hint="if the file is GB18030/GBK, set ARREARS_ENCODING=gb18030 or "
            'ARREARS_DATASET_ENCODINGS=\'{"<dataset>": "gb18030"}\'',
        )
    return InputRejected(
        str(path),
        f"text is not valid {encoding} (byte offset {offset})",
        1,
        hint="check the file's encoding and the configured one "
        "(ARREARS_ENCODING / ARREARS_DATASET_ENCODINGS)",
    )


@contextlib.contextmanager
def utf8_copy(path: Path, encoding: str) -> Iterator[Path]:
    """Yield a path DuckDB can read as UTF-8: the file itself, or a transcoded temporary copy."""
    if codecs.lookup(encoding).name == "utf-8":
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
    looks_utf8 = True
    multibyte = False
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix=f".{path.stem}-", dir=path.parent)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            offset = 0
            while chunk := src.read(CHUNK):
                if offset == 0 and chunk.startswith(codecs.BOM_UTF8):
                    looks_utf8 = multibyte = True
                try:
                    dst.write(decoder.decode(chunk))
                except UnicodeDecodeError as exc:
                    if _is_utf8_text(path):
                        raise _utf8_not_configured(path, encoding) from None
                    raise not_valid(path, encoding, offset + exc.start) from None
                if looks_utf8:
                    try:
                        utf8.decode(chunk)
                        multibyte = multibyte or any(b >= 0x80 for b in chunk)
                    except UnicodeDecodeError:
                        looks_utf8 = False
                offset += len(chunk)
            dst.write(decoder.decode(b"", final=True))
        if looks_utf8 and multibyte:
            # Valid UTF-8 with non-ASCII text is almost never GB18030: decoding it would
            # silently turn every name and address into mojibake.
            raise _utf8_not_configured(path, encoding)
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _is_utf8_text(path: Path) -> bool:
    """True when the whole file decodes as UTF-8 and holds non-ASCII text."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    multibyte = False
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
                multibyte = multibyte or any(b >= 0x80 for b in chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return multibyte


def _utf8_not_configured(path: Path, encoding: str) -> InputRejected:
    return InputRejected(
        str(path),
        f"text is UTF-8 but the dataset is configured as {encoding}",
        1,
        hint="remove the encoding setting for this dataset, or re-export it as " + encoding,
    )
