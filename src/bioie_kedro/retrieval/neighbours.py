"""RA-IT neighbours: for each sample, ``k`` (default 2) other training units to prepend as examples.

``../shared/METHODS.md`` B. Candidates never include the sample itself nor any training unit whose
text is exactly the sample's text (an exact duplicate would hand the model its own answer). The
strategies of the RA-IT paper:

* ``random`` — ``k`` units drawn uniformly from the allowed pool;
* ``nearest`` — the ``k`` most similar (dense);
* ``diverse_nearest`` — ``k`` drawn uniformly from the ``top`` (128) most similar, listed by
  similarity;
* ``nearest_bm25_reject`` — the ``k`` nearest, minus those whose BM25 score against the sample is
  below ``bm25_threshold``; with **on-demand RAG** a sample whose examples are all rejected gets
  none (the instruction is asked without examples);
* ``bm25_rerank`` — the ``top`` most similar re-ordered by BM25, the first ``k`` kept.

Random draws come from one ``numpy`` generator per strategy seeded with ``seed``, so the output is
the same on every run. BM25 scores depend on the tokenisation and variant; see
:mod:`bioie_kedro.retrieval.bm25` about calibrating ``bm25_threshold``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.index import VectorIndex

logger = logging.getLogger(__name__)

RAIT_STRATEGIES = ("random", "nearest", "diverse_nearest", "nearest_bm25_reject", "bm25_rerank")
_NEEDS_BM25 = {"nearest_bm25_reject", "bm25_rerank"}


@dataclass(frozen=True, slots=True)
class NeighbourSettings:
    """``k`` examples per sample; ``top`` nearest for the diverse and BM25 re-ranking strategies;
    ``bm25_threshold`` for BM25 rejection; ``seed`` for every random draw."""

    k: int = 2
    top: int = 128
    bm25_threshold: float = 20.0
    seed: int = 0
    #: when set, the BM25 threshold is calibrated on the data instead: this quantile of the BM25
    #: scores of every sample's k nearest neighbours (0.25 rejects the weakest quarter)
    bm25_quantile: float | None = None

    def __post_init__(self) -> None:
        if self.k < 1 or self.top < self.k:
            raise ValueError(f"need 1 <= k <= top, got k={self.k}, top={self.top}")
        if self.bm25_quantile is not None and not 0.0 <= self.bm25_quantile < 1.0:
            raise ValueError(f"bm25_quantile must lie in [0, 1), got {self.bm25_quantile}")


def excluded_positions(
    query_texts: Sequence[str],
    pool_texts: Sequence[str],
    query_positions: Sequence[int | None] | None = None,
) -> list[set[int]]:
    """Per query, the pool positions it may not retrieve: its own position (when the query is a
    pool unit) and every pool unit with exactly the same text."""
    by_text: dict[str, set[int]] = defaultdict(set)
    for position, text in enumerate(pool_texts):
        by_text[text].add(position)
    query_positions = query_positions or [None] * len(query_texts)
    out = []
    for text, own in zip(query_texts, query_positions, strict=True):
        banned = set(by_text.get(text, ()))
        if own is not None:
            banned.add(own)
        out.append(banned)
    return out


def rait_neighbours(
    index: VectorIndex,
    query_ids: Sequence[str],
    query_texts: Sequence[str],
    query_vectors: np.ndarray,
    pool_texts: Sequence[str],
    strategies: Sequence[str],
    settings: NeighbourSettings,
    *,
    bm25: BM25Scorer | None = None,
    query_positions: Sequence[int | None] | None = None,
    report: dict[str, Any] | None = None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{strategy: {query_id: [{"id", "dense", "dense_rank", ["bm25"]}, ...]}}``.

    ``dense`` is the cosine similarity to the sample (for every strategy, ``random`` included),
    ``dense_rank`` the 1-based rank among the allowed pool (``None`` for ``random`` picks outside
    the ``top`` nearest); ``bm25`` is present for the BM25 strategies.

    Args:
        query_positions: per query, its own pool position (``None`` for a query outside the pool);
            by default a query whose id is a pool id is that unit.
        report: filled with the BM25 threshold applied (``settings.bm25_threshold``, or the one
            calibrated by ``settings.bm25_quantile``).
    """
    unknown = [s for s in strategies if s not in RAIT_STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown} (known: {', '.join(RAIT_STRATEGIES)})")
    if len(pool_texts) != len(index):
        raise ValueError(f"{len(pool_texts)} pool texts for an index of {len(index)} vectors")
    if bm25 is None and _NEEDS_BM25 & set(strategies):
        bm25 = BM25Scorer(pool_texts)
    if query_positions is None:
        known = set(index.ids)
        query_positions = [index.position(q) if q in known else None for q in query_ids]
    banned = excluded_positions(query_texts, pool_texts, query_positions)
    depth = settings.top if {"diverse_nearest", "bm25_rerank"} & set(strategies) else settings.k
    extra = max((len(b) for b in banned), default=0)
    scores, positions = index.search(query_vectors, depth + extra)
    pool_vectors = index.vectors() if "random" in strategies else None
    query_vectors = np.asarray(query_vectors, dtype=np.float32)

    selected = [s for s in RAIT_STRATEGIES if s in strategies]
    rngs = {s: np.random.default_rng([settings.seed, RAIT_STRATEGIES.index(s)]) for s in selected}
    out: dict[str, dict[str, list[dict[str, Any]]]] = {s: {} for s in selected}
    nearest_rows = [
        [
            (int(p), float(s))
            for s, p in zip(scores[row], positions[row], strict=True)
            if p >= 0 and int(p) not in banned[row]
        ][:depth]
        for row in range(len(query_ids))
    ]
    # BM25 scores are needed only at the nearest positions: keep those, not whole pool rows.
    bm25_at: list[dict[int, float]] = []
    if _NEEDS_BM25 & set(selected):
        for row, nearest in enumerate(nearest_rows):
            row_scores = bm25.scores(query_texts[row])
            bm25_at.append({p: float(row_scores[p]) for p, _ in nearest})
    threshold = settings.bm25_threshold
    if settings.bm25_quantile is not None and "nearest_bm25_reject" in selected:
        first_k = [
            bm25_at[row][p] for row, n in enumerate(nearest_rows) for p, _ in n[: settings.k]
        ]
        threshold = float(np.quantile(first_k, settings.bm25_quantile)) if first_k else 0.0
    for row, query_id in enumerate(query_ids):
        nearest = nearest_rows[row]
        rank_of = {p: rank for rank, (p, _) in enumerate(nearest, start=1)}
        bm25_row = bm25_at[row] if bm25_at else None
        for strategy in selected:
            rng = rngs[strategy]
            if strategy == "random":
                picks = _random_positions(rng, len(index), settings.k, banned[row])
                dense = pool_vectors[picks] @ query_vectors[row] if picks else []
                chosen = [
                    _record(index, p, float(d), rank_of.get(p))
                    for p, d in zip(picks, dense, strict=True)
                ]
            elif strategy == "nearest":
                chosen = [_record(index, p, s, rank_of[p]) for p, s in nearest[: settings.k]]
            elif strategy == "diverse_nearest":
                top = nearest[: settings.top]
                size = min(settings.k, len(top))
                picks = sorted(rng.choice(len(top), size=size, replace=False).tolist())
                chosen = [_record(index, top[i][0], top[i][1], i + 1) for i in picks]
            elif strategy == "nearest_bm25_reject":
                chosen = [
                    _record(index, p, s, rank_of[p], bm25=float(bm25_row[p]))
                    for p, s in nearest[: settings.k]
                    if bm25_row[p] >= threshold
                ]
            else:  # bm25_rerank
                top = nearest[: settings.top]
                top_bm25 = np.array([bm25_row[p] for p, _ in top], dtype=np.float32)
                order = np.argsort(-top_bm25, kind="stable")[: settings.k]
                chosen = [
                    _record(index, top[i][0], top[i][1], int(i) + 1, bm25=float(top_bm25[i]))
                    for i in order
                ]
            out[strategy][query_id] = chosen
    if settings.bm25_quantile is not None:
        logger.info(
            "BM25 rejection threshold calibrated at quantile %.2f: %.3f",
            settings.bm25_quantile,
            threshold,
        )
    if report is not None:
        report["bm25_threshold"] = threshold
    return out


