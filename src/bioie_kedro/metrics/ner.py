"""Span-level NER scores under the SemEval-2013 schemes (strict, exact, partial, type) via nervaluate.

:func:`score_entities` compares predicted with gold entities at the character level. The scheme
logic is nervaluate's (its ``StrictEvaluation``, ``ExactEvaluation``, ``PartialEvaluation`` and
``EntityTypeEvaluation`` strategies, run per document); this module only converts entities, keeps
the counts of every document (for the bootstrap over documents) and sums them.

Each predicted entity gets exactly one label, and each gold entity is consumed at most once:

* COR (correct), INC (incorrect), PAR (partial), SPU (spurious) for predictions, MIS (missed) for
  gold entities nothing consumed; ACT (actual) = COR + INC + PAR + SPU = predicted entities,
  POS (possible) = COR + INC + PAR + MIS = gold entities.
* ``strict``: same boundaries and type → COR; otherwise, overlapping a not yet consumed gold
  entity → INC (that gold entity is consumed, so it is *not* also missed); otherwise SPU.
  P = COR / ACT, R = COR / POS.
* ``exact``: as strict without the type.
* ``partial``: same boundaries → COR, overlap → PAR, type ignored; P = (COR + 0.5 PAR) / ACT,
  R = (COR + 0.5 PAR) / POS.
* ``type`` (nervaluate's ``ent_type``): overlap with the same type → COR (among several, the
  gold entity with the closest boundaries); overlap with another type only → INC; otherwise SPU.

Policies of this module:

* **Extents.** nervaluate knows one contiguous span per entity with an *inclusive* end; our spans
  are end-exclusive, so an entity is passed as ``(start, end - 1)``. [0, 5) and [5, 9) therefore
  do not overlap. A discontinuous entity is scored over its covering extent, from its first start
  to its last end: "breast ... cancer" in "breast and ovarian cancer" is scored as the whole
  phrase, and a prediction of the whole phrase is correct under every scheme.
* **Order.** nervaluate matches greedily in list order: each prediction in turn takes a gold
  entity with the same boundaries (and type, for strict) if one is still free, else the first free
  gold entity it overlaps. So with gold "breast cancer" and predictions "breast" then "breast
  cancer", "breast" takes the gold entity (INC) and "breast cancer" is left SPU (strict F1 0);
  in the other order the result is COR + SPU (F1 2/3). To make the score independent of how a
  system lists its entities and to credit every exact match, predictions are ordered per
  document: first those matching a gold entity exactly (boundaries and type), then those matching
  a gold entity's boundaries only, then the rest, each group by (start, end, type). Gold entities
  are ordered by (start, end, type). Per-type and per-length subsets keep this order. (One order
  serves all schemes; under ``type``, a prediction with the right boundaries but the wrong type
  still goes before an overlapping one of the right type and may take the gold entity first.)
* **Overlap.** nervaluate counts two entities as overlapping only if the overlap covers at least
  1% of the gold entity (its ``min_overlap_percentage`` cannot go below 1). On characters this
  only matters for gold entities longer than 100 characters touched by a single character.
* **Documents.** Predicted and gold documents are paired by id
  (:func:`~bioie_kedro.metrics.pairing.pair_documents`); a gold document without a prediction
  predicts nothing and is counted in ``documents_without_prediction``.
* **Types.** ``type_map`` renames types on both sides first (e.g. NCBI-disease's four types to
  "Disease"); ``types`` then keeps only entities of those types.
* **Per type**, as nervaluate does it: each type is scored on the gold and predicted entities of
  that type alone, so a type confusion is MIS in the gold type and SPU in the predicted type, and
  the per-type counts need not add up to the micro counts.
* **By length** (1, 2, 3+ tokens): an entity's length is the number of tokens overlapping its
  spans, tokens taken from the *gold* document's sentences when it has them, else from
  :func:`bioie_kedro.segmentation.tokenize` over the text (an entity touching no token counts as
  length 1). Gold entities go to the bucket of their length; a predicted entity goes to the bucket
  of the gold entity whose extent it overlaps by the most characters (ties: the first by start), or
  to the bucket of its own length when it overlaps none. Each bucket is then scored like the whole.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from nervaluate.entities import Entity as NervaluateEntity
from nervaluate.strategies import (
    EntityTypeEvaluation,
    EvaluationStrategy,
    ExactEvaluation,
    PartialEvaluation,
    StrictEvaluation,
)

from bioie_kedro.metrics.counts import bootstrap_sums, percentile_interval, prf_arrays
from bioie_kedro.metrics.pairing import pair_documents
from bioie_kedro.schema import Document, Span
from bioie_kedro.segmentation import tokenize

#: The SemEval schemes, in report order; ``type`` is nervaluate's ``ent_type``.
SCHEMES: tuple[str, ...] = ("strict", "exact", "partial", "type")

#: nervaluate's name of each scheme.
NERVALUATE_SCHEMES: dict[str, str] = {
    "strict": "strict",
    "exact": "exact",
    "partial": "partial",
    "type": "ent_type",
}

#: Entity length buckets, in tokens.
LENGTH_BUCKETS: tuple[str, ...] = ("1", "2", "3+")

#: Column order of the per-document SemEval count vectors.
SEMEVAL_COUNT_FIELDS: tuple[str, ...] = ("correct", "incorrect", "partial", "missed", "spurious")

_STRATEGIES: dict[str, EvaluationStrategy] = {
    "strict": StrictEvaluation(),
    "exact": ExactEvaluation(),
    "partial": PartialEvaluation(),
    "type": EntityTypeEvaluation(),
}

# nervaluate computes partial and ent_type with the half-credit formula (ent_type never has PAR,
# so for it the formula changes nothing).
_HALF_CREDIT: dict[str, bool] = {"strict": False, "exact": False, "partial": True, "type": True}


def semeval_prf(
    counts: np.ndarray, *, half_credit: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from SemEval count vectors (:data:`SEMEVAL_COUNT_FIELDS` last).

    ``half_credit``: PAR counts half (the ``partial`` scheme).
    """
    counts = np.asarray(counts, dtype=float)
    correct, incorrect, partial_, missed, spurious = np.moveaxis(counts, -1, 0)
    credit = correct + 0.5 * partial_ if half_credit else correct
    actual = correct + incorrect + partial_ + spurious
    possible = correct + incorrect + partial_ + missed
    return prf_arrays(credit, actual, possible)


