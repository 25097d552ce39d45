"""Evidence files named by the `sources` sheet: where they may be, what they must be.

A file must resolve inside the workbook's folder (no absolute path, no `..` escape, no symlink pointing
out), exist, be non-empty and at most 50,000,000 bytes, have an extension the API accepts, and hold what
its extension claims (PDF, PNG, JPEG, HEIC, ZIP-based Office files, Parquet and OLE .doc by their magic
bytes; text and CSV must decode). Its size, Content-Type and SHA-256 are recorded for the upload and the
audit report.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from importer.workbook.coerce import fold_text, how_texts_differ
from importer.workbook.spec import CONTENT_TYPES, MAX_SOURCE_BYTES


@dataclass(frozen=True)
class Evidence:
    path: Path
    file_name: str
    content_type: str
    content_length: int
    sha256: str


class EvidenceError(ValueError):
    """Why a file cannot be used as evidence (a plain sentence)."""


def _looks_like(ext: str, start: bytes, whole: bool = False) -> bool:
    """Whether a file of extension `ext` whose first MiB is `start` holds what the extension claims (`whole`:
    `start` is the whole file)."""
    head = start[:16]
    if ext == ".pdf":
        return head.startswith(b"%PDF")
    if ext == ".png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in (".jpg", ".jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == ".heic":
        return head[4:8] == b"ftyp"
    if ext in (".docx", ".xlsx"):
        return head.startswith(b"PK\x03\x04")
    if ext == ".doc":
        return head.startswith(b"\xd0\xcf\x11\xe0")
    if ext == ".parquet":
        return head.startswith(b"PAR1")
    if ext in (".txt", ".csv"):
        return text_encoding(start, whole=whole) is not None
    return False


#: byte-order marks and the encodings they announce, longest first (UTF-32 LE's begins with UTF-16 LE's)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: control characters text never holds (tab, line feed, vertical tab, form feed, carriage return and the DOS
#: end-of-file mark 0x1A excepted)
_CONTROLS = bytes([*range(0, 9), *range(14, 26), *range(27, 32), 127])
_CONTROL_CHARS = re.compile("[" + re.escape(_CONTROLS.decode("ascii")) + "]")


def text_encoding(start: bytes, *, whole: bool = False) -> str | None:
    """The encoding of a text file (.txt, .csv) whose first bytes are `start`, or None when they are not text:
    after a byte-order mark, UTF-8, UTF-16 or UTF-32 (Excel's "Unicode Text", PowerShell's and LibreOffice's
    exports write UTF-16 LE with a BOM), else UTF-8, else a legacy single-byte encoding (latin-1, cp1252). Text
    holds no control characters but tab, line breaks, form feed and 0x1A, and, after a BOM, no unassigned or
    private-use code points: binary files (images, archives, random bytes) are refused whatever their first
    bytes. `whole`: `start` is the whole file (else a character may be cut at its end)."""
    for bom, encoding in _BOMS:
        if start.startswith(bom):
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                text = decoder.decode(start[len(bom) :], final=whole)
            except UnicodeDecodeError:
                return None
            return encoding if _plausible(text) else None
    if len(start.translate(None, _CONTROLS)) != len(start):
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=whole)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _plausible(text: str) -> bool:
    """Decoded text that is text: no control characters (as above), and among its first 4096 characters none
    unassigned, private-use or a lone surrogate (what bytes that are not text decode to, after a BOM)."""
    if _CONTROL_CHARS.search(text):
        return False
    return not any(unicodedata.category(ch) in ("Cn", "Co", "Cs") for ch in text[:4096])


def _fold(name: str) -> str:
    """A file name as a person reads it (`coerce.fold_text`: accents however encoded, letter case, look-alikes)."""
    return fold_text(name)


def _near_miss(root: Path, parts: tuple[str, ...]) -> str | None:
    """The path, relative to root, of a file whose name matches `parts` but for letter case or Unicode
    normalisation (NFC vs NFD), or None."""
    here = root
    found: list[str] = []
    for part in parts:
        try:
            entries = {_fold(p.name): p for p in here.iterdir()}
        except OSError:
            return None
        match = entries.get(_fold(part))
        if match is None:
            return None
        found.append(match.name)
        here = match
    return "/".join(found)


def check_evidence(folder: Path, written: str) -> Evidence:
    """Resolve and vet the file a `file` cell names, relative to the workbook's folder."""
    return _check(folder.resolve(), written, None)


class EvidenceFolder:
    """`check_evidence` for the many `file` cells of one workbook, with the same outcome: the workbook's folder
    and each sub-folder named are resolved once, not once per cell; a file that is itself a link is resolved
    in full, as `Path.resolve` does."""

    def __init__(self, folder: Path) -> None:
        self.root = folder.resolve()
        self._folders: dict[tuple[str, ...], Path] = {}

    def check(self, written: str) -> Evidence:
        return _check(self.root, written, self)

    def resolve(self, parts: tuple[str, ...], candidate: Path) -> Path:
        """`candidate.resolve()`, given `candidate` is the root joined with `parts`."""
        if not parts:
            return candidate.resolve()
        folder = self._folders.get(parts[:-1])
        if folder is None:
            try:
                folder = self.root.joinpath(*parts[:-1]).resolve()
            except (OSError, RuntimeError):  # a link loop, say: the whole path as before, error and all
                return candidate.resolve()
            self._folders[parts[:-1]] = folder
        path = os.path.join(folder, parts[-1])
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return candidate.resolve()
        except OSError:  # absent: resolved as written below its folder, as realpath does
            pass
        return Path(path)


