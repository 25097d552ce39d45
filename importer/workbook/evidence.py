"""Evidence files named by the `sources` sheet: where they may be, what they must be.

A file must resolve inside the workbook's folder (no absolute path, no `..` escape, no symlink pointing
out), exist, be non-empty and at most 50,000,000 bytes, have an extension the API accepts, and hold what
its extension claims (PDF, PNG, JPEG, HEIC, ZIP-based Office files, Parquet and OLE .doc by their magic
bytes; text and CSV must decode). Its size, Content-Type and SHA-256 are recorded for the upload and the
audit report.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

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


def _looks_like(ext: str, start: bytes) -> bool:
    """Whether a file of extension `ext` whose first MiB is `start` holds what the extension claims."""
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
        if b"\x00" in head:
            return False
        try:
            start.decode("utf-8")
        except UnicodeDecodeError:
            try:
                head.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
                return False
        return True
    return False


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


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
        raise EvidenceError(f"{text!r} is a link pointing outside the workbook's folder ({resolved}); copy the file "
                            "into the folder instead")
    try:
        info: os.stat_result | None = resolved.stat()  # one stat for the usual file; the checks below else
    except OSError:
        info = None
    if info is None and not resolved.exists():
        near = _near_miss(root, parts)
        hint = (f"; the folder has {near!r}, which differs only in letter case or in how accented letters are "
                "encoded (a name copied from a Mac): write the name exactly as the file has it") if near else ""
        raise EvidenceError(f"file {text!r} not found in {root}{hint}")
    if not (stat.S_ISREG(info.st_mode) if info is not None else resolved.is_file()):
        raise EvidenceError(f"{text!r} is not a regular file")
    ext = resolved.suffix.lower()
    if ext not in CONTENT_TYPES:
        raise EvidenceError(f"{text!r}: files of type {ext or '(no extension)'} are not accepted by Isometric; use one "
                            f"of {', '.join(sorted(CONTENT_TYPES))}")
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
    if not _looks_like(ext, start):
        raise EvidenceError(f"{text!r} does not hold what its extension {ext} says (its first bytes are "
                            f"{start[:8]!r}); export it again in the right format")
    return Evidence(path=resolved, file_name=resolved.name, content_type=CONTENT_TYPES[ext], content_length=size,
                    sha256=digest.hexdigest())


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
        raise EvidenceError(f"{path} cannot be opened ({exc.strerror or exc}); it was there at validation: check "
                            "it was not moved, replaced by a link or made unreadable, then validate and run "
                            "again") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EvidenceError(f"{path} is not a regular file (a pipe or device was put in its place); put the "
                                "evidence file back, then validate and run again")
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
        detail = (f"{expected_size:,} bytes then, {now} now" if len(data) != expected_size
                  else "same size, other content")
        raise EvidenceError(f"{path} changed since it was validated; validate and run again ({detail})")
    return data
