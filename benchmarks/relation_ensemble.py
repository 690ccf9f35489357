"""Score relation students trained by ``relation_student.py`` alone and as an ensemble (their
label distributions averaged) on the DDI or ChemProt test set:

    python benchmarks/relation_ensemble.py --corpus chemprot --entity-text type \
        --members /tmp/chem_s42 /tmp/chem_s43 /tmp/chem_s44 --output /tmp/chem_ensemble

Each member is a ``relation_student.py`` output directory (its ``final`` model is loaded); all
must have been trained on the same corpus with the same ``--entity-text`` and labels. The test
pairs are rebuilt exactly as ``relation_student.py`` builds them. Prints one JSON object and
writes it to ``<output>/result.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from relation_student import CORPORA, examples, machine, score_predictions

from bioie_kedro.relation_extraction import RelationSpec
from bioie_kedro.relation_extraction.classifier import RelationClassifier, relation_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ddi")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--members", type=Path, nargs="+", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--entity-text", choices=("keep", "type"), default="keep")
    parser.add_argument("--same-text-pairs", choices=("keep", "skip"), default="keep")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--limit-documents", type=int, default=None, help="smoke runs only: the first N documents"
    )
    args = parser.parse_args()

    members = []
    for directory in args.members:
        trained = json.loads((directory / "result.json").read_text())
        wanted = (args.corpus, args.entity_text, args.same_text_pairs)
        had = (
            trained["corpus"],
            trained["entity_text"],
            trained.get("same_text_pairs", "keep"),
        )
        if had != wanted:
            parser.error(
                f"{directory}: trained with corpus / --entity-text / --same-text-pairs {had}, "
                f"not {wanted}"
            )
        members.append((directory, trained, RelationClassifier.load(directory / "final")))

    spec = RelationSpec.from_mapping(CORPORA[args.corpus]["spec"])
    rows, counts = examples(
        args.corpus,
        "test",
        args.corpora,
        spec,
        args.limit_documents,
        args.entity_text,
        args.same_text_pairs,
    )
    texts = [row["text"] for row in rows]
    gold = [row["label"] for row in rows]
    unreachable = counts["gold_relations_unreachable"]

    # each member's distributions once: scored alone, then averaged (as predict_relation_labels
    # does for a list of students)
    alone, total, seconds = [], None, 0.0
    labels = members[0][2].labels
    for directory, trained, classifier in members:
        if classifier.labels != labels:
            parser.error(f"{directory}: labels {classifier.labels}, not {labels}")
        probabilities, stats = relation_probabilities(classifier, texts, batch_size=args.batch_size)
        total = probabilities if total is None else total + probabilities
        seconds += stats.seconds
        scores = score_predictions(gold, [labels[i] for i in probabilities.argmax(-1)], unreachable)
        alone.append(
            {
                "member": str(directory),
                "seed": trained["settings"]["seed"],
                "positive_micro_f1": scores["positive_micro_f1"],
                "positive_macro_f1": scores["positive_macro_f1"],
                "examples_per_second": round(stats.examples_per_second, 1),
            }
        )
    predicted = [labels[i] for i in (total / len(members)).argmax(-1)]
    result = {
        "corpus": args.corpus,
        "entity_text": args.entity_text,
        "same_text_pairs": args.same_text_pairs,
        "limit_documents": args.limit_documents,
        "members": alone,
        "mean_member_positive_micro_f1": round(
            sum(m["positive_micro_f1"] for m in alone) / len(alone), 4
        ),
        "ensemble": {
            **score_predictions(gold, predicted, unreachable),
            "examples_per_second": round(len(texts) / seconds, 1) if seconds else None,
        },
        "machine": machine(),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
