"""Nodes of the ingestion pipeline: validate and segment documents, count everything in a report."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from bioie_kedro.corpora import ReadResult
from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.pipelines.ingestion.params import IngestionParams
from bioie_kedro.schema import NEGATIVE_RELATION, Document, validate_documents
from bioie_kedro.segmentation import segment_document, segmentation_stats
from bioie_kedro.views import to_iob2

logger = logging.getLogger(__name__)


def build_documents(
    raw_corpora: Mapping[str, Mapping[str, ReadResult]], params: dict[str, Any]
) -> dict[str, list[Document]]:
    """Validate every document and add its sentences and tokens.

    Returns:
        ``{"<corpus>/<split>": documents}``, one partition per corpus split.
    """
    settings = IngestionParams.parse(params)
    splitter = settings.sentence_splitter.build()
    partitions: dict[str, list[Document]] = {}
    for corpus, splits in raw_corpora.items():
        for split, result in splits.items():
            docs = validate_documents(segment_document(doc, splitter) for doc in result.documents)
            partitions[partition_key(corpus, split)] = docs
            logger.info("%s/%s: %d documents segmented and validated", corpus, split, len(docs))
    return partitions


def _entity_text_mismatches(docs: list[Document]) -> int:
    return sum(
        1 for doc in docs for entity in doc.entities if doc.span_text(entity.offsets) != entity.text
    )


def _overlapping_entity_pairs(doc: Document) -> int:
    spans = sorted((e.start, e.end) for e in doc.entities)
    count = 0
    for i, (_, end) in enumerate(spans):
        for start_next, _ in spans[i + 1 :]:
            if start_next >= end:
                break
            count += 1
    return count


def split_report(docs: list[Document], result: ReadResult, max_examples: int) -> dict[str, Any]:
    """Counts of one corpus split, and every record skipped or corrected while reading it."""
    seg = segmentation_stats(docs, max_examples=max_examples)
    relation_types = Counter(r.type for d in docs for r in d.relations)
    negatives = relation_types.pop(NEGATIVE_RELATION, 0)
    return {
        "documents": len(docs),
        "passages": sum(len(d.passages) for d in docs),
        "sentences": seg.sentences,
        "tokens": seg.tokens,
        "characters": sum(len(d.text) for d in docs),
        "mentions": sum(len(d.entities) for d in docs),
        "mentions_per_type": dict(
            sorted(Counter(e.type for d in docs for e in d.entities).items())
        ),
        "discontinuous_mentions": sum(e.is_discontinuous for d in docs for e in d.entities),
        "overlapping_mention_pairs": sum(_overlapping_entity_pairs(d) for d in docs),
        "relations": sum(relation_types.values()),
        "relations_per_type": dict(sorted(relation_types.items())),
        "negative_relations": negatives,
        "relation_levels": dict(
            sorted(Counter(r.level for d in docs for r in d.relations).items())
        ),
        "entity_text_mismatches": _entity_text_mismatches(docs),
        "entities_cut_by_sentence_boundary": seg.entities_cut_by_sentence_boundary,
        "entity_boundaries_inside_token": seg.entity_boundaries_inside_token,
        "examples_cut_by_sentence_boundary": seg.examples_cut,
        # What the IOB2 view (bioie_kedro.views.to_iob2) keeps of the mentions, and why not all.
        "iob2_policy": to_iob2(docs)[1].as_dict(),
        "skipped_records": len(result.skipped),
        "skipped_by_reason": dict(Counter(s.reason for s in result.skipped).most_common()),
        "skipped": [s.as_dict() for s in result.skipped],
        "corrected_records": len(result.corrections),
        "corrections": [c.as_dict() for c in result.corrections],
    }


def build_ingestion_report(
    raw_corpora: Mapping[str, Mapping[str, ReadResult]],
    documents: Partitions,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Per corpus and split: counts of documents, sentences, mentions and relations per type,
    segmentation problems, and every skipped or corrected record with its reason."""
    settings = IngestionParams.parse(params)
    corpora: dict[str, Any] = {}
    totals: Counter[str] = Counter()
    for corpus, splits in raw_corpora.items():
        corpora[corpus] = {}
        for split, result in splits.items():
            docs = load_partition(documents, partition_key(corpus, split))
            report = split_report(docs, result, settings.max_report_examples)
            corpora[corpus][split] = report
            for name in (
                "documents",
                "sentences",
                "mentions",
                "relations",
                "skipped_records",
                "entity_text_mismatches",
                "entities_cut_by_sentence_boundary",
            ):
                totals[name] += report[name]
    return {"corpora": corpora, "totals": dict(totals), "parameters": settings.model_dump()}
