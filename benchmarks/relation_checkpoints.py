"""Score every checkpoint of ``relation_student.py`` runs and compare ways to pick or combine them:

    python benchmarks/relation_student.py --corpus ddi --entity-text type --output /tmp/ddi_s42 \
        --settings '{"seed": 42, "save_total_limit": null, ...}'      # keeps every checkpoint
    python benchmarks/relation_checkpoints.py --corpus ddi --entity-text type \
        --runs /tmp/ddi_s42 /tmp/ddi_s43 --output /tmp/ddi_checkpoints

Each run is a ``relation_student.py`` output directory trained with ``"save_total_limit": null``
(every epoch's checkpoint kept). For every checkpoint the label distributions of the run's own
selection split (rebuilt from the seed and fraction in its ``result.json``) and of the test set
are computed once and cached in ``<run>/checkpoint_probabilities/`` (``.npz``). The rules, each
chosen on the selection split or fixed in advance, never on test:

* ``best_dev_macro``: the checkpoint with the best dev positive macro-F1 (the training rule);
* ``best_dev_micro``: the one with the best dev positive micro-F1 (the reported metric);
* ``last``: the final checkpoint;
* ``snapshot_last_k``: the distributions of the last ``k`` checkpoints averaged (a snapshot
  ensemble: one training run, ``k`` models at prediction);
* ``weights_last_k``: the weights of the last ``k`` checkpoints averaged (one model; left out
  with ``--no-weight-averages``, which then scores nothing but the checkpoints themselves);

``--from-epoch`` and ``--every`` choose which checkpoints take part (e.g. ``--every 2`` keeps the
epoch ends of a run checkpointed every half epoch); the caches are per checkpoint, so runs scored
with different choices share them.

and, over several runs, the same rule's distributions averaged over the runs (an ensemble of
seeds). Per-checkpoint test scores are printed as a diagnostic only. Prints one JSON object and
writes it to ``<output>/result.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from relation_student import (
    add_corpus_arguments,
    machine,
    score_predictions,
    splits_as_trained,
    write_result,
)

from bioie_kedro.encoder_training import average_checkpoint_weights, checkpoints_by_step
from bioie_kedro.relation_extraction.classifier import (
    RelationClassifier,
    classification_scores,
    relation_probabilities,
)

CACHE = "checkpoint_probabilities"


def distributions(
    classifier: RelationClassifier,
    files: list[Path],
    cache: Path,
    texts: dict[str, list[str]],
    batch_size: int,
    bf16: bool,
) -> dict[str, np.ndarray]:
    """Dev and test distributions of the weights in ``files`` (averaged when several), cached.

    The cache file's name carries a fingerprint of the texts, so a run scored on other examples
    (``--limit-documents``, another ``--entity-text``) never reads or replaces another's cache; a
    file from before the fingerprint (``cache`` itself) is read when its sizes match.
    """
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()[:12]
    fingerprinted = cache.with_name(f"{cache.stem}-{digest}.npz")
    for stored_at in (fingerprinted, cache):
        if stored_at.exists():
            with np.load(stored_at) as stored:
                if all(stored[split].shape[0] == len(texts[split]) for split in texts):
                    return {split: stored[split] for split in texts}
    cache = fingerprinted
    average_checkpoint_weights(classifier.model, [file.parent for file in files])
    out = {}
    for split, split_texts in texts.items():
        out[split], _ = relation_probabilities(
            classifier, split_texts, batch_size=batch_size, bf16=bf16
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial.npz")
    np.savez(partial, **out)
    partial.replace(cache)
    return out


def checkpoint_epoch(checkpoint: Path) -> float:
    """The epoch at which ``checkpoint`` was saved, from its ``trainer_state.json``."""
    return float(json.loads((checkpoint / "trainer_state.json").read_text())["epoch"])


def chosen_checkpoints(directory: Path, from_epoch: float = 0.0, every: int = 1) -> list[Path]:
    """The checkpoints of ``directory`` in step order, those saved before ``from_epoch`` left out,
    then every ``every``-th one counted back from the last (which is always kept)."""
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every}")
    kept = [c for c in checkpoints_by_step(directory) if checkpoint_epoch(c) >= from_epoch - 1e-6]
    return kept[::-1][::every][::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser)
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--last", type=int, nargs="+", default=[2, 3], help="k of the snapshot / weight rules"
    )
    parser.add_argument(
        "--from-epoch",
        type=float,
        default=0.0,
        help="only the checkpoints saved at this epoch or later (from their trainer_state.json)",
    )
    parser.add_argument(
        "--every",
        type=int,
        default=1,
        help="every n-th checkpoint counted back from the last (2 with half-epoch checkpoints: "
        "the epoch ends)",
    )
    parser.add_argument(
        "--bf16", action="store_true", help="predict under bf16 autocast (as training evaluates)"
    )
    parser.add_argument(
        "--no-weight-averages",
        action="store_true",
        help="leave out the weights_last_k rules (k checkpoints averaged into one more model per "
        "run to score); every other rule reads only the checkpoints' own distributions",
    )
    args = parser.parse_args()

    trained = {run: json.loads((run / "result.json").read_text()) for run in args.runs}
    for run in args.runs:
        if len(checkpoints_by_step(run / "checkpoints")) < 2:
            parser.error(f"{run}: fewer than two checkpoints (train with save_total_limit null)")
    (_, (dev_rows, _), (test_rows, test_counts)), selection = splits_as_trained(
        parser, args, trained
    )
    texts = {"dev": [r["text"] for r in dev_rows], "test": [r["text"] for r in test_rows]}
    gold = {"dev": [r["label"] for r in dev_rows], "test": [r["label"] for r in test_rows]}
    unreachable = test_counts["gold_relations_unreachable"]
    suffix = "-bf16" if args.bf16 else ""

    def test_score(probabilities: np.ndarray, labels: list[str]) -> dict[str, object]:
        predicted = [labels[i] for i in probabilities.argmax(-1)]
        return score_predictions(gold["test"], predicted, unreachable)

    def dev_scores(probabilities: np.ndarray, labels: list[str]) -> dict[str, float]:
        predicted = [labels[i] for i in probabilities.argmax(-1)]
        scores = classification_scores(gold["dev"], predicted)
        return {k: round(scores[k], 4) for k in ("positive_macro_f1", "positive_micro_f1")}

    started = time.perf_counter()
    per_run, rules_by_run, labels = [], [], None
    for run in args.runs:
        classifier = RelationClassifier.load(run / "final")
        if labels is None:
            labels = classifier.labels
        elif classifier.labels != labels:
            parser.error(f"{run}: labels {classifier.labels}, not {labels}")
        checkpoints = chosen_checkpoints(run / "checkpoints", args.from_epoch, args.every)
        if len(checkpoints) < max(2, *args.last):
            parser.error(
                f"{run}: {len(checkpoints)} checkpoints chosen (--from-epoch {args.from_epoch}, "
                f"--every {args.every}); the rules need {max(2, *args.last)}"
            )
        weight_files = [c / "model.safetensors" for c in checkpoints]
        cache = run / CACHE
        each = [
            distributions(
                classifier,
                [f],
                cache / f"{f.parent.name}{suffix}.npz",
                texts,
                args.batch_size,
                args.bf16,
            )
            for f in weight_files
        ]
        diagnostics = [
            {
                "checkpoint": f.parent.name,
                "dev": dev_scores(d["dev"], labels),
                "test_positive_micro_f1 (diagnostic)": test_score(d["test"], labels)[
                    "positive_micro_f1"
                ],
            }
            for f, d in zip(weight_files, each, strict=True)
        ]
        macro = max(range(len(each)), key=lambda i: diagnostics[i]["dev"]["positive_macro_f1"])
        micro = max(range(len(each)), key=lambda i: diagnostics[i]["dev"]["positive_micro_f1"])
        rules = {
            "best_dev_macro": each[macro],
            "best_dev_micro": each[micro],
            "last": each[-1],
        }
        for k in args.last:
            if k > len(each):
                continue
            rules[f"snapshot_last_{k}"] = {
                split: np.mean([d[split] for d in each[-k:]], axis=0) for split in texts
            }
            if args.no_weight_averages:
                continue
            rules[f"weights_last_{k}"] = distributions(
                classifier,
                weight_files[-k:],
                cache
                / (
                    "weights-"
                    + "+".join(f.parent.name.removeprefix("checkpoint-") for f in weight_files[-k:])
                    + f"{suffix}.npz"
                ),
                texts,
                args.batch_size,
                args.bf16,
            )
        rules_by_run.append(rules)
        per_run.append(
            {
                "run": str(run),
                "seed": trained[run]["settings"]["seed"],
                "checkpoints": diagnostics,
                "rules": {
                    name: {
                        "dev": dev_scores(d["dev"], labels),
                        "test": test_score(d["test"], labels),
                    }
                    for name, d in rules.items()
                },
            }
        )
    names = [n for n in rules_by_run[0] if all(n in r for r in rules_by_run)]
    ensembles = {}
    if len(args.runs) > 1:
        for name in names:
            mean = {
                split: np.mean([r[name][split] for r in rules_by_run], axis=0) for split in texts
            }
            ensembles[name] = {
                "dev": dev_scores(mean["dev"], labels),
                "test": test_score(mean["test"], labels),
            }
    summary = {
        name: {
            "runs_test_positive_micro_f1": [
                r["rules"][name]["test"]["positive_micro_f1"] for r in per_run
            ],
            "mean": round(
                float(np.mean([r["rules"][name]["test"]["positive_micro_f1"] for r in per_run])), 4
            ),
            "ensemble": ensembles.get(name, {}).get("test", {}).get("positive_micro_f1"),
        }
        for name in names
    }
    result = {
        "corpus": args.corpus,
        "entity_text": args.entity_text,
        "same_text_pairs": args.same_text_pairs,
        "limit_documents": args.limit_documents,
        "bf16": args.bf16,
        "from_epoch": args.from_epoch,
        "every": args.every,
        "weight_averages": not args.no_weight_averages,
        "summary_test_positive_micro_f1": summary,
        "runs": per_run,
        "ensembles": ensembles,
        "dev_split": {**selection, "examples": len(dev_rows)},
        "test_examples": len(test_rows),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    write_result(args.output, result)


if __name__ == "__main__":
    main()
