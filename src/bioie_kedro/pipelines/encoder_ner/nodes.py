"""Nodes of encoder_ner: fine-tune the encoder (one node wraps the whole Trainer call), predict."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.pipelines.encoder_ner.params import EncoderNerParams
from bioie_kedro.schema import Document
from bioie_kedro.token_classification import (
    TokenClassifier,
    predict_documents,
    train_token_classifier,
)

logger = logging.getLogger(__name__)


def train_encoder(documents: Partitions, params: dict[str, Any]) -> TokenClassifier:
    """Fine-tune on ``<corpus>/<train_split>`` (one split or several pooled), selecting on
    ``<corpus>/<dev_split>`` strict F1 (or keeping the last epoch, ``training.keep: last``)."""
    settings = EncoderNerParams.parse(params)
    splits = (
        [settings.train_split] if isinstance(settings.train_split, str) else settings.train_split
    )
    train = [
        doc
        for split in splits
        for doc in load_partition(documents, partition_key(settings.corpus, split))
    ]
    dev = load_partition(documents, partition_key(settings.corpus, settings.dev_split))
    output_dir = Path(settings.trainer_output_dir) / settings.corpus
    return train_token_classifier(
        train,
        dev,
        settings.training.settings(),
        output_dir=output_dir,
        type_map=settings.type_map,
        types=settings.types,
        resume=settings.resume,
    )


def predict_entities(
    classifier: TokenClassifier, documents: Partitions, params: dict[str, Any]
) -> tuple[dict[str, list[Document]], dict[str, Any]]:
    """Entities with character spans for every ``predict_splits`` partition, and a run report
    (training log of the model, prediction throughput and windowing per split)."""
    settings = EncoderNerParams.parse(params)
    predictions: dict[str, list[Document]] = {}
    report: dict[str, Any] = {
        "corpus": settings.corpus,
        "training": classifier.training_log,
        "prediction": {},
    }
    for split in settings.predict_splits:
        key = partition_key(settings.corpus, split)
        docs, stats = predict_documents(
            classifier,
            load_partition(documents, key),
            batch_size=settings.prediction.batch_size,
            quantize=settings.prediction.quantize,
            abbreviations=settings.prediction.resolve_abbreviations,
            propagate=settings.prediction.propagate_mentions,
        )
        predictions[key] = docs
        report["prediction"][key] = {
            "sentences": stats.sentences,
            "windows": stats.windows,
            "sentences_windowed": stats.sentences_windowed,
            "seconds": round(stats.seconds, 3),
            "sentences_per_second": round(stats.sentences_per_second, 1),
            "abbreviation_mentions_added": stats.abbreviation_mentions,
            "propagated_mentions_added": stats.propagated_mentions,
        }
        logger.info(
            "Predicted %s: %d sentences, %.0f sentences/s",
            key,
            stats.sentences,
            stats.sentences_per_second,
        )
    return predictions, report
