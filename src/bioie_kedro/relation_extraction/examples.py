"""Labelled relation examples: candidate pairs with a relation or ``none``, filtered and split.

The steps of seed 003's ``prepare_dataset.py``, with its defects fixed:

1. :func:`relation_examples`: one example per candidate pair of every labelled sentence (see
   :mod:`~bioie_kedro.relation_extraction.candidates`); its label is the relation of the pair or
   :data:`~bioie_kedro.schema.NEGATIVE_RELATION`; its text the sentence with markers placed by
   offsets.
2. :func:`filter_rare_labels`: examples of a relation with fewer than ``min_sample_count`` examples
   are dropped (they are not relabelled ``none``, which would teach a wrong negative); ``none`` is
   never dropped.
3. :func:`split_by_document`: 60/20/20 by document, seeded, so no document gives examples to two
   splits.
4. :func:`to_dataset_dict`: a Hugging Face ``DatasetDict`` whose ``label`` column is a
   ``ClassLabel`` (``none`` first, then the relations sorted), so the label map travels with the
   data.

:func:`gold_pair_labels` gives the labels of step 1 from a corpus's own mention-level relations
(DDI, ChemProt), for training the same student on gold labels.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from bioie_kedro.relation_extraction.candidates import (
    EntityText,
    PairOrder,
    SentenceUnit,
    candidate_pairs,
    mark_pair_counted,
    spans_overlap,
)
from bioie_kedro.relation_extraction.specs import RelationSpec
from bioie_kedro.schema import NEGATIVE_RELATION, Document

if TYPE_CHECKING:
    from datasets import DatasetDict

#: ``"keep"`` every candidate pair, or ``"skip"`` pairs of two mentions with the same text.
SameTextPairs = Literal["keep", "skip"]

#: ``{(head entity id, tail entity id): relation}`` for one sentence.
PairLabels = Mapping[tuple[str, str], str]

SPLITS = ("train", "validation", "test")

#: Columns of an example row (and of every split of the ``DatasetDict``).
COLUMNS = (
    "id",
    "document_key",
    "sentence_key",
    "head_id",
    "tail_id",
    "head_type",
    "tail_type",
    "text",
    "label",
)


def relation_examples(
    units: Iterable[SentenceUnit],
    labels: Mapping[str, PairLabels],
    spec: RelationSpec,
    *,
    pair_order: PairOrder = "all",
    entity_text: EntityText = "keep",
    same_text_pairs: SameTextPairs = "keep",
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """One example row per candidate pair of every unit.

    Args:
        units: the labelled sentences (only sentences whose labels are known: an unlabelled pair
            becomes ``none``).
        labels: per sentence key, the relation of each labelled ordered pair.
        spec: decides the candidate pairs (type pairs) and checks every label against the types.
        pair_order: see :func:`~bioie_kedro.relation_extraction.candidates.candidate_pairs`.
        entity_text: ``"keep"`` the mentions' text, ``"type"``: blind the pair, or
            ``"all_types"``: blind the pair and the sentence's other mentions (see
            :func:`~bioie_kedro.relation_extraction.candidates.mark_pair`).
        same_text_pairs: ``"skip"`` leaves out pairs whose two mentions have the same text
            (case-insensitive): two mentions of one drug do not interact (DDI's guidelines: 0 of
            the 382 such DDI test pairs and 6 of the 1,990 training pairs carry a relation), and a
            blinded text cannot show the model that the names are equal. Skipped pairs are
            ``none`` by rule: counted as ``same_text_pairs_skipped``, and a label on one as
            ``labels_not_on_a_candidate``.

    Returns:
        The rows (:data:`COLUMNS`) and counts: ``sentences``, ``sentences_without_candidates``,
        ``candidate_pairs``, ``overlapping_pairs_skipped`` (partially overlapping entities),
        ``labels_not_on_a_candidate`` (a labelled pair that is not a candidate: other types,
        partial overlap, an entity outside the sentence, a skipped same-text pair) and
        ``labels_not_allowed_for_types``; with ``entity_text="type"`` or ``"all_types"`` also
        ``pairs_blinded`` and ``nested_pairs_not_blinded``; with ``"all_types"`` also
        ``other_mentions_blinded`` and ``other_mentions_not_blinded`` (summed over examples:
        discontinuous, overlapping the pair, or crossing another blinded mention); with ``same_text_pairs="skip"``
        ``same_text_pairs_skipped``.
    """
    if same_text_pairs not in ("keep", "skip"):
        raise ValueError(f"same_text_pairs must be 'keep' or 'skip', got {same_text_pairs!r}")
    rows: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for unit in units:
        counts["sentences"] += 1
        pairs, crossing = candidate_pairs(unit, spec, pair_order=pair_order)
        counts["overlapping_pairs_skipped"] += crossing
        if not pairs:
            counts["sentences_without_candidates"] += 1
        sentence_labels = dict(labels.get(unit.key, {}))
        for pair in pairs:
            if same_text_pairs == "skip" and same_text(pair.head.text, pair.tail.text):
                counts["same_text_pairs_skipped"] += 1
                continue
            label = sentence_labels.pop(pair.ids, NEGATIVE_RELATION)
            if label != NEGATIVE_RELATION and not spec.allows(
                pair.head.type, pair.tail.type, label
            ):
                counts["labels_not_allowed_for_types"] += 1
                label = NEGATIVE_RELATION
            counts["candidate_pairs"] += 1
            if entity_text in ("type", "all_types"):
                nested = spans_overlap(pair.head.extent, pair.tail.extent)
                counts["nested_pairs_not_blinded" if nested else "pairs_blinded"] += 1
            text, blinded, not_blinded = mark_pair_counted(unit, pair, entity_text=entity_text)
            if entity_text == "all_types":
                counts["other_mentions_blinded"] += blinded
                counts["other_mentions_not_blinded"] += not_blinded
            rows.append(
                {
                    "id": f"{unit.key}/{pair.head.id}>{pair.tail.id}",
                    "document_key": unit.document_key,
                    "sentence_key": unit.key,
                    "head_id": pair.head.id,
                    "tail_id": pair.tail.id,
                    "head_type": pair.head.type,
                    "tail_type": pair.tail.type,
                    "text": text,
                    "label": label,
                }
            )
        counts["labels_not_on_a_candidate"] += sum(
            1 for label in sentence_labels.values() if label != NEGATIVE_RELATION
        )
    return rows, counts


def same_text(a: str, b: str) -> bool:
    """Whether two mentions name the same thing by their text: equal after case folding and
    whitespace normalisation."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def filter_rare_labels(
    rows: Sequence[dict[str, Any]], min_sample_count: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Drop the examples of relations with fewer than ``min_sample_count`` examples.

    Returns:
        The kept rows (order preserved) and ``{dropped relation: examples}``.
    """
    counts = Counter(row["label"] for row in rows)
    rare = {
        label: n
        for label, n in counts.items()
        if label != NEGATIVE_RELATION and n < min_sample_count
    }
    kept = [row for row in rows if row["label"] not in rare]
    return kept, dict(sorted(rare.items()))


def split_by_document(
    document_keys: Iterable[str],
    *,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 42,
) -> dict[str, str]:
    """Assign every document to ``train``, ``validation`` or ``test``.

    The sorted unique keys are shuffled with ``random.Random(seed)`` and cut by ``fractions``
    (rounded; with three or more documents every split with a non-zero fraction gets at least one).
    The same keys and seed always give the same assignment.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1: {fractions}")
    keys = sorted(set(document_keys))
    random.Random(seed).shuffle(keys)
    n = len(keys)
    sizes = [round(n * fraction) for fraction in fractions[1:]]
    if n >= 3:
        sizes = [
            max(1, size) if fraction > 0 else 0 for size, fraction in zip(sizes, fractions[1:])
        ]
    n_validation, n_test = sizes
    n_train = max(0, n - n_validation - n_test)
    assignment = {}
    for index, key in enumerate(keys):
        if index < n_train:
            assignment[key] = "train"
        elif index < n_train + n_validation:
            assignment[key] = "validation"
        else:
            assignment[key] = "test"
    return assignment


