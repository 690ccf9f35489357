"""Train the synthetic-labels student on *gold* relations (DDI or ChemProt) to measure what
synthetic labels cost: the same candidate pairs, markers, classifier and selection rule.

Uses the package functions of the ``synthetic_labels`` pipeline (sentence units, candidate pairs,
``relation_examples``, ``train_relation_classifier``, ``predict_relation_labels``) on the corpora
of ../shared/data, read with the project's readers:

    python benchmarks/relation_student.py --corpus ddi --output /tmp/ddi_student \
        [--settings '{"num_train_epochs": 5, "learning_rate": 5e-5}'] [--entity-text type]

* DDI: every pair of drug mentions of a sentence, in text order (exactly the corpus's 27,792
  training pairs); labels mechanism, effect, advise, int (the one untyped positive pair counts as
  ``none``). DDI has no dev split: 10 % of the training documents, seeded, select the model.
* ChemProt: every CHEMICAL → GENE-Y/GENE-N pair of a sentence; labels CPR:3, 4, 5, 6, 9 (the
  evaluated groups); train / development / test as distributed.

Model selection: macro-F1 over the positive labels on dev, early stopping, best weights kept.
Reported on test: micro-F1 over the positive classes (the standard DDI / ChemProt score) over the
candidate pairs, the same with the gold relations no candidate can carry counted as misses, and
per-class scores. Prints one JSON object and writes it to ``<output>/result.json``; the model is
saved to ``<output>/final``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections import Counter
from pathlib import Path

from bioie_kedro.corpora.chemprot import read_chemprot
from bioie_kedro.corpora.ddi import DDI_TYPES, read_ddi
from bioie_kedro.relation_extraction import RelationSpec, sentence_units
from bioie_kedro.relation_extraction.candidates import ENTITY_TEXT_CHOICES
from bioie_kedro.relation_extraction.classifier import (
    RelationTrainingSettings,
    classification_scores,
    predict_relation_labels,
    train_relation_classifier,
)
from bioie_kedro.relation_extraction.examples import (
    gold_pair_labels,
    label_names,
    relation_examples,
    split_by_document,
    to_dataset_dict,
)
from bioie_kedro.segmentation import segment_document

DDI_ENTITY_TYPES = ("drug", "brand", "group", "drug_n")
CHEMPROT_GROUPS = ["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"]

CORPORA = {
    "ddi": {
        "reader": read_ddi,
        "splits": {
            "train": "ddi/DDICorpus/Train",
            "test": "ddi/DDICorpus/Test/Test for DDI Extraction task",
        },
        "spec": {f"{a}|{b}": sorted(DDI_TYPES) for a in DDI_ENTITY_TYPES for b in DDI_ENTITY_TYPES},
        "pair_order": "text",
    },
    "chemprot": {
        "reader": read_chemprot,
        "splits": {
            "train": "chemprot/chemprot_training",
            "dev": "chemprot/chemprot_development",
            "test": "chemprot/chemprot_test_gs",
        },
        "spec": {"CHEMICAL|GENE-Y": CHEMPROT_GROUPS, "CHEMICAL|GENE-N": CHEMPROT_GROUPS},
        "pair_order": "all",
    },
}


def examples(
    corpus: str,
    split: str,
    root: Path,
    spec: RelationSpec,
    limit: int | None = None,
    entity_text: str = "keep",
    same_text_pairs: str = "keep",
) -> tuple[list[dict], Counter]:
    config = CORPORA[corpus]
    docs = config["reader"](root / config["splits"][split], source=corpus, split=split).documents
    docs = docs[:limit] if limit else docs
    rows, counts = [], Counter()
    for doc in docs:
        units, unit_counts = sentence_units(segment_document(doc), entity_types=spec.entity_types)
        labels, gold_counts = gold_pair_labels(doc, units)
        doc_rows, example_counts = relation_examples(
            units,
            labels,
            spec,
            pair_order=config["pair_order"],
            entity_text=entity_text,
            same_text_pairs=same_text_pairs,
        )
        rows += doc_rows
        counts.update(unit_counts + gold_counts + example_counts)
    counts["documents"] = len(docs)
    counts["examples"] = len(rows)
    counts["positive_examples"] = sum(row["label"] != "none" for row in rows)
    # gold relations that no candidate carries: in two sentences, on an overlapping pair,
    # a second label on a pair, a label the spec does not allow, or a same-text pair skipped
    counts["gold_relations_unreachable"] = counts["gold_relations"] - counts["positive_examples"]
    return rows, counts


def splits(
    corpus: str,
    root: Path,
    *,
    limit: int | None = None,
    entity_text: str = "keep",
    same_text_pairs: str = "keep",
    train_on_dev: bool = False,
    dev_fraction: float = 0.1,
    seed: int = 42,
) -> tuple[tuple[list[dict], Counter], tuple[list[dict], Counter], tuple[list[dict], Counter]]:
    """(rows, counts) of train, dev (selection) and test: the corpus's dev split, or
    ``dev_fraction`` of the training documents (seeded) where it has none or ``train_on_dev`` adds
    its dev documents to the training pool."""
    spec = RelationSpec.from_mapping(CORPORA[corpus]["spec"])
    has_dev = "dev" in CORPORA[corpus]["splits"]
    if train_on_dev and not has_dev:
        raise ValueError(f"train_on_dev: {corpus} has no development split")

    def rows_of(split: str) -> tuple[list[dict], Counter]:
        return examples(corpus, split, root, spec, limit, entity_text, same_text_pairs)

    train_rows, train_counts = rows_of("train")
    test = rows_of("test")
    if has_dev:
        dev_rows, dev_counts = rows_of("dev")
    if has_dev and train_on_dev:
        train_rows += dev_rows
        train_counts += dev_counts
    if not has_dev or train_on_dev:
        held_out = split_by_document(
            (r["document_key"] for r in train_rows),
            fractions=(1 - dev_fraction, dev_fraction, 0.0),
            seed=seed,
        )
        dev_rows = [r for r in train_rows if held_out[r["document_key"]] == "validation"]
        train_rows = [r for r in train_rows if held_out[r["document_key"]] == "train"]
        dev_counts = Counter(
            documents=sum(1 for s in held_out.values() if s == "validation"), examples=len(dev_rows)
        )
    return (train_rows, train_counts), (dev_rows, dev_counts), test


#: The selection split of a result written before ``dev_split`` was recorded.
DEFAULT_DEV_SPLIT = {"seed": 42, "fraction": 0.1}


def splits_as_trained(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    results: dict[Path, dict],
    *,
    one_dev_split: bool = True,
) -> tuple[tuple[tuple[list[dict], Counter], ...], dict[str, object]]:
    """:func:`splits` rebuilt exactly as the runs whose ``result.json`` are ``results`` were trained,
    and the selection split they used (``train_on_dev``, ``seed``, ``fraction``).

    Stops through ``parser.error`` when a run was trained on another corpus or with other
    ``--entity-text`` / ``--same-text-pairs`` than ``args`` say, or (with ``one_dev_split``) when
    the runs were selected on different dev splits.
    """
    wanted = (args.corpus, args.entity_text, args.same_text_pairs)
    for run, result in results.items():
        had = (result["corpus"], result["entity_text"], result.get("same_text_pairs", "keep"))
        if had != wanted:
            parser.error(
                f"{run}: trained with corpus / --entity-text / --same-text-pairs {had}, "
                f"not {wanted}"
            )
    dev_splits = sorted(
        {
            json.dumps(
                [r.get("train_on_dev", False), r.get("dev_split", DEFAULT_DEV_SPLIT)],
                sort_keys=True,
            )
            for r in results.values()
        }
    )
    if one_dev_split and len(dev_splits) > 1:
        parser.error(f"the runs were selected on different dev splits: {dev_splits}")
    train_on_dev, dev_split = json.loads(dev_splits[0])
    rebuilt = splits(
        args.corpus,
        args.corpora,
        limit=args.limit_documents,
        entity_text=args.entity_text,
        same_text_pairs=args.same_text_pairs,
        train_on_dev=train_on_dev,
        dev_fraction=dev_split["fraction"],
        seed=dev_split["seed"],
    )
    return rebuilt, {"train_on_dev": train_on_dev, **dev_split}


def score_predictions(gold: list[str], predicted: list[str], unreachable: int) -> dict[str, object]:
    """Positive-class micro / macro scores over the candidate pairs, per class, and the micro-F1
    with the ``unreachable`` gold relations (no candidate carries them) counted as misses."""
    scores = classification_scores(gold, predicted)
    true_positives = sum(g == p != "none" for g, p in zip(gold, predicted, strict=True))
    gold_positives = sum(g != "none" for g in gold)
    recall_all = true_positives / (gold_positives + unreachable) if gold else 0.0
    precision = scores["positive_micro_precision"]
    f1_all = (
        2 * precision * recall_all / (precision + recall_all) if precision + recall_all else 0.0
    )
    return {
        "positive_micro_f1": round(scores["positive_micro_f1"], 4),
        "positive_micro_precision": round(precision, 4),
        "positive_micro_recall": round(scores["positive_micro_recall"], 4),
        "positive_macro_f1": round(scores["positive_macro_f1"], 4),
        "positive_micro_f1_unreachable_as_misses": round(f1_all, 4),
        "per_class": {
            label: {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}
            for label, values in scores["per_label"].items()
        },
        "examples": len(gold),
    }


def machine() -> dict[str, object]:
    import torch

    info: dict[str, object] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "device": "cpu",
    }
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
    return info


def add_corpus_arguments(parser: argparse.ArgumentParser, *, examples: bool = True) -> None:
    """The options every relation benchmark shares: ``--corpus`` and ``--corpora``; with
    ``examples`` also how the examples are built (``--entity-text``, ``--same-text-pairs``) and
    ``--limit-documents``, so that a script scoring a trained run rebuilds its examples exactly."""
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ddi")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    if not examples:
        return
    parser.add_argument(
        "--entity-text",
        choices=ENTITY_TEXT_CHOICES,
        default="keep",
        help="type: blind the pair's mentions to @TYPE$ (as BLURB prepares ChemProt and DDI); "
        "all_types: every other mention of the sentence too (no markers)",
    )
    parser.add_argument(
        "--same-text-pairs",
        choices=("keep", "skip"),
        default="keep",
        help="skip: a pair of two mentions with the same text is none by rule (no example; a "
        "gold relation on one counts as unreachable)",
    )
    parser.add_argument(
        "--limit-documents",
        type=int,
        default=None,
        help="smoke runs only: the first N documents of every split",
    )


def write_result(output: Path, result: dict[str, object]) -> None:
    """Write ``<output>/result.json`` and print the same JSON."""
    output.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    (output / "result.json").write_text(text)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser)
    parser.add_argument(
        "--output", type=Path, required=True, help="checkpoints, final model, result.json"
    )
    parser.add_argument(
        "--settings", default="{}", help="JSON overrides of RelationTrainingSettings"
    )
    parser.add_argument(
        "--dev-fraction",
        type=float,
        default=0.1,
        help="DDI (and ChemProt with --train-on-dev): training documents held out for selection",
    )
    parser.add_argument(
        "--train-on-dev",
        action="store_true",
        help="ChemProt: add the development documents to the training pool and hold out "
        "--dev-fraction of the pooled documents for selection, as for DDI (test untouched)",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the DDI dev split")
    args = parser.parse_args()

    if args.train_on_dev and "dev" not in CORPORA[args.corpus]["splits"]:
        parser.error(f"--train-on-dev: {args.corpus} has no development split")
    limit = args.limit_documents
    (train_rows, train_counts), (dev_rows, dev_counts), (test_rows, test_counts) = splits(
        args.corpus,
        args.corpora,
        limit=limit,
        entity_text=args.entity_text,
        same_text_pairs=args.same_text_pairs,
        train_on_dev=args.train_on_dev,
        dev_fraction=args.dev_fraction,
        seed=args.seed,
    )
    labels = label_names(train_rows + dev_rows + test_rows)
    dataset = to_dataset_dict(
        {"train": train_rows, "validation": dev_rows, "test": test_rows}, labels
    )

    settings = RelationTrainingSettings(**json.loads(args.settings))
    student = train_relation_classifier(dataset, settings, output_dir=args.output / "checkpoints")
    student.save(args.output / "final")

    predicted, _, stats = predict_relation_labels(
        student, dataset["test"]["text"], batch_size=settings.per_device_eval_batch_size
    )
    gold = [labels[i] for i in dataset["test"]["label"]]
    result = {
        "corpus": args.corpus,
        "limit_documents": limit,
        "entity_text": args.entity_text,
        "train_on_dev": args.train_on_dev,
        "same_text_pairs": args.same_text_pairs,
        "dev_split": {"seed": args.seed, "fraction": args.dev_fraction},
        "settings": student.settings,
        "labels": labels,
        "data": {
            "train": dict(sorted(train_counts.items())),
            "dev": dict(sorted(dev_counts.items())),
            "test": dict(sorted(test_counts.items())),
            "train_examples_used": len(train_rows),
        },
        "training": {
            key: student.training_log[key]
            for key in (
                "train_seconds",
                "global_steps",
                "selection_metric",
                "best_validation_positive_macro_f1",
                "best_validation_positive_micro_f1",
                "validation_history",
                "class_weights",
            )
        },
        "test": {
            **score_predictions(gold, predicted, test_counts["gold_relations_unreachable"]),
            "examples_per_second": round(stats.examples_per_second, 1),
        },
        "machine": machine(),
    }
    write_result(args.output, result)


if __name__ == "__main__":
    main()
