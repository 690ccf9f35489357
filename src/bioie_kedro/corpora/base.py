"""What every corpus reader shares: its result type, its error type and strict file decoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bioie_kedro.schema import Document


class CorpusFormatError(ValueError):
    """Malformed input. The message names the file and the line or record at fault."""

    def __init__(
        self, path: str | Path, problem: str, *, line: int | None = None, record: str | None = None
    ):
        self.path = str(path)
        self.line = line
        self.record = record
        self.problem = problem
        where = self.path
        if line is not None:
            where += f", line {line}"
        if record is not None:
            where += f", record {record}"
        super().__init__(f"{where}: {problem}")


@dataclass(slots=True)
class SkippedRecord:
    """A record a reader left out on purpose (e.g. a duplicated document), with the reason."""

    file: str
    record: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "record": self.record, "reason": self.reason}


@dataclass(slots=True)
class ReadResult:
    """The documents of one corpus split, every record skipped while reading it, and every
    annotation kept with a correction (e.g. stray whitespace around a mention string)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    corrections: list[SkippedRecord] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        self.documents.extend(other.documents)
        self.skipped.extend(other.skipped)
        self.corrections.extend(other.corrections)


def read_text_file(path: str | Path) -> str:
    """Read a whole file as strict UTF-8.

    Raises:
        CorpusFormatError: the file is missing, empty, or not valid UTF-8 (naming the line of the
            first bad byte).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusFormatError(path, "file not found") from None
    except IsADirectoryError:
        raise CorpusFormatError(path, "expected a file, found a directory") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CorpusFormatError(
            path, f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", line=line
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CorpusFormatError(path, "file is empty")
    return text