def label_names(rows: Iterable[dict[str, Any]]) -> list[str]:
    """``["none", *relations sorted]``: the label ids of the classifier."""
    return [NEGATIVE_RELATION, *sorted({row["label"] for row in rows} - {NEGATIVE_RELATION})]


def to_dataset_dict(
    rows_by_split: Mapping[str, Sequence[dict[str, Any]]], labels: Sequence[str]
) -> DatasetDict:
    """A ``DatasetDict`` with the :data:`COLUMNS`; ``label`` is a ``ClassLabel`` over ``labels``."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features(
        {
            **{column: Value("string") for column in COLUMNS if column != "label"},
            "label": ClassLabel(names=list(labels)),
        }
    )
    splits = {}
    for split, rows in rows_by_split.items():
        columns = {column: [row[column] for row in rows] for column in COLUMNS}
        splits[split] = Dataset.from_dict(columns, features=features)
    return DatasetDict(splits)


def gold_pair_labels(
    doc: Document, units: Sequence[SentenceUnit]
) -> tuple[dict[str, dict[tuple[str, str], str]], Counter[str]]:
    """Per sentence key, the labels of a document's mention-level relations (``none`` ignored).

    Counts: ``gold_relations``, ``gold_relations_across_sentences`` (arguments in different
    sentences, or cut by a boundary: no sentence-level example can carry them),
    ``gold_relations_conflicting`` (a second relation on the same ordered pair; the first is kept),
    ``gold_relations_concept_level`` (not between mentions; ignored).
    """
    sentence_of = {entity.id: unit for unit in units for entity in unit.entities}
    labels: dict[str, dict[tuple[str, str], str]] = {}
    counts: Counter[str] = Counter()
    for relation in doc.relations:
        if relation.type == NEGATIVE_RELATION:
            continue
        if relation.level != "mention":
            counts["gold_relations_concept_level"] += 1
            continue
        counts["gold_relations"] += 1
        head_unit = sentence_of.get(relation.arg1_id)
        tail_unit = sentence_of.get(relation.arg2_id)
        if head_unit is None or head_unit is not tail_unit:
            counts["gold_relations_across_sentences"] += 1
            continue
        pairs = labels.setdefault(head_unit.key, {})
        pair = (relation.arg1_id, relation.arg2_id)
        if pair in pairs:
            counts["gold_relations_conflicting"] += 1
            continue
        pairs[pair] = relation.type
    return labels, counts