def semeval_f1(counts: np.ndarray, *, half_credit: bool) -> np.ndarray:
    """F1 from SemEval count vectors; usable as ``f1`` of :func:`bootstrap_f1_ci`."""
    return semeval_prf(counts, half_credit=half_credit)[2]


@dataclass(frozen=True)
class SchemeScores:
    """The counts and scores of one SemEval scheme."""

    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    possible: int
    actual: int
    precision: float
    recall: float
    f1: float
    f1_ci: tuple[float, float] | None = None

    @classmethod
    def from_counts(
        cls,
        counts: Sequence[int] | np.ndarray,
        *,
        half_credit: bool,
        f1_ci: tuple[float, float] | None = None,
    ) -> SchemeScores:
        """Scores from one summed count vector in :data:`SEMEVAL_COUNT_FIELDS` order."""
        correct, incorrect, partial_, missed, spurious = (int(c) for c in counts)
        precision, recall, f1 = semeval_prf(np.asarray(counts), half_credit=half_credit)
        return cls(
            correct=correct,
            incorrect=incorrect,
            partial=partial_,
            missed=missed,
            spurious=spurious,
            possible=correct + incorrect + partial_ + missed,
            actual=correct + incorrect + partial_ + spurious,
            precision=float(precision),
            recall=float(recall),
            f1=float(f1),
            f1_ci=f1_ci,
        )

    def as_dict(self) -> dict:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "correct": self.correct,
            "incorrect": self.incorrect,
            "partial": self.partial,
            "missed": self.missed,
            "spurious": self.spurious,
            "possible": self.possible,
            "actual": self.actual,
            "f1_ci": list(self.f1_ci) if self.f1_ci is not None else None,
        }


@dataclass(frozen=True)
class NerScores:
    """Micro scores per scheme, per type and per entity length, with the document counts."""

    micro: dict[str, SchemeScores]
    per_type: dict[str, dict[str, SchemeScores]]
    by_length: dict[str, dict[str, SchemeScores]]
    documents: int
    documents_without_prediction: int

    def as_dict(self) -> dict:
        def schemes(scores: Mapping[str, SchemeScores]) -> dict:
            return {scheme: scores[scheme].as_dict() for scheme in SCHEMES}

        return {
            "micro": schemes(self.micro),
            "per_type": {name: schemes(scores) for name, scores in self.per_type.items()},
            "by_length": {name: schemes(scores) for name, scores in self.by_length.items()},
            "documents": self.documents,
            "documents_without_prediction": self.documents_without_prediction,
        }


@dataclass(frozen=True, slots=True)
class _Mention:
    """An entity as scored: its (renamed) type, covering extent (end exclusive) and spans."""

    type: str
    start: int
    end: int
    spans: tuple[Span, ...]

    def nervaluate(self) -> NervaluateEntity:
        # nervaluate's end is inclusive.
        return NervaluateEntity(label=self.type, start=self.start, end=self.end - 1)


