"""Checks that run before any parser sees a file: size, binary content, text encoding, zip bombs, upload names.

Every check raises `IngestError` with a one-line reason and what to do. This module knows no
document format beyond "text" and "zip container".
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path, PurePosixPath

from charset_normalizer import from_bytes

from ingest.document import IngestError, printable

# A DOCX is a zip of XML; real ones expand about 5-20x. Refusing by the declared sizes in the zip's
# directory stops a bomb before a single byte is inflated.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100.0
# Below this expanded size a high ratio is harmless (tiny XML parts compress extremely well).
RATIO_CHECK_FLOOR_BYTES = 16 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000

# Text with more than this share of control characters is treated as binary data.
MAX_CONTROL_SHARE = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF_BYTES = 8192
PREFERRED_LEGACY_ENCODING = "cp1252"


def check_size(path: Path, max_bytes: int) -> int:
    """Return the file's size in bytes; refuse empty files and files over `max_bytes`."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError(path, "file is empty; add content or remove it from the batch")
    if size > max_bytes:
        raise IngestError(
            path,
            f"file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.1f} MiB limit "
            "(ingest.max_file_mb); split the file or raise the limit",
        )
    return size


def decode_text(path: Path, data: bytes) -> str:
    """Decode a text file's bytes: BOM, then UTF-8, then the encoding charset-normalizer detects.

    Newlines come back as `\\n`. Binary data with a text extension is refused.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _normalise_newlines(data.decode(encoding, errors="replace"))
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise _binary_error(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(path, data)
    if len(_CONTROL.findall(text[:_SNIFF_BYTES])) > MAX_CONTROL_SHARE * min(len(text), _SNIFF_BYTES):
        raise _binary_error(path)
    return _normalise_newlines(text)


def check_zip(path: Path) -> None:
    """Refuse a zip container (DOCX) that is not a zip, or whose declared contents would expand too far."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise IngestError(
            path, f"not a valid DOCX (zip) file ({error}); re-save it from a word processor"
        ) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise IngestError(
            path, f"DOCX holds {len(entries)} parts, over {MAX_ZIP_ENTRIES}; refusing a likely zip bomb"
        )
    expanded = sum(entry.file_size for entry in entries)
    compressed = max(1, sum(entry.compress_size for entry in entries))
    ratio = expanded / compressed
    too_large = expanded > MAX_UNCOMPRESSED_BYTES
    too_dense = expanded > RATIO_CHECK_FLOOR_BYTES and ratio > MAX_COMPRESSION_RATIO
    if too_large or too_dense:
        raise IngestError(
            path,
            f"DOCX would expand to {expanded / 2**20:.0f} MiB ({ratio:.0f}x its size); refusing a likely zip bomb "
            "- re-save the document from a word processor",
        )


def safe_upload_name(name: str) -> str:
    """Return an uploaded file's name as a clean relative POSIX path, refusing traversal and absolute paths.

    Browsers and API clients send names we do not control; a name like `../../etc/passwd` or
    `C:\\Windows\\x` must never become a path outside the upload folder.
    """
    if not name or not name.strip() or any(ord(char) < 32 for char in name):
        raise IngestError(
            printable(name) or "(no name)", "upload name is empty or has control characters; rename the file"
        )
    unified = name.replace("\\", "/")
    is_absolute = unified.startswith("/") or re.match(r"^[A-Za-z]:", unified) is not None
    parts = [part for part in unified.split("/") if part not in ("", ".")]
    if is_absolute or ".." in parts or not parts:
        raise IngestError(
            name,
            "upload name must be a relative file name without '..' or a drive/root; rename the file and upload again",
        )
    return str(PurePosixPath(*parts))


def _decode_legacy(path: Path, data: bytes) -> str:
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise _binary_error(path)
    # Short Western text scores the same in several code pages (cp1250, cp1252, cp1257); they differ
    # only in rare letters. Windows-1252 is by far the most common legacy encoding, so it wins ties.
    tied = {
        match.encoding for match in matches if (match.chaos, match.coherence) == (best.chaos, best.coherence)
    }
    if PREFERRED_LEGACY_ENCODING in tied:
        return data.decode(PREFERRED_LEGACY_ENCODING)
    return str(best)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _binary_error(path: Path) -> IngestError:
    return IngestError(
        path, "looks like binary data, not text; save it as plain text (UTF-8) or use a supported format"
    )
