"""Nodes of the dictionary baseline: build one dictionary per corpus, tag the evaluation splits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bioie_kedro.baselines.dictionary import MentionDictionary, build_dictionary, tag_documents
from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.pipelines.dictionary_baseline.params import DictionaryBaselineParams
from bioie_kedro.schema import Document

logger = logging.getLogger(__name__)


def build_mention_dictionaries(
    documents: Partitions, params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """One dictionary of training mentions per configured corpus, as JSON-ready dicts."""
    settings = DictionaryBaselineParams.parse(params)
    dictionaries = {}
    for corpus, spec in settings.corpora.items():
        dictionary = build_dictionary(
            load_partition(documents, partition_key(corpus, spec.train)),
            case_insensitive=settings.case_insensitive,
            min_length=settings.min_length,
            type_map=spec.type_map,
            stopwords=settings.stopwords,
        )
        logger.info("Dictionary for %s: %s", corpus, dictionary.stats)
        dictionaries[corpus] = dictionary.to_dict()
    return dictionaries


def tag_with_dictionaries(
    mention_dictionaries: Mapping[str, dict[str, Any]],
    documents: Partitions,
    params: dict[str, Any],
) -> dict[str, list[Document]]:
    """Predicted documents (entities only) for every configured ``<corpus>/<split>``."""
    settings = DictionaryBaselineParams.parse(params)
    predictions = {}
    for corpus, spec in settings.corpora.items():
        dictionary = MentionDictionary.from_dict(mention_dictionaries[corpus])
        for split in spec.predict:
            key = partition_key(corpus, split)
            predictions[key] = tag_documents(dictionary, load_partition(documents, key))
            logger.info(
                "Tagged %s: %d entities in %d documents",
                key,
                sum(len(d.entities) for d in predictions[key]),
                len(predictions[key]),
            )
    return predictions