def _mentions(
    doc: Document | None, type_map: Mapping[str, str], keep: Collection[str] | None
) -> list[_Mention]:
    """The entities of ``doc`` to score, renamed, filtered and sorted by (start, end, type)."""
    if doc is None:
        return []
    mentions = []
    for entity in doc.entities:
        name = type_map.get(entity.type, entity.type)
        if keep is not None and name not in keep:
            continue
        spans = tuple((int(start), int(end)) for start, end in entity.offsets)
        if not spans or not all(0 <= a < b <= len(doc.text) for a, b in spans):
            # An empty span would reach nervaluate as end < start and be scored silently.
            raise ValueError(
                f"document {doc.id!r}, entity {entity.id!r}: spans {list(spans)} are missing, "
                f"empty or outside the text (length {len(doc.text)})"
            )
        mentions.append(_Mention(name, spans[0][0], spans[-1][1], spans))
    mentions.sort(key=lambda m: (m.start, m.end, m.type))
    return mentions


def _token_spans(doc: Document) -> list[Span]:
    """The tokens of ``doc``: its sentences' tokens when it has sentences, else tokenized text."""
    if doc.sentences:
        return sorted(token for sentence in doc.sentences for token in sentence.tokens)
    return tokenize(doc.text)


def _bucket(spans: Sequence[Span], token_starts: Sequence[int], token_ends: Sequence[int]) -> str:
    """The length bucket of an entity: the number of distinct tokens overlapping its spans."""
    touched: set[int] = set()
    for start, end in spans:
        # Tokens are sorted and disjoint: those overlapping [start, end) have end > start and
        # start < end.
        first = bisect_right(token_ends, start)
        last = bisect_left(token_starts, end)
        touched.update(range(first, last))
    length = max(len(touched), 1)
    return LENGTH_BUCKETS[min(length, len(LENGTH_BUCKETS)) - 1]


def _predicted_buckets(
    gold: Sequence[_Mention],
    gold_buckets: Sequence[str],
    predicted: Sequence[_Mention],
    token_starts: Sequence[int],
    token_ends: Sequence[int],
) -> list[str]:
    """Bucket of each predicted entity: that of the gold entity it overlaps most, else its own."""
    buckets = []
    for mention in predicted:
        best, best_overlap = None, 0
        for index, reference in enumerate(gold):
            overlap = min(mention.end, reference.end) - max(mention.start, reference.start)
            if overlap > best_overlap:
                best, best_overlap = index, overlap
        if best is None:
            buckets.append(_bucket(mention.spans, token_starts, token_ends))
        else:
            buckets.append(gold_buckets[best])
    return buckets


def _exact_first(
    gold: Sequence[_Mention], predicted: Sequence[_Mention], buckets: Sequence[str]
) -> tuple[list[_Mention], list[str]]:
    """Predictions (with their buckets) in scoring order: exact matches first (module docstring)."""
    triples = {(m.start, m.end, m.type) for m in gold}
    boundaries = {(m.start, m.end) for m in gold}

    def key(item: tuple[_Mention, str]) -> tuple:
        m = item[0]
        rank = (
            0 if (m.start, m.end, m.type) in triples else 1 if (m.start, m.end) in boundaries else 2
        )
        return (rank, m.start, m.end, m.type)

    ordered = sorted(zip(predicted, buckets), key=key)
    return [m for m, _ in ordered], [b for _, b in ordered]


def _scheme_counts(
    gold: list[NervaluateEntity], predicted: list[NervaluateEntity], tags: list[str]
) -> np.ndarray:
    """SemEval counts of one document, shape ``(len(SCHEMES), 5)``."""
    counts = np.zeros((len(SCHEMES), len(SEMEVAL_COUNT_FIELDS)), dtype=np.int64)
    if not gold and not predicted:
        return counts
    for row, scheme in enumerate(SCHEMES):
        result, _ = _STRATEGIES[scheme].evaluate(gold, predicted, tags)
        counts[row] = (
            result.correct,
            result.incorrect,
            result.partial,
            result.missed,
            result.spurious,
        )
    return counts


