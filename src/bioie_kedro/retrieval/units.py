"""What retrieval indexes and queries: whole documents or single sentences, with their gold labels.

* ``granularity="document"``: one unit per document, its text the document text (title and
  abstract), its id the document id.
* ``granularity="sentence"``: one unit per sentence of ``Document.sentences`` (made by ingestion),
  id ``<document id>#<sentence index>`` (0-based), with the entities lying inside the sentence.

Each unit carries the gold entity types and the case-folded mention strings, which the quality
report compares between a query and the examples retrieved for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from bioie_kedro.schema import Document

Granularity = Literal["document", "sentence"]
SENTENCE_ID_SEPARATOR = "#"


@dataclass(frozen=True, slots=True)
class RetrievalUnit:
    """One retrievable text: a document or a sentence."""

    id: str
    document_id: str
    text: str
    entity_types: frozenset[str]
    mentions: frozenset[str]


def sentence_unit_id(document_id: str, sentence_index: int) -> str:
    return f"{document_id}{SENTENCE_ID_SEPARATOR}{sentence_index}"


def retrieval_units(
    docs: Iterable[Document],
    granularity: Granularity,
    *,
    type_map: Mapping[str, str] | None = None,
) -> list[RetrievalUnit]:
    """The units of ``docs`` in document (then sentence) order.

    ``type_map`` renames entity types (e.g. NCBI-disease's four types to ``Disease``).

    Raises:
        ValueError: for ``granularity="sentence"`` on a document without sentences (run the
            ingestion pipeline first), or for an unknown granularity.
    """
    type_map = type_map or {}
    units = []
    for doc in docs:
        if granularity == "document":
            units.append(_unit(doc.id, doc.id, doc.text, doc.entities, type_map))
        elif granularity == "sentence":
            if not doc.sentences and doc.text.strip():
                raise ValueError(
                    f"document {doc.id!r} of {doc.source}/{doc.split} has no sentences; "
                    "sentence granularity needs the documents made by the ingestion pipeline"
                )
            for index, sentence in enumerate(doc.sentences):
                inside = [
                    e for e in doc.entities if sentence.start <= e.start and e.end <= sentence.end
                ]
                units.append(
                    _unit(
                        sentence_unit_id(doc.id, index),
                        doc.id,
                        doc.text[sentence.start : sentence.end],
                        inside,
                        type_map,
                    )
                )
        else:
            raise ValueError(f"granularity must be 'document' or 'sentence', got {granularity!r}")
    return units


def _unit(unit_id, document_id, text, entities, type_map) -> RetrievalUnit:
    return RetrievalUnit(
        id=unit_id,
        document_id=document_id,
        text=text,
        entity_types=frozenset(type_map.get(e.type, e.type) for e in entities),
        mentions=frozenset(e.text.casefold() for e in entities),
    )
