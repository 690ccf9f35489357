"""Train and score the encoder NER on a real corpus: training time, dev curve, test F1.

Uses the same functions as the ``encoder_ner`` pipeline (``train_token_classifier``,
``predict_documents``) and the project's evaluator, on the PubTator files of ../shared/data:

    python benchmarks/encoder_ner_train.py --corpus ncbi_disease --output /tmp/ncbi_model \
        [--settings '{"num_train_epochs": 8, "seed": 42}']
    python benchmarks/encoder_ner_train.py --corpus ncbi_disease --output /tmp/ncbi_model --evaluate-only
    python benchmarks/encoder_ner_train.py --corpus ncbi_disease --output /tmp/ncbi_final \
        --train-on-dev --settings '{"num_train_epochs": 8}'   # final model: last epoch kept

Prints one JSON object: training log (seconds, best dev strict F1 per epoch), dev and test strict /
partial F1 of the model alone, with abbreviation resolution (``resolve_abbreviations``, the
pipeline's default) and with document-level mention propagation (the choice between them is made
on dev). The model is saved to ``<output>/final``.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics import score_entities
from bioie_kedro.segmentation import segment_document
from bioie_kedro.token_classification import (
    TokenClassifier,
    TrainingSettings,
    predict_documents,
    train_token_classifier,
)

CORPORA = {
    "ncbi_disease": (
        "ncbi_disease/NCBItrainset_corpus.txt",
        "ncbi_disease/NCBIdevelopset_corpus.txt",
        "ncbi_disease/NCBItestset_corpus.txt",
        dict.fromkeys(
            ["SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"], "Disease"
        ),
    ),
    "bc5cdr": (
        "bc5cdr/CDR_TrainingSet.PubTator.txt",
        "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
        "bc5cdr/CDR_TestSet.PubTator.txt",
        {},
    ),
}

#: Post-processing compared on dev and test: none, abbreviation resolution, mention propagation.
VARIANTS = {
    "": {},
    "+abbreviations": {"abbreviations": True},
    "+propagation": {"propagate": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="trainer checkpoints and the final model"
    )
    parser.add_argument("--settings", default="{}", help="JSON overrides of TrainingSettings")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="score <output>/final without training"
    )
    parser.add_argument(
        "--train-on-dev",
        action="store_true",
        help="train on train + dev and keep the last epoch (dev scores then only track fitting)",
    )
    args = parser.parse_args()

    train_file, dev_file, test_file, type_map = CORPORA[args.corpus]

    def load(name: str, split: str):
        return [
            segment_document(d)
            for d in read_pubtator(args.corpora / name, source=args.corpus, split=split).documents
        ]

    dev, test = load(dev_file, "dev"), load(test_file, "test")
    if args.evaluate_only:
        classifier = TokenClassifier.load(args.output / "final")
    else:
        overrides = json.loads(args.settings)
        if args.train_on_dev:
            overrides["keep"] = "last"
        settings = TrainingSettings(**overrides)
        train = load(train_file, "train") + (dev if args.train_on_dev else [])
        classifier = train_token_classifier(
            train, dev, settings, output_dir=args.output, type_map=type_map
        )
        classifier.save(args.output / "final")

    result = {
        "corpus": args.corpus,
        "trained_on": "train+dev" if args.train_on_dev else "train",
        "settings": classifier.settings,
        "training": classifier.training_log,
        "scores": {},
    }
    for split_name, gold in (("dev", dev), ("test", test)):
        for variant, options in VARIANTS.items():
            predicted, stats = predict_documents(classifier, gold, **options)
            micro = score_entities(gold, predicted, type_map=type_map, bootstrap=1000).as_dict()[
                "micro"
            ]
            result["scores"][f"{split_name}{variant}"] = {
                "strict_f1": round(micro["strict"]["f1"], 4),
                "strict_f1_ci": [round(x, 4) for x in micro["strict"]["f1_ci"]],
                "strict_precision": round(micro["strict"]["precision"], 4),
                "strict_recall": round(micro["strict"]["recall"], 4),
                "partial_f1": round(micro["partial"]["f1"], 4),
                "sentences_per_second": round(stats.sentences_per_second, 1),
                "mentions_added": stats.abbreviation_mentions + stats.propagated_mentions,
            }
    result["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