def _check(root: Path, written: str, folder: EvidenceFolder | None) -> Evidence:
    """The file a cell names, vetted; whatever the file system answers instead of a file (a link loop, a
    permission refused, a name too long, an I/O error) is an `EvidenceError` naming it, never an exception."""
    try:
        return _vet(root, written, folder)
    except (OSError, RuntimeError) as exc:  # RuntimeError: Path.resolve's "Symlink loop" before Python 3.13
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split(" from ")[0]
        raise EvidenceError(
            f"{written.strip()!r} cannot be read as a file ({why}); put the file itself in the workbook's folder"
        ) from None


def _vet(root: Path, written: str, folder: EvidenceFolder | None) -> Evidence:
    text = written.strip()
    if not text:
        raise EvidenceError("no file given")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise EvidenceError(f"{text!r} is an absolute path; give the path relative to the workbook's folder")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        raise EvidenceError(f"{text!r} leaves the workbook's folder (..); keep evidence inside it")
    candidate = root.joinpath(*parts)
    resolved = candidate.resolve() if folder is None else folder.resolve(parts, candidate)
    if not resolved.is_relative_to(root):
        raise EvidenceError(
            f"{text!r} is a link pointing outside the workbook's folder ({resolved}); copy the file "
            "into the folder instead"
        )
    try:
        info: os.stat_result | None = resolved.stat()  # one stat for the usual file; the checks below else
    except OSError:
        info = None
    if info is None and not resolved.exists():
        near = _near_miss(root, parts)
        how = how_texts_differ("/".join(parts), near, "the name written", "the file's name") if near else None
        hint = (
            (f"; the folder has {near!r}, which looks the same but {how}: write the name exactly as the file has it")
            if near and how
            else ""
        )
        raise EvidenceError(f"file {text!r} not found in the workbook's folder{hint}")
    if not (stat.S_ISREG(info.st_mode) if info is not None else resolved.is_file()):
        raise EvidenceError(f"{text!r} is not a regular file")
    ext = resolved.suffix.lower()
    if ext not in CONTENT_TYPES:
        raise EvidenceError(
            f"{text!r}: files of type {ext or '(no extension)'} are not accepted by Isometric; use one "
            f"of {', '.join(sorted(CONTENT_TYPES))}"
        )
    size = info.st_size if info is not None else resolved.stat().st_size
    if size == 0:
        raise EvidenceError(f"{text!r} is empty (0 bytes)")
    if size > MAX_SOURCE_BYTES:
        raise EvidenceError(f"{text!r} is {size:,} bytes; the API accepts at most {MAX_SOURCE_BYTES:,}")
    digest = hashlib.sha256()
    with resolved.open("rb") as handle:  # opened once: the first MiB serves the hash and the content check
        start = handle.read(1 << 20)
        digest.update(start)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if not _looks_like(ext, start, whole=len(start) == size):
        raise EvidenceError(
            f"{text!r} does not hold what its extension {ext} says (its first bytes are "
            f"{start[:8]!r}); export it again in the right format"
        )
    return Evidence(
        path=resolved,
        file_name=resolved.name,
        content_type=CONTENT_TYPES[ext],
        content_length=size,
        sha256=digest.hexdigest(),
    )


def read_evidence(path: Path, *, expected_size: int, expected_sha256: str) -> bytes:
    """The bytes of a validated evidence file, for the upload, read so that nothing swapped in since validation
    can hang or fool the run: opened non-blocking (a FIFO put in its place does not wait for a writer) and
    without following a final symlink where the OS allows, checked to be a regular file through the open handle
    (not the path, which may change in between), read at most `expected_size + 1` bytes (a device cannot
    stream forever), and compared by size and SHA-256 with what validation recorded. Raises EvidenceError.

    Caller: `data = read_evidence(row.file, expected_size=row.content_length, expected_sha256=row.sha256)` in
    place of `row.file.read_bytes()` and the hash comparison (an EvidenceError fails that row only)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise EvidenceError(
            f"{path} cannot be opened ({exc.strerror or exc}); it was there at validation: check "
            "it was not moved, replaced by a link or made unreadable, then validate and run "
            "again"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EvidenceError(
                f"{path} is not a regular file (a pipe or device was put in its place); put the "
                "evidence file back, then validate and run again"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: ordinary reads from here
        chunks: list[bytes] = []
        remaining = expected_size + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise EvidenceError(f"{path} cannot be read ({exc.strerror or exc}); validate and run again") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) != expected_size or hashlib.sha256(data).hexdigest() != expected_sha256:
        now = "more" if len(data) > expected_size else f"{len(data):,}"
        detail = (
            f"{expected_size:,} bytes then, {now} now" if len(data) != expected_size else "same size, other content"
        )
        raise EvidenceError(f"{path} changed since it was validated; validate and run again ({detail})")
    return data
