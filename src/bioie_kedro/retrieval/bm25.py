"""BM25 scores of a query against a fixed pool of texts, with the ``bm25s`` library.

Used for RA-IT's BM25 rejection and re-ranking (:mod:`bioie_kedro.retrieval.neighbours`) and for
BM25 + dense fusion in RAG-ICL selection (:mod:`bioie_kedro.retrieval.selection`).

Score scale. BM25 scores are sums of per-term weights, so their size depends on the variant, the
tokenisation (here: lower-cased words of two or more characters, English stopwords removed, no
stemming — ``bm25s.tokenize``), the query length and the pool. The RA-IT paper's rejection
threshold of 20 was set for its own implementation and data; ``bm25s``'s default ``lucene``
variant (non-negative idf ``log(1 + (N - df + 0.5) / (df + 0.5))``, ``k1=1.5``, ``b=0.75``) is on a
comparable but not identical scale. Treat the threshold as a parameter to calibrate per corpus
and granularity: the RA-IT summary reports how many samples each threshold leaves without examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BM25_METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


class BM25Scorer:
    """BM25 index over ``texts``; :meth:`scores` gives one score per pool text."""

    def __init__(
        self,
        texts: Sequence[str],
        *,
        method: str = "lucene",
        k1: float = 1.5,
        b: float = 0.75,
        stopwords: str | None = "en",
    ) -> None:
        import bm25s

        if method not in BM25_METHODS:
            raise ValueError(f"unknown BM25 method {method!r} (known: {', '.join(BM25_METHODS)})")
        if not texts:
            raise ValueError("BM25 needs at least one text in the pool")
        self.method = method
        self.k1 = k1
        self.b = b
        self.stopwords = stopwords
        self.size = len(texts)
        self._model = bm25s.BM25(method=method, k1=k1, b=b)
        self._model.index(self.tokenize(texts), show_progress=False)

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """The words BM25 sees: lower-cased, two or more characters, stopwords removed."""
        import bm25s

        if not texts:
            return []
        return bm25s.tokenize(
            list(texts), lower=True, stopwords=self.stopwords, return_ids=False, show_progress=False
        )

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every pool text (zeros when no query word is known)."""
        (tokens,) = self.tokenize([query])
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def settings(self) -> dict[str, Any]:
        return {"method": self.method, "k1": self.k1, "b": self.b, "stopwords": self.stopwords}