def _random_positions(rng: np.random.Generator, size: int, k: int, banned: set[int]) -> list[int]:
    # the first k allowed items of a uniform random sample without replacement are a uniform
    # sample of the allowed items
    draw = rng.choice(size, size=min(size, k + len(banned)), replace=False)
    return [int(p) for p in draw if int(p) not in banned][:k]


def _record(
    index: VectorIndex, position: int, dense: float, rank: int | None, bm25: float | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": index.ids[position],
        "dense": round(dense, 6),
        "dense_rank": rank,
    }
    if bm25 is not None:
        record["bm25"] = round(float(bm25), 6)
    return record


def summarise_neighbours(
    neighbours: dict[str, dict[str, list[dict[str, Any]]]], k: int
) -> dict[str, dict[str, Any]]:
    """Per strategy: samples, samples with no example (on-demand RAG), with fewer than ``k``, and
    the mean number of examples."""
    summary = {}
    for strategy, by_query in neighbours.items():
        counts = [len(v) for v in by_query.values()]
        summary[strategy] = {
            "samples": len(counts),
            "without_examples": sum(c == 0 for c in counts),
            "fewer_than_k": sum(c < k for c in counts),
            "mean_examples": round(float(np.mean(counts)), 4) if counts else 0.0,
        }
    return summary
