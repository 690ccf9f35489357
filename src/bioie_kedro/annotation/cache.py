"""A crash-safe store of annotator answers, keyed by (model, sha256 of the prompt).

SQLite in WAL mode with ``synchronous=FULL``: every answer is committed as soon as it arrives, so
a run killed at any moment (``kill -9``, a lost node) keeps every answer it had received, and the
next run asks only the prompts without one. Readers (a progress check, a second process) never
block the writer. The model part of the key is the annotator's
:attr:`~bioie_kedro.annotation.backends.Annotator.cache_model` (model identity plus the decoding
settings that change answers), so a different model or decoding never reuses stale answers.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    model TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, prompt_sha256)
)
"""
_LOOKUP_CHUNK = 500


class AnswerCache:
    """Answers on disk; use as a context manager or call :meth:`close`.

    Not shared between threads: the annotation runner writes from the thread that drives the
    backend (answers of concurrent requests are handed back to it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=60)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute(_SCHEMA)
        self._connection.commit()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def get_many(self, model: str, prompt_hashes: Iterable[str]) -> dict[str, str]:
        """``{prompt hash: answer}`` for the hashes that have an answer from ``model``."""
        hashes = list(dict.fromkeys(prompt_hashes))
        found: dict[str, str] = {}
        for start in range(0, len(hashes), _LOOKUP_CHUNK):
            chunk = hashes[start : start + _LOOKUP_CHUNK]
            placeholders = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                "SELECT prompt_sha256, answer FROM answers "
                f"WHERE model = ? AND prompt_sha256 IN ({placeholders})",
                [model, *chunk],
            )
            found.update(rows.fetchall())
        return found

    def put(self, model: str, prompt_hash: str, answer: str) -> None:
        """Store one answer and commit it (an existing answer is kept: answers are never re-asked,
        so a second one can only come from a concurrent run of the same prompts)."""
        self._connection.execute(
            "INSERT OR IGNORE INTO answers (model, prompt_sha256, answer, created) "
            "VALUES (?, ?, ?, ?)",
            (model, prompt_hash, answer, time.time()),
        )
        self._connection.commit()

    def count(self, model: str | None = None) -> int:
        if model is None:
            row = self._connection.execute("SELECT COUNT(*) FROM answers").fetchone()
        else:
            row = self._connection.execute(
                "SELECT COUNT(*) FROM answers WHERE model = ?", (model,)
            ).fetchone()
        return int(row[0])
