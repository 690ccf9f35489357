"""Relation extraction scores: micro and per-type P/R/F1 at the mention or the concept level.

:func:`score_relations` turns the relations of each document into a *set* of comparable keys and
counts the keys gold and prediction share:

* ``mode="mention"``: a relation is (head spans, tail spans, type), where the spans are the
  character offsets of the argument entities. Predicted entity ids differ from gold ids, so
  arguments are compared by where they are, not by id. Concept-level relations (``level=
  "concept"``) have no spans and raise a ``ValueError``: score them with ``mode="concept"``.
* ``mode="concept"``: a relation is (head concept, tail concept, type), as BC5CDR's CID relations
  are scored. Concept-level relations carry the CURIEs already; a mention-level relation is mapped
  to every combination of its arguments' normalizations, and an argument without normalization
  falls back to its entity's lower-cased text (so systems without a normalizer can still be scored
  at this level, with text identity standing in for concept identity).
* ``directed=False`` ignores the order of head and tail.
* Relations whose type is in ``negative_types`` (the candidate pairs a corpus marks as having no
  relation, ``"none"`` by default) are dropped on both sides before scoring.
* Keys are a set per document: duplicates collapse, so a relation stated by several mention pairs
  counts once in concept mode.

Documents are paired as for NER (:func:`~bioie_kedro.metrics.pairing.pair_documents`). Per-type
scores count keys of that type only. Intervals are bootstraps over documents
(:func:`~bioie_kedro.metrics.counts.bootstrap_f1_ci`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np

from bioie_kedro.metrics.counts import (
    PRF,
    bootstrap_sums,
    f1_from_counts,
    percentile_interval,
)
from bioie_kedro.metrics.pairing import pair_documents
from bioie_kedro.schema import Document, Entity, Relation

RelationMode = Literal["mention", "concept"]

# A relation key: (type, head, tail); head and tail are span tuples or concept strings.
_Key = tuple[str, object, object]


@dataclass(frozen=True)
class ReScores:
    """Micro and per-relation-type scores of a relation extraction system."""

    micro: PRF
    per_type: dict[str, PRF]
    mode: RelationMode
    directed: bool
    documents: int
    documents_without_prediction: int

    def as_dict(self) -> dict:
        return {
            "micro": self.micro.as_dict(),
            "per_type": {name: scores.as_dict() for name, scores in self.per_type.items()},
            "mode": self.mode,
            "directed": self.directed,
            "documents": self.documents,
            "documents_without_prediction": self.documents_without_prediction,
        }


def _argument_entity(
    doc: Document, entities: dict[str, Entity], relation: Relation, arg: str
) -> Entity:
    entity = entities.get(arg)
    if entity is None:
        raise ValueError(
            f"document {doc.id!r}, relation {relation.id!r}: argument {arg!r} is not an entity "
            "of the document"
        )
    return entity


def _concepts(entity: Entity) -> list[str]:
    """The CURIEs of an entity, or its lower-cased text when it has none."""
    return sorted({norm.curie for norm in entity.normalized}) or [entity.text.lower()]


def relation_keys(
    doc: Document | None,
    *,
    mode: RelationMode = "mention",
    negative_types: Collection[str] = ("none",),
    directed: bool = True,
) -> set[_Key]:
    """The comparable keys ``(type, head, tail)`` of the relations of ``doc`` (see the module doc).

    Raises:
        ValueError: an argument id that is not an entity of the document, or a concept-level
            relation in mention mode.
    """
    if doc is None:
        return set()
    entities = doc.entity_by_id()
    keys: set[_Key] = set()
    for relation in doc.relations:
        if relation.type in negative_types:
            continue
        pairs: list[tuple[object, object]]
        if mode == "mention":
            if relation.level != "mention":
                raise ValueError(
                    f"document {doc.id!r}, relation {relation.id!r}: a concept-level relation "
                    "has no argument spans; score it with mode='concept'"
                )
            head = _argument_entity(doc, entities, relation, relation.arg1_id)
            tail = _argument_entity(doc, entities, relation, relation.arg2_id)
            pairs = [(tuple(map(tuple, head.offsets)), tuple(map(tuple, tail.offsets)))]
        elif mode == "concept":
            if relation.level == "concept":
                pairs = [(relation.arg1_id, relation.arg2_id)]
            else:
                head = _argument_entity(doc, entities, relation, relation.arg1_id)
                tail = _argument_entity(doc, entities, relation, relation.arg2_id)
                pairs = list(product(_concepts(head), _concepts(tail)))
        else:
            raise ValueError(f"mode must be 'mention' or 'concept', got {mode!r}")
        for pair in pairs:
            # Undirected: order the pair canonically (both are span tuples or both strings).
            head_key, tail_key = pair if directed else sorted(pair)  # type: ignore[type-var]
            keys.add((relation.type, head_key, tail_key))
    return keys


def score_relations(
    gold: Sequence[Document],
    predicted: Sequence[Document],
    *,
    mode: RelationMode = "mention",
    negative_types: Collection[str] = ("none",),
    directed: bool = True,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ReScores:
    """Micro and per-type P/R/F1 of predicted relations against gold.

    Args:
        gold: the gold documents; every one is scored.
        predicted: predictions, paired with gold by ``id`` (missing ones predict nothing).
        mode: compare argument spans (``"mention"``) or concepts (``"concept"``).
        negative_types: relation types that mean "no relation"; dropped on both sides.
        directed: whether head and tail order matters.
        bootstrap: resamples over documents for ``f1_ci``; 0 skips it (``f1_ci`` is None).
        seed: seed of the bootstrap.
        confidence: coverage of the bootstrap interval.

    Raises:
        DocumentMismatchError: documents that do not pair up (see
            :func:`~bioie_kedro.metrics.pairing.pair_documents`).
        ValueError: a relation argument that is not an entity, or concept-level relations in
            mention mode.
    """
    pairs = pair_documents(gold, predicted)
    options = {"mode": mode, "negative_types": set(negative_types), "directed": directed}
    per_doc_keys = [
        (relation_keys(pair.gold, **options), relation_keys(pair.predicted, **options))
        for pair in pairs
    ]
    type_names = sorted({key[0] for keys in per_doc_keys for side in keys for key in side})
    groups: list[str | None] = [None, *type_names]  # None = all types

    # (documents, groups, 3): true positives, predicted, gold.
    counts = np.zeros((len(pairs), len(groups), 3), dtype=np.int64)
    for index, (gold_keys, predicted_keys) in enumerate(per_doc_keys):
        for group, name in enumerate(groups):
            if name is None:
                g, p = gold_keys, predicted_keys
            else:
                g = {key for key in gold_keys if key[0] == name}
                p = {key for key in predicted_keys if key[0] == name}
            counts[index, group] = (len(g & p), len(p), len(g))

    summed = counts.sum(axis=0)
    intervals = None
    if bootstrap > 0 and len(pairs) > 0:
        resampled = bootstrap_sums(counts, resamples=bootstrap, seed=seed)
        intervals = percentile_interval(f1_from_counts(resampled), confidence)  # (2, groups)
    scores = []
    for group in range(len(groups)):
        ci = None
        if intervals is not None:
            ci = (float(intervals[0, group]), float(intervals[1, group]))
        elif bootstrap > 0:
            ci = (0.0, 0.0)
        true_positives, n_predicted, n_gold = (int(c) for c in summed[group])
        scores.append(PRF.from_counts(true_positives, n_predicted, n_gold, f1_ci=ci))
    return ReScores(
        micro=scores[0],
        per_type=dict(zip(type_names, scores[1:])),
        mode=mode,
        directed=directed,
        documents=len(pairs),
        documents_without_prediction=sum(pair.predicted is None for pair in pairs),
    )
