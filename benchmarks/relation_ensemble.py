"""Score relation students trained by ``relation_student.py`` alone and as an ensemble (their
label distributions averaged) on the DDI or ChemProt test set:

    python benchmarks/relation_ensemble.py --corpus chemprot --entity-text type \
        --members /tmp/chem_s42 /tmp/chem_s43 /tmp/chem_s44 --output /tmp/chem_ensemble

Each member is a ``relation_student.py`` output directory (its ``final`` model is loaded); all
must have been trained on the same corpus with the same ``--entity-text`` and labels. The test
pairs are rebuilt exactly as ``relation_student.py`` builds them. Prints one JSON object and
writes it to ``<output>/result.json``.

``--mixed-entity-text`` lets the members differ in ``--entity-text`` (e.g. ``type`` and
``all_types`` students of the same corpus): each member reads the texts it was trained with, and
the test pairs of every view (and the dev pairs, with ``--tune-none-scale``) are checked to be the
same, in the same order (document, head and tail ids, gold label), before their distributions are
averaged.

``--tune-none-scale`` also chooses a decision threshold on the members' own selection split (the
held-out training documents, rebuilt with the seed and fraction each member recorded, or
ChemProt's dev set): the ``none`` probability is multiplied by the scale, from 1/16 to 16, that
maximises dev positive micro-F1 (``tune_none_scale``), for each member and for the ensemble, and
test is scored with both the plain and the tuned decision. Test never chooses anything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from relation_student import (
    add_corpus_arguments,
    machine,
    score_predictions,
    splits_as_trained,
    write_result,
)

from bioie_kedro.relation_extraction.classifier import (
    RelationClassifier,
    labels_from_probabilities,
    relation_probabilities,
    tune_none_scale,
)


def member_view(args: argparse.Namespace, trained: dict) -> str:
    """The ``--entity-text`` whose texts a member reads."""
    return trained["entity_text"] if args.mixed_entity_text else args.entity_text


def pair_keys(rows: list[dict]) -> list[tuple[str, str, str, str]]:
    return [(r["document_key"], r["head_id"], r["tail_id"], r["label"]) for r in rows]


def entity_text_views(
    parser: argparse.ArgumentParser, args: argparse.Namespace, results: dict[Path, dict]
) -> dict[str, dict[str, object]]:
    """Per ``--entity-text`` the members read, the dev and test splits rebuilt as they were
    trained (:func:`splits_as_trained`): ``{"test": rows, "test_counts", "dev": rows, "selection"}``.
    Stops through ``parser.error`` when two views' pairs differ (``--mixed-entity-text``) or the
    members were selected on different dev splits where anything is tuned."""
    grouped: dict[str, dict[Path, dict]] = {}
    for directory, trained in results.items():
        grouped.setdefault(member_view(args, trained), {})[directory] = trained
    views: dict[str, dict[str, object]] = {}
    for entity_text, group in grouped.items():
        view_args = argparse.Namespace(**{**vars(args), "entity_text": entity_text})
        # the selection split as the members were trained: one for all where it tunes anything
        (_, (dev_rows, _), (test_rows, test_counts)), selection = splits_as_trained(
            parser, view_args, group, one_dev_split=args.tune_none_scale
        )
        views[entity_text] = {
            "test": test_rows,
            "test_counts": test_counts,
            "dev": dev_rows,
            "selection": selection,
        }
    first = next(iter(views.values()))
    for entity_text, view in list(views.items())[1:]:
        if view["selection"] != first["selection"] and args.tune_none_scale:
            parser.error(f"the runs were selected on different dev splits: {list(views)}")
        # dev is read only to tune; untuned members may have been selected on other dev splits
        for split in ("test", "dev") if args.tune_none_scale else ("test",):
            if pair_keys(view[split]) != pair_keys(first[split]):
                parser.error(
                    f"--mixed-entity-text: the {split} pairs read with {entity_text!r} are not "
                    f"those read with {next(iter(views))!r}"
                )
    return views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser)
    parser.add_argument("--members", type=Path, nargs="+", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--tune-none-scale",
        action="store_true",
        help="also score test with the none-probability scale chosen on each member's dev split",
    )
    parser.add_argument(
        "--mixed-entity-text",
        action="store_true",
        help="members may differ in --entity-text: each reads the texts it was trained with",
    )
    args = parser.parse_args()

    results = {
        directory: json.loads((directory / "result.json").read_text()) for directory in args.members
    }
    views = entity_text_views(parser, args, results)
    view_names = list(views)
    # every view's pairs are the same pairs in the same order; the first view's rows give the gold
    first = views[view_names[0]]
    rows, counts, dev_rows, selection = (
        first["test"],
        first["test_counts"],
        first["dev"],
        first["selection"],
    )
    members = [
        (directory, trained, RelationClassifier.load(directory / "final"))
        for directory, trained in results.items()
    ]
    gold = [row["label"] for row in rows]
    dev_gold = [row["label"] for row in dev_rows]
    unreachable = counts["gold_relations_unreachable"]
    labels = members[0][2].labels

    def tuned(dev_probabilities, test_probabilities) -> dict[str, object]:
        scale, curve = tune_none_scale(dev_probabilities, dev_gold, labels)
        predicted, _ = labels_from_probabilities(test_probabilities, labels, none_scale=scale)
        return {
            "none_scale": round(scale, 4),
            "dev_positive_micro_f1_plain": round(curve[1.0], 4),
            "dev_positive_micro_f1_tuned": round(curve[scale], 4),
            "test": score_predictions(gold, predicted, unreachable),
        }

    # each member's distributions once: scored alone, then averaged (as predict_relation_labels
    # does for a list of students)
    alone, total, dev_total, seconds = [], None, None, 0.0
    for directory, trained, classifier in members:
        if classifier.labels != labels:
            parser.error(f"{directory}: labels {classifier.labels}, not {labels}")
        view = views[member_view(args, trained)]
        texts = [row["text"] for row in view["test"]]
        dev_texts = [row["text"] for row in view["dev"]]
        probabilities, stats = relation_probabilities(classifier, texts, batch_size=args.batch_size)
        total = probabilities if total is None else total + probabilities
        seconds += stats.seconds
        scores = score_predictions(gold, [labels[i] for i in probabilities.argmax(-1)], unreachable)
        alone.append(
            {
                "member": str(directory),
                "seed": trained["settings"]["seed"],
                "entity_text": trained["entity_text"],
                "positive_micro_f1": scores["positive_micro_f1"],
                "positive_macro_f1": scores["positive_macro_f1"],
                "examples_per_second": round(stats.examples_per_second, 1),
            }
        )
        if args.tune_none_scale:
            dev_probabilities, _ = relation_probabilities(
                classifier, dev_texts, batch_size=args.batch_size
            )
            dev_total = dev_probabilities if dev_total is None else dev_total + dev_probabilities
            alone[-1]["tuned"] = tuned(dev_probabilities, probabilities)
    predicted = [labels[i] for i in (total / len(members)).argmax(-1)]
    result = {
        "corpus": args.corpus,
        "entity_text": view_names if args.mixed_entity_text else args.entity_text,
        "same_text_pairs": args.same_text_pairs,
        "limit_documents": args.limit_documents,
        "members": alone,
        "mean_member_positive_micro_f1": round(
            sum(m["positive_micro_f1"] for m in alone) / len(alone), 4
        ),
        "ensemble": {
            **score_predictions(gold, predicted, unreachable),
            "examples_per_second": round(len(rows) / seconds, 1) if seconds else None,
        },
        "ensemble_tuned": (
            tuned(dev_total / len(members), total / len(members)) if args.tune_none_scale else None
        ),
        "dev_split": {**selection, "examples": len(dev_rows)},
        "machine": machine(),
    }
    write_result(args.output, result)


if __name__ == "__main__":
    main()
