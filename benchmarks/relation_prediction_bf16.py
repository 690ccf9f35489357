"""Relation-student prediction in fp32 against bf16 autocast, side by side on the same texts:

    OMP_NUM_THREADS=2 python benchmarks/relation_prediction_bf16.py --corpus ddi \
        --entity-text type --same-text-pairs skip --model /tmp/ddi_s42/final --output /tmp/bf16

``--model`` is a saved ``RelationClassifier`` (``relation_student.py`` writes one to
``<output>/final``). The test pairs are rebuilt as ``relation_student.py`` builds them. The two
precisions alternate ``--repeats`` times (fp32, bf16, fp32, …) so that both see the same machine
load; the speed ratio is the comparison, the absolute rates depend on the load. Reports pairs per
second, the share of pairs given the same label, the largest and mean probability difference, and
test positive micro-F1 under each. Prints one JSON object and writes ``<output>/result.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import median

import numpy as np
from relation_student import (
    add_corpus_arguments,
    machine,
    score_predictions,
    splits,
    write_result,
)

from bioie_kedro.encoder_training import bf16_supported
from bioie_kedro.relation_extraction.classifier import RelationClassifier, relation_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    _, _, (rows, counts) = splits(
        args.corpus,
        args.corpora,
        limit=args.limit_documents,
        entity_text=args.entity_text,
        same_text_pairs=args.same_text_pairs,
    )
    texts = [row["text"] for row in rows]
    gold = [row["label"] for row in rows]
    classifier = RelationClassifier.load(args.model)
    labels = classifier.labels

    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    probabilities: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, bf16 in (("fp32", False), ("bf16", True)):
            probabilities[name], stats = relation_probabilities(
                classifier, texts, batch_size=args.batch_size, bf16=bf16
            )
            rates[name].append(stats.examples_per_second)
    fp32, bf16 = probabilities["fp32"], probabilities["bf16"]
    difference = np.abs(fp32 - bf16)
    scores = {
        name: score_predictions(
            gold, [labels[i] for i in p.argmax(-1)], counts["gold_relations_unreachable"]
        )
        for name, p in probabilities.items()
    }
    result = {
        "corpus": args.corpus,
        "model": str(args.model),
        "pairs": len(texts),
        "repeats": args.repeats,
        "bf16_supported": bf16_supported(),
        "pairs_per_second": {name: [round(r, 1) for r in rs] for name, rs in rates.items()},
        "speedup_bf16_over_fp32": round(median(rates["bf16"]) / median(rates["fp32"]), 3),
        "same_label_share": round(float((fp32.argmax(-1) == bf16.argmax(-1)).mean()), 5),
        "max_abs_probability_difference": round(float(difference.max()), 5),
        "mean_abs_probability_difference": round(float(difference.mean()), 6),
        "test_positive_micro_f1": {name: s["positive_micro_f1"] for name, s in scores.items()},
        "machine": machine(),
    }
    write_result(args.output, result)


if __name__ == "__main__":
    main()
