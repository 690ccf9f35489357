"""RAG-ICL example selection: for each query, the best training examples with every stage's score.

``../shared/METHODS.md`` A. The stages, in order:

1. **First stage** over the dense index (``search_type``):

   * ``"similarity"`` — the ``k`` most similar training units;
   * ``"mmr"`` — maximal marginal relevance: ``mmr_fetch_k`` (default ``4 * k``) most similar are
     fetched, then ``k`` are picked one at a time maximising
     ``mmr_lambda * sim(query, c) - (1 - mmr_lambda) * max(sim(c, already picked))``;
   * ``"threshold"`` — ``"similarity"`` with a required ``score_threshold``.

   ``score_threshold``, when set (in every mode), drops candidates whose dense similarity is below
   it — before MMR picks and before reranking. The original code parsed 0.79 and never applied it.
2. **Reranking** (optional): a cross-encoder (:class:`CrossEncoderReranker`: any Hugging Face
   sequence-classification model, sigmoid of the logit of each (query, candidate) pair truncated to
   512 sub-tokens; or :class:`FlagCrossEncoderReranker` when FlagEmbedding is installed) with an
   optional ``rerank_threshold`` on that score, or :class:`Bm25Fusion` (reciprocal rank fusion of
   the dense rank and the BM25 rank among the candidates).
3. **Top n** kept. Fewer candidates than ``n`` (small pool, threshold) give a shorter list, never an
   error; a query may end with no examples (on-demand RAG: prompt without examples).

Every kept example carries the score of every stage it went through (``dense``, ``mmr``,
``bm25``, ``rrf``, ``rerank``) and its first-stage rank.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.embedders import default_device, flag_embedding_available
from bioie_kedro.retrieval.index import VectorIndex
from bioie_kedro.token_classification import resolve_model_name

SearchType = Literal["similarity", "mmr", "threshold"]


@dataclass(frozen=True, slots=True)
class SelectionSettings:
    """First stage, thresholds and the number of examples kept (see the module docstring)."""

    k: int = 30
    n: int = 10
    search_type: SearchType = "similarity"
    score_threshold: float | None = None
    mmr_lambda: float = 0.5
    mmr_fetch_k: int | None = None
    rerank_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.k < 1 or self.n < 1:
            raise ValueError(f"k and n must be at least 1, got k={self.k}, n={self.n}")
        if self.search_type not in ("similarity", "mmr", "threshold"):
            raise ValueError(f"unknown search_type {self.search_type!r}")
        if self.search_type == "threshold" and self.score_threshold is None:
            raise ValueError("search_type 'threshold' needs a score_threshold")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must lie in [0, 1], got {self.mmr_lambda}")

    @property
    def fetch_k(self) -> int:
        """Candidates the first stage takes from the index."""
        if self.search_type == "mmr":
            return max(self.k, self.mmr_fetch_k or 4 * self.k)
        return self.k


@dataclass(slots=True)
class Example:
    """One selected training unit: its id, first-stage rank (1-based) and score per stage."""

    id: str
    first_stage_rank: int
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Selection:
    """The examples of one query, best first. ``retrieved``: candidates the first stage took from
    the index (``k``, or ``mmr_fetch_k`` for MMR; fewer in a small pool); ``above_threshold``: those
    left after ``score_threshold``."""

    query_id: str
    examples: list[Example]
    retrieved: int
    above_threshold: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "retrieved": self.retrieved,
            "above_threshold": self.above_threshold,
            "examples": [
                {
                    "id": e.id,
                    "rank": rank,
                    "first_stage_rank": e.first_stage_rank,
                    "scores": {k: round(float(v), 6) for k, v in e.scores.items()},
                }
                for rank, e in enumerate(self.examples, start=1)
            ],
        }


# --------------------------------------------------------------------------------------------
# Rerankers
# --------------------------------------------------------------------------------------------


class Reranker(ABC):
    """Scores the first-stage candidates of a query; they are re-ordered by ``scores[stage]``."""

    stage: ClassVar[str]

    @abstractmethod
    def rerank(
        self, query: str, candidates: Sequence[int], pool_texts: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Per stage name, one score per candidate (``candidates`` are pool positions in
        first-stage order); must contain :attr:`stage`."""