def _summarise(
    per_document: np.ndarray, *, bootstrap: int, seed: int, confidence: float
) -> list[dict[str, SchemeScores]]:
    """Scores of every group from per-document counts, shape ``(documents, groups, schemes, 5)``.

    All groups share one set of bootstrap resamples (see :func:`bootstrap_sums`).
    """
    documents, groups = per_document.shape[:2]
    summed = per_document.sum(axis=0)
    intervals = None
    if bootstrap > 0 and documents > 0:
        resampled = bootstrap_sums(per_document, resamples=bootstrap, seed=seed)
        f1 = np.stack(
            [
                semeval_f1(resampled[:, :, row, :], half_credit=_HALF_CREDIT[scheme])
                for row, scheme in enumerate(SCHEMES)
            ],
            axis=-1,
        )  # (resamples, groups, schemes)
        intervals = percentile_interval(f1, confidence)  # (2, groups, schemes)
    out = []
    for group in range(groups):
        scores = {}
        for row, scheme in enumerate(SCHEMES):
            ci = None
            if intervals is not None:
                ci = (float(intervals[0, group, row]), float(intervals[1, group, row]))
            elif bootstrap > 0:
                ci = (0.0, 0.0)
            scores[scheme] = SchemeScores.from_counts(
                summed[group, row], half_credit=_HALF_CREDIT[scheme], f1_ci=ci
            )
        out.append(scores)
    return out


def score_entities(
    gold: Sequence[Document],
    predicted: Sequence[Document],
    *,
    types: Collection[str] | None = None,
    type_map: Mapping[str, str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> NerScores:
    """Score predicted entities against gold under the four SemEval schemes.

    Args:
        gold: the gold documents; every one is scored.
        predicted: predictions, paired with gold by ``id`` (missing ones predict nothing).
        types: keep only entities of these types (after ``type_map``); None keeps all.
        type_map: renames entity types on both sides before anything else.
        bootstrap: number of bootstrap resamples over documents for ``f1_ci``; 0 skips the
            bootstrap (``f1_ci`` is then None).
        seed: seed of the bootstrap.
        confidence: coverage of the bootstrap interval.

    Raises:
        DocumentMismatchError: a predicted id not in gold, a predicted text differing from the
            gold text, or a repeated id.
        ValueError: an entity without spans, or with an empty span or one outside the text.
    """
    pairs = pair_documents(gold, predicted)
    rename = dict(type_map or {})
    keep = set(types) if types is not None else None

    # Per document: {group key: (schemes, 5) counts}; group keys are ("micro", ""),
    # ("type", name) and ("length", bucket).
    documents: list[dict[tuple[str, str], np.ndarray]] = []
    seen_types: set[str] = set(keep or ())
    for pair in pairs:
        gold_mentions = _mentions(pair.gold, rename, keep)
        predicted_mentions = _mentions(pair.predicted, rename, keep)
        tokens = _token_spans(pair.gold)
        token_starts = [start for start, _ in tokens]
        token_ends = [end for _, end in tokens]
        gold_buckets = [_bucket(m.spans, token_starts, token_ends) for m in gold_mentions]
        predicted_buckets = _predicted_buckets(
            gold_mentions, gold_buckets, predicted_mentions, token_starts, token_ends
        )
        predicted_mentions, predicted_buckets = _exact_first(
            gold_mentions, predicted_mentions, predicted_buckets
        )
        gold_entities = [m.nervaluate() for m in gold_mentions]
        predicted_entities = [m.nervaluate() for m in predicted_mentions]
        doc_types = sorted({m.type for m in gold_mentions} | {m.type for m in predicted_mentions})
        seen_types.update(doc_types)

        counts = {("micro", ""): _scheme_counts(gold_entities, predicted_entities, doc_types)}
        for name in doc_types:
            counts[("type", name)] = _scheme_counts(
                [e for e in gold_entities if e.label == name],
                [e for e in predicted_entities if e.label == name],
                [name],
            )
        for bucket in LENGTH_BUCKETS:
            counts[("length", bucket)] = _scheme_counts(
                [e for e, b in zip(gold_entities, gold_buckets) if b == bucket],
                [e for e, b in zip(predicted_entities, predicted_buckets) if b == bucket],
                doc_types,
            )
        documents.append(counts)

    type_names = sorted(seen_types)
    group_keys = (
        [("micro", "")]
        + [("type", name) for name in type_names]
        + [("length", bucket) for bucket in LENGTH_BUCKETS]
    )
    zeros = np.zeros((len(SCHEMES), len(SEMEVAL_COUNT_FIELDS)), dtype=np.int64)
    per_document = np.zeros(
        (len(documents), len(group_keys), len(SCHEMES), len(SEMEVAL_COUNT_FIELDS)), dtype=np.int64
    )
    for index, counts in enumerate(documents):
        for group, key in enumerate(group_keys):
            per_document[index, group] = counts.get(key, zeros)

    summaries = dict(
        zip(
            group_keys,
            _summarise(per_document, bootstrap=bootstrap, seed=seed, confidence=confidence),
        )
    )
    return NerScores(
        micro=summaries[("micro", "")],
        per_type={name: summaries[("type", name)] for name in type_names},
        by_length={bucket: summaries[("length", bucket)] for bucket in LENGTH_BUCKETS},
        documents=len(pairs),
        documents_without_prediction=sum(pair.predicted is None for pair in pairs),
    )
