"""Helpers for the metrics tests: small documents, and nervaluate input built independently."""

from __future__ import annotations

from collections.abc import Sequence

from bioie_kedro.schema import (
    Document,
    Entity,
    Normalization,
    Relation,
    Span,
    validate_document,
)

#: Where an entity is: a substring that occurs exactly once in the text, or explicit spans.
Where = str | Sequence[Span]


def find(text: str, substring: str) -> Span:
    """The span of ``substring``, which must occur exactly once in ``text``."""
    assert text.count(substring) == 1, f"{substring!r} must occur exactly once in {text!r}"
    start = text.index(substring)
    return (start, start + len(substring))


def make_entity(
    text: str, entity_id: str, entity_type: str, where: Where, normalized: Sequence[str] = ()
) -> Entity:
    offsets = [find(text, where)] if isinstance(where, str) else [tuple(span) for span in where]
    return Entity(
        id=entity_id,
        type=entity_type,
        text=" ".join(text[start:end] for start, end in offsets),
        offsets=offsets,
        normalized=[Normalization(*curie.split(":", 1)) for curie in normalized],
    )


def make_doc(
    text: str,
    *entities: tuple[str, Where],
    doc_id: str = "d1",
    id_prefix: str = "T",
) -> Document:
    """A validated document whose entities are ``(type, where)`` pairs, ids ``T0``, ``T1`` …."""
    return validate_document(
        Document(
            id=doc_id,
            source="test",
            split="test",
            text=text,
            entities=[
                make_entity(text, f"{id_prefix}{index}", entity_type, where)
                for index, (entity_type, where) in enumerate(entities)
            ],
        )
    )


def relation(
    relation_id: str, relation_type: str, arg1: str, arg2: str, level: str = "mention"
) -> Relation:
    return Relation(relation_id, relation_type, arg1, arg2, level)  # type: ignore[arg-type]


def nervaluate_input(
    gold: Sequence[Document], predicted: Sequence[Document]
) -> tuple[list[list[dict]], list[list[dict]]]:
    """nervaluate's dict input for whole corpora, built independently of the scorer.

    Covering extents with inclusive ends; gold sorted by (start, end, label); predictions ordered
    as the scorer documents it: exact (boundaries and label) matches first, then boundary-only
    matches, then the rest, each by (start, end, label). ``predicted`` is aligned with ``gold``.
    """

    def dicts(doc: Document) -> list[dict]:
        return [
            {"label": e.type, "start": e.offsets[0][0], "end": e.offsets[-1][1] - 1}
            for e in doc.entities
        ]

    gold_out, predicted_out = [], []
    for gold_doc, predicted_doc in zip(gold, predicted, strict=True):
        reference = sorted(dicts(gold_doc), key=lambda d: (d["start"], d["end"], d["label"]))
        triples = {(d["start"], d["end"], d["label"]) for d in reference}
        boundaries = {(d["start"], d["end"]) for d in reference}
        ordered = sorted(
            dicts(predicted_doc),
            key=lambda d: (
                (d["start"], d["end"], d["label"]) not in triples,
                (d["start"], d["end"]) not in boundaries,
                d["start"],
                d["end"],
                d["label"],
            ),
        )
        gold_out.append(reference)
        predicted_out.append(ordered)
    return gold_out, predicted_out