class CrossEncoderReranker(Reranker):
    """Any Hugging Face sequence-classification model as a cross-encoder (bge-reranker-v2-m3 and
    the like): the sigmoid of the logit of each (query, candidate) pair, pairs truncated to
    ``max_length`` sub-tokens (longest side first). A two-label model scores the softmax
    probability of its last label."""

    stage = "rerank"

    def __init__(
        self,
        model_name_or_path: str,
        *,
        max_length: int = 512,
        batch_size: int = 16,
        device: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.trust_remote_code = trust_remote_code
        self._loaded: tuple[Any, Any, str] | None = None

    def _load(self) -> tuple[Any, Any, str]:
        if self._loaded is None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            path = resolve_model_name(self.model_name_or_path)
            tokenizer = AutoTokenizer.from_pretrained(
                path, trust_remote_code=self.trust_remote_code
            )
            model = AutoModelForSequenceClassification.from_pretrained(
                path, trust_remote_code=self.trust_remote_code
            )
            device = self.device or default_device()
            model.to(device).eval()
            self._loaded = (tokenizer, model, device)
        return self._loaded

    def score_pairs(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance in (0, 1) of each text to ``query``."""
        import torch

        tokenizer, model, device = self._load()
        out = np.zeros(len(texts), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = list(texts[start : start + self.batch_size])
                batch = tokenizer(
                    [query] * len(chunk),
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(device)
                logits = model(**batch).logits.float()
                if logits.shape[-1] == 1:
                    probs = torch.sigmoid(logits[:, 0])
                else:
                    probs = torch.softmax(logits, dim=-1)[:, -1]
                out[start : start + len(chunk)] = probs.cpu().numpy()
        return out

    def rerank(
        self, query: str, candidates: Sequence[int], pool_texts: Sequence[str]
    ) -> dict[str, np.ndarray]:
        return {self.stage: self.score_pairs(query, [pool_texts[p] for p in candidates])}


class FlagCrossEncoderReranker(Reranker):
    """FlagEmbedding's ``FlagReranker`` (``compute_score(..., normalize=True)``: the sigmoid of
    the logit), only when the optional FlagEmbedding package is installed."""

    stage = "rerank"

    def __init__(
        self,
        model_name_or_path: str,
        *,
        max_length: int = 512,
        batch_size: int = 16,
        use_fp16: bool = False,
    ) -> None:
        if not flag_embedding_available():
            raise ImportError(
                "reranker kind 'flag' needs `pip install FlagEmbedding`; kind 'cross_encoder' "
                "runs the same models through transformers"
            )
        from FlagEmbedding import FlagReranker

        self.max_length = max_length
        self.batch_size = batch_size
        self._model = FlagReranker(resolve_model_name(model_name_or_path), use_fp16=use_fp16)

    def rerank(
        self, query: str, candidates: Sequence[int], pool_texts: Sequence[str]
    ) -> dict[str, np.ndarray]:
        if not candidates:
            return {self.stage: np.zeros(0, dtype=np.float32)}
        scores = self._model.compute_score(
            [[query, pool_texts[p]] for p in candidates],
            normalize=True,
            max_length=self.max_length,
            batch_size=self.batch_size,
        )
        return {self.stage: np.atleast_1d(np.asarray(scores, dtype=np.float32))}


def reciprocal_rank_fusion(*rankings: np.ndarray, rrf_k: int = 60) -> np.ndarray:
    """``sum_r 1 / (rrf_k + rank_r)`` per item, ranks 1-based (Cormack et al. 2009)."""
    return np.sum([1.0 / (rrf_k + np.asarray(r, dtype=np.float64)) for r in rankings], axis=0)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score, highest first; ties keep input order."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


class Bm25Fusion(Reranker):
    """BM25 + dense fusion: reciprocal rank fusion of the first-stage (dense or MMR) order and the
    BM25 order of the same candidates."""

    stage = "rrf"

    def __init__(self, bm25: BM25Scorer, *, rrf_k: int = 60) -> None:
        self.bm25 = bm25
        self.rrf_k = rrf_k

    def rerank(
        self, query: str, candidates: Sequence[int], pool_texts: Sequence[str]
    ) -> dict[str, np.ndarray]:
        bm25 = self.bm25.scores(query)[np.asarray(candidates, dtype=np.int64)]
        dense_ranks = np.arange(1, len(candidates) + 1)
        fused = reciprocal_rank_fusion(dense_ranks, ranks_of(bm25), rrf_k=self.rrf_k)
        return {"bm25": bm25, self.stage: fused}


# --------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------


def mmr_order(
    query_scores: np.ndarray, candidate_vectors: np.ndarray, k: int, mmr_lambda: float
) -> tuple[list[int], list[float]]:
    """Maximal marginal relevance: indices into the candidates in pick order, with the MMR value
    at the moment each was picked. Ties go to the earlier (more similar) candidate."""
    count = len(query_scores)
    picked: list[int] = []
    values: list[float] = []
    redundancy = np.full(count, -np.inf, dtype=np.float64)
    available = np.ones(count, dtype=bool)
    pairwise = candidate_vectors @ candidate_vectors.T
    for _ in range(min(k, count)):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        value = mmr_lambda * query_scores - (1.0 - mmr_lambda) * penalty
        value = np.where(available, value, -np.inf)
        best = int(np.argmax(value))
        picked.append(best)
        values.append(float(value[best]))
        available[best] = False
        redundancy = np.maximum(redundancy, pairwise[best])
    return picked, values


def select_examples(
    index: VectorIndex,
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    query_texts: Sequence[str],
    pool_texts: Sequence[str],
    settings: SelectionSettings,
    *,
    reranker: Reranker | None = None,
    exclude: Sequence[Collection[int]] | None = None,
) -> list[Selection]:
    """The examples of every query (see the module docstring for the stages).

    Args:
        index: the training pool; ``pool_texts[p]`` is the text of position ``p``.
        query_vectors: one row per query, embedded like the pool.
        exclude: per query, pool positions never to return (the query itself when queries come
            from the pool, exact duplicates of its text).
    """
    if not len(query_ids) == len(query_texts) == len(query_vectors):
        raise ValueError("query_ids, query_texts and query_vectors differ in length")
    if len(pool_texts) != len(index):
        raise ValueError(f"{len(pool_texts)} pool texts for an index of {len(index)} vectors")
    exclude = exclude or [()] * len(query_ids)
    extra = max((len(e) for e in exclude), default=0)
    scores, positions = index.search(query_vectors, settings.fetch_k + extra)
    selections = []
    for row, query_id in enumerate(query_ids):
        banned = exclude[row]
        found = [
            (int(p), float(s))
            for s, p in zip(scores[row], positions[row], strict=True)
            if p >= 0 and int(p) not in banned
        ][: settings.fetch_k]
        retrieved = len(found)
        if settings.score_threshold is not None:
            found = [(p, s) for p, s in found if s >= settings.score_threshold]
        above = len(found)
        if settings.search_type == "mmr" and found:
            dense = np.array([s for _, s in found], dtype=np.float64)
            vectors = index.vectors([p for p, _ in found]).astype(np.float64)
            order, values = mmr_order(dense, vectors, settings.k, settings.mmr_lambda)
            candidates = [
                Example(index.ids[found[i][0]], rank, {"dense": found[i][1], "mmr": value})
                for rank, (i, value) in enumerate(zip(order, values, strict=True), start=1)
            ]
            candidate_positions = [found[i][0] for i in order]
        else:
            candidates = [
                Example(index.ids[p], rank, {"dense": s})
                for rank, (p, s) in enumerate(found, start=1)
            ]
            candidate_positions = [p for p, _ in found]
        if reranker is not None and candidates:
            stage_scores = reranker.rerank(query_texts[row], candidate_positions, pool_texts)
            for name, values in stage_scores.items():
                for example, value in zip(candidates, values, strict=True):
                    example.scores[name] = float(value)
            key = reranker.stage
            if settings.rerank_threshold is not None and key == "rerank":
                candidates = [c for c in candidates if c.scores[key] >= settings.rerank_threshold]
            candidates.sort(key=lambda c: -c.scores[key])  # stable: ties keep first-stage order
        selections.append(Selection(query_id, candidates[: settings.n], retrieved, above))
    return selections
