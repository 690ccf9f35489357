"""Inference speed of a trained encoder: bioie-kedro's batched prediction vs the transformers pipeline.

Same model, same sentences (NCBI-disease test by default), same machine, one run, side by side:

* ``pipeline``: ``transformers.pipeline("token-classification", aggregation_strategy="first")``
  called on the list of sentence strings (its default batch size of 1), entities mapped back to
  document offsets;
* ``ours``: ``predict_word_tags`` — windows sorted by length, batches of 64, ``inference_mode``;
* ``ours-int8``: the same after dynamic int8 quantisation of the linear layers.

Each system's predictions are scored with the project's evaluator, so any F1 change (pipeline
tokenisation, quantisation) is reported next to the speed.

    python benchmarks/encoder_inference.py --model data/06_models/encoder_ner/model/<version>/model
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics import score_entities
from bioie_kedro.schema import Entity
from bioie_kedro.segmentation import segment_document
from bioie_kedro.token_classification import (
    TokenClassifier,
    build_examples,
    documents_with_predictions,
    predict_word_tags,
)

FILES = {
    "ncbi_disease": "ncbi_disease/NCBItestset_corpus.txt",
    "bc5cdr": "bc5cdr/CDR_TestSet.PubTator.txt",
}


def pipeline_predictions(classifier: TokenClassifier, docs):
    from transformers import pipeline

    tagger = pipeline(
        "token-classification",
        model=classifier.model,
        tokenizer=classifier.tokenizer,
        aggregation_strategy="first",
        device=-1,
    )
    sentences = [(doc, s) for doc in docs for s in doc.sentences]
    texts = [doc.text[s.start : s.end] for doc, s in sentences]
    started = time.perf_counter()
    outputs = tagger(texts)
    seconds = time.perf_counter() - started
    by_doc: dict[str, list[Entity]] = {doc.id: [] for doc in docs}
    for (doc, sentence), found in zip(sentences, outputs, strict=True):
        for item in found:
            start, end = sentence.start + item["start"], sentence.start + item["end"]
            by_doc[doc.id].append(
                Entity(
                    f"P{len(by_doc[doc.id]) + 1}",
                    item["entity_group"],
                    doc.text[start:end],
                    [(start, end)],
                )
            )
    return (
        [replace(doc, entities=by_doc[doc.id], relations=[]) for doc in docs],
        len(texts),
        seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--corpus", choices=sorted(FILES), default="ncbi_disease")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import torch

    classifier = TokenClassifier.load(args.model)
    type_map = classifier.settings.get("type_map") or {}
    docs = [
        segment_document(d)
        for d in read_pubtator(
            args.corpora / FILES[args.corpus], source=args.corpus, split="test"
        ).documents
    ]
    examples, _ = build_examples(
        docs, type_map=type_map, context_sentences=classifier.settings.get("context_sentences", 0)
    )
    results = {}

    def score(predicted):
        micro = score_entities(docs, predicted, type_map=type_map, bootstrap=0).as_dict()["micro"]
        return round(micro["strict"]["f1"], 4), round(micro["partial"]["f1"], 4)

    predicted, n, seconds = pipeline_predictions(classifier, docs)
    results["pipeline"] = {
        "sentences": n,
        "seconds": round(seconds, 2),
        "sentences_per_second": round(n / seconds, 1),
        "strict_partial_f1": score(predicted),
    }
    for name, quantize in (("ours", False), ("ours-int8", True)):
        fresh = TokenClassifier.load(args.model)
        tags, stats = predict_word_tags(
            fresh, examples, batch_size=args.batch_size, quantize=quantize
        )
        predicted = documents_with_predictions(docs, examples, tags)
        results[name] = {
            "sentences": stats.sentences,
            "seconds": round(stats.seconds, 2),
            "sentences_per_second": round(stats.sentences_per_second, 1),
            "strict_partial_f1": score(predicted),
        }
    base = results["pipeline"]["sentences_per_second"]
    for name in ("ours", "ours-int8"):
        results[name]["speed_vs_pipeline"] = round(results[name]["sentences_per_second"] / base, 2)
    results["machine"] = (
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, Python {platform.python_version()}, torch {torch.__version__}"
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
