"""The spaCy peer system on a real corpus: train on train, best epoch on dev, score on test.

spaCy's default ``ner`` trained from scratch on the project's sentences and tokens
(:mod:`bioie_kedro.baselines.spacy_ner`), scored by the project's evaluator. Prints per-epoch
progress to stderr and one JSON line of results to stdout.

    nice -n 19 python benchmarks/spacy_ner_peer.py --corpus ncbi_disease [--corpora ../shared/data]
        [--max-epochs 10] [--patience 3] [--seed 0] [--max-seconds 560] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from bioie_kedro.baselines.spacy_ner import predict_spacy_ner, save_spacy_ner, train_spacy_ner
from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics.ner import score_entities
from bioie_kedro.segmentation import SentenceSplitter, segment_document

NCBI_TYPE_MAP = {
    "SpecificDisease": "Disease",
    "DiseaseClass": "Disease",
    "Modifier": "Disease",
    "CompositeMention": "Disease",
}

#: Per corpus: the PubTator file of each split and the type map of the comparison table.
CORPORA = {
    "ncbi_disease": (
        {
            "train": "ncbi_disease/NCBItrainset_corpus.txt",
            "dev": "ncbi_disease/NCBIdevelopset_corpus.txt",
            "test": "ncbi_disease/NCBItestset_corpus.txt",
        },
        NCBI_TYPE_MAP,
    ),
    "bc5cdr": (
        {
            "train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
            "dev": "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
            "test": "bc5cdr/CDR_TestSet.PubTator.txt",
        },
        {},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="training time budget (whole epochs)"
    )
    parser.add_argument("--save", type=Path, default=None, help="write the pipeline here")
    args = parser.parse_args()

    files, type_map = CORPORA[args.corpus]
    splitter = SentenceSplitter()
    splits = {}
    for split, relative in files.items():
        read = read_pubtator(args.corpora / relative, source=args.corpus, split=split)
        splits[split] = [segment_document(doc, splitter) for doc in read.documents]

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    nlp, log = train_spacy_ner(
        splits["train"],
        splits["dev"],
        type_map=type_map,
        max_epochs=args.max_epochs,
        patience=args.patience,
        seed=args.seed,
        max_seconds=args.max_seconds,
        log=progress,
    )
    if args.save is not None:
        save_spacy_ner(nlp, args.save)
    predicted, prediction = predict_spacy_ner(nlp, splits["test"])
    started = time.perf_counter()
    scores = score_entities(splits["test"], predicted, type_map=type_map, bootstrap=0)
    scoring_seconds = time.perf_counter() - started
    micro = {scheme: scores.micro[scheme].as_dict() for scheme in ("strict", "partial")}
    result = {
        "system": "spacy_ner_from_scratch",
        "corpus": args.corpus,
        "documents": {split: len(docs) for split, docs in splits.items()},
        "test_strict_f1": round(micro["strict"]["f1"], 4),
        "test_partial_f1": round(micro["partial"]["f1"], 4),
        "test_strict_precision": round(micro["strict"]["precision"], 4),
        "test_strict_recall": round(micro["strict"]["recall"], 4),
        "test_strict_f1_per_type": {
            name: round(per_type["strict"].f1, 4) for name, per_type in scores.per_type.items()
        },
        "test_strict_f1_by_length": {
            bucket: round(per_length["strict"].f1, 4)
            for bucket, per_length in scores.by_length.items()
        },
        "best_epoch": log["best_epoch"],
        "epochs_run": len(log["epochs"]),
        "best_dev_strict_f1": round(log["best_dev_strict_f1"], 4),
        "train_seconds": log["seconds"],
        "train_sentences": log["train_sentences"],
        "prediction": prediction,
        "scoring_seconds": round(scoring_seconds, 2),
        "epochs": log["epochs"],
        "iob2_policy": log["iob2_policy"],
        "settings": {**log["settings"], "max_epochs": args.max_epochs},
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "niceness": os.nice(0),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
