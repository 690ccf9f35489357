"""Sentence-level relation classification over marked entity pairs (``../shared/METHODS.md`` D).

* :mod:`~bioie_kedro.relation_extraction.specs`: which relations an ordered entity-type pair
  allows (``relation_specs.json``: ``"TypeA|TypeB"`` → relation names).
* :mod:`~bioie_kedro.relation_extraction.candidates`: sentences with the entities that lie fully
  inside them, ordered candidate pairs, and ``[E1] [/E1] [E2] [/E2]`` markers inserted by
  character offsets.
* :mod:`~bioie_kedro.relation_extraction.examples`: labelled examples (a relation or ``none``),
  the ``min_sample_count`` filter, the split by document, the Hugging Face ``DatasetDict``.
* :mod:`~bioie_kedro.relation_extraction.classifier`: the encoder sequence classifier (the
  "student"), trained with class-weighted cross-entropy and selected by macro-F1 over the positive
  labels; predictions become schema relations.

Importing this package is cheap: torch, transformers and datasets are imported by the functions
that need them.
"""

from bioie_kedro.relation_extraction.candidates import (
    MARKERS,
    CandidatePair,
    OverlappingEntitiesError,
    SentenceEntity,
    SentenceUnit,
    candidate_pairs,
    insert_markers,
    sentence_units,
)
from bioie_kedro.relation_extraction.specs import RelationSpec, RelationSpecError

__all__ = [
    "MARKERS",
    "CandidatePair",
    "OverlappingEntitiesError",
    "RelationSpec",
    "RelationSpecError",
    "SentenceEntity",
    "SentenceUnit",
    "candidate_pairs",
    "insert_markers",
    "sentence_units",
]
