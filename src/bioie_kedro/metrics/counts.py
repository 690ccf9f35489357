"""Shared arithmetic of every score: precision, recall and F1 from counts, and bootstrap intervals.

Conventions, the same for NER, RE and string scoring:

* precision = credit / predicted, recall = credit / gold, F1 = 2PR / (P + R), where *credit* is
  the number of true positives (plus half the partial matches for the SemEval ``partial`` scheme);
* a ratio whose denominator is 0 is 0.0, and so is F1 when P + R = 0. That includes the case of
  no gold and no prediction at all, which scores P = R = F1 = 0.0 rather than 1.0; the ``support``
  (gold count) and ``predicted`` fields tell that case apart from a real zero;
* confidence intervals are percentile bootstraps over *documents* (or records): documents are
  resampled with replacement, their count vectors summed and the micro F1 recomputed. The counts of
  a document stay together, so the interval reflects the variation between documents, which is
  what a new test set would change. Each call with the same ``seed`` and number of documents draws
  the same resamples, so the intervals of several schemes or types are computed on the same
  resampled corpora.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Column order of the count vectors :func:`f1_from_counts` reads.
PRF_COUNT_FIELDS = ("true_positives", "predicted", "gold")

# Bootstrap resamples are drawn in blocks so that memory stays bounded for large corpora.
_BOOTSTRAP_BLOCK = 250


def prf_arrays(
    credit: np.ndarray | float, predicted: np.ndarray | float, gold: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Element-wise precision, recall and F1 from credit, predicted and gold counts.

    Zero denominators give 0.0 (see the module docstring). Works on scalars and arrays alike, so
    the point estimate and the bootstrap use one formula.
    """
    credit = np.asarray(credit, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    gold = np.asarray(gold, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, credit / np.where(predicted > 0, predicted, 1), 0.0)
        recall = np.where(gold > 0, credit / np.where(gold > 0, gold, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return precision, recall, f1


def f1_from_counts(summed: np.ndarray) -> np.ndarray:
    """Micro F1 from count vectors ``(true positives, predicted, gold)`` in the last axis."""
    summed = np.asarray(summed, dtype=float)
    return prf_arrays(summed[..., 0], summed[..., 1], summed[..., 2])[2]


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 with the counts they come from.

    ``support`` is the number of gold items, ``predicted`` the number of predicted ones and
    ``true_positives`` the credit both ratios share. All three scores are 0.0 when their
    denominator is 0, also when there is neither gold nor prediction (``support == predicted ==
    0``); check ``support`` before reading a 0.0 as a failure.
    """

    precision: float
    recall: float
    f1: float
    true_positives: float
    predicted: int
    support: int
    f1_ci: tuple[float, float] | None = None

    @classmethod
    def from_counts(
        cls,
        true_positives: float,
        predicted: int,
        support: int,
        *,
        f1_ci: tuple[float, float] | None = None,
    ) -> PRF:
        """Scores from counts; ``f1_ci`` is an interval computed elsewhere (or None)."""
        precision, recall, f1 = prf_arrays(true_positives, predicted, support)
        return cls(
            precision=float(precision),
            recall=float(recall),
            f1=float(f1),
            true_positives=true_positives,
            predicted=int(predicted),
            support=int(support),
            f1_ci=f1_ci,
        )

    @property
    def false_positives(self) -> float:
        return self.predicted - self.true_positives

    @property
    def false_negatives(self) -> float:
        return self.support - self.true_positives

    def as_dict(self) -> dict:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "predicted": self.predicted,
            "support": self.support,
            "f1_ci": list(self.f1_ci) if self.f1_ci is not None else None,
        }


def bootstrap_sums(
    per_document: Sequence[Sequence[float]] | np.ndarray, *, resamples: int = 1000, seed: int = 0
) -> np.ndarray:
    """Summed counts of ``resamples`` bootstrap corpora drawn from the documents.

    Args:
        per_document: counts of each document, shape ``(documents, ...)``; any trailing shape,
            so many groups (schemes, types) can share one set of resamples.
        resamples: number of bootstrap corpora.
        seed: seed of the generator. The resampled corpora depend only on ``seed``, ``resamples``
            and the number of documents, not on the counts.

    Returns:
        Shape ``(resamples, ...)``: for each bootstrap corpus (documents drawn with replacement,
        as many as there are), the sum of its documents' counts.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    counts = np.asarray(per_document, dtype=float)
    if counts.ndim < 2 or counts.shape[0] == 0:
        raise ValueError(f"per_document must have shape (documents >= 1, ...), got {counts.shape}")
    documents = counts.shape[0]
    flat = counts.reshape(documents, -1)
    rng = np.random.default_rng(seed)
    uniform = np.full(documents, 1.0 / documents)
    blocks = []
    for first in range(0, resamples, _BOOTSTRAP_BLOCK):
        block = min(_BOOTSTRAP_BLOCK, resamples - first)
        # How often each document is drawn in each resample: sampling with replacement.
        multiplicity = rng.multinomial(documents, uniform, size=block)
        blocks.append(multiplicity @ flat)
    return np.concatenate(blocks).reshape((resamples, *counts.shape[1:]))


def percentile_interval(scores: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """The percentile interval of bootstrap ``scores`` along the first axis: ``[low, high]``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    alpha = 1.0 - confidence
    return np.quantile(np.asarray(scores, dtype=float), [alpha / 2, 1 - alpha / 2], axis=0)


def bootstrap_f1_ci(
    per_document: Sequence[Sequence[float]] | np.ndarray,
    *,
    f1: Callable[[np.ndarray], np.ndarray] = f1_from_counts,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a micro F1 over documents.

    Args:
        per_document: one count vector per document, shape ``(documents, k)``.
        f1: maps summed count vectors, shape ``(resamples, k)``, to F1 values, shape
            ``(resamples,)``. The default reads ``(true positives, predicted, gold)``
            (:data:`PRF_COUNT_FIELDS`); the NER scorer passes the SemEval formula, so the partial
            scheme's half credit is recomputed on every resample from the summed counts.
        resamples: number of bootstrap corpora.
        confidence: coverage of the interval, e.g. 0.95 for the 2.5th and 97.5th percentiles.
        seed: seed of the generator; the same inputs and seed give the same interval.

    Returns:
        ``(low, high)``; ``(0.0, 0.0)`` when there is no document.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    counts = np.asarray(per_document, dtype=float)
    if counts.size == 0:
        return (0.0, 0.0)
    if counts.ndim != 2:
        raise ValueError(f"per_document must be 2-dimensional (documents, k), got {counts.shape}")
    scores = f1(bootstrap_sums(counts, resamples=resamples, seed=seed))
    low, high = percentile_interval(scores, confidence)
    return (float(low), float(high))
