"""The distilled relation student: the project's decoder labels DDI sentences, an encoder learns
from its labels; the same student on the gold labels of the same sentences measures the cost.

Design (one process, the package functions of ``synthetic_labels``; DDI from ../shared/data):

1. The DDI training documents are split by document, seeded: a *teacher* share (gold visible) and
   a *pool* (gold hidden from the teacher and the synthetic student).
2. **Teacher**: a small Llama built from a config, with a byte-level BPE trained on the teacher's
   examples (``scratch:llama``; any causal LM by ``--teacher-model``), fine-tuned with
   ``train_sft`` on the teacher share's sentences, each rendered with the annotation prompt and
   answered with its gold relations (:mod:`bioie_kedro.annotation.teacher`) — the format the
   annotator is asked in.
3. **Annotation**: the teacher answers every pool sentence's prompt through the annotation
   runner (``DecoderAnnotator``, answers cached on disk by prompt hash, so a rerun resumes); each
   answer is validated (entities listed, relation allowed for the types), rejections counted.
   The teacher's accepted triples are scored against the pool's hidden gold (pair level).
4. **Students**: the relation classifier (bundled MiniLM, markers, class-weighted loss) trained
   on the pool's candidate pairs labelled (a) by the teacher, selected on a teacher-labelled
   validation share of the pool — what a user without gold has — and (b) by the gold relations,
   selected on the gold of the same share. Both are scored on the DDI test set (micro-F1 over the
   positive classes).

    python benchmarks/distilled_student.py --output /tmp/distil \
        [--teacher-settings '{"max_steps": 600, "learning_rate": 3e-4}'] \
        [--student-settings '{"num_train_epochs": 3}'] [--students synthetic gold]

Writes ``<output>/result.json`` (``result_<student>.json`` when one student is asked for, so the
two students can run in two processes side by side); stages already done (teacher model, cached answers, a student's
``result``) are reused when the command is run again with the same ``--output``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from relation_student import CORPORA, machine

from bioie_kedro.annotation.backends import DecoderAnnotator
from bioie_kedro.annotation.cache import AnswerCache
from bioie_kedro.annotation.prompts import relation_prompt, validate_answer
from bioie_kedro.annotation.runner import annotate_with_cache
from bioie_kedro.annotation.teacher import teacher_examples
from bioie_kedro.decoders.build import BaseModelSettings, CausalLM, build_base_model
from bioie_kedro.decoders.sft import SFTExample, SFTSettings, train_sft
from bioie_kedro.relation_extraction import RelationSpec, sentence_units
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

CORPUS = "ddi"
#: The gold-student recipe of docs/benchmarks.md (DDI 68.66), overridden by --student-settings
STUDENT_DEFAULTS = {
    "learning_rate": 1e-4,
    "num_train_epochs": 3,
    "max_length": 128,
    "early_stopping_patience": 2,
    "logging_steps": 100,
}


def load_units(root: Path, split: str, spec: RelationSpec, limit: int | None) -> list[dict]:
    """Per document: its key, sentence units and gold pair labels."""
    config = CORPORA[CORPUS]
    docs = config["reader"](root / config["splits"][split], source=CORPUS, split=split).documents
    out = []
    for doc in docs[:limit] if limit else docs:
        units, _ = sentence_units(segment_document(doc), entity_types=spec.entity_types)
        labels, _ = gold_pair_labels(doc, units)
        out.append({"key": f"{doc.source}/{doc.split}/{doc.id}", "units": units, "labels": labels})
    return out


def pool_gold(docs: list[dict]) -> dict[str, dict]:
    """Sentence key → gold pair labels of ``docs``."""
    return {key: value for doc in docs for key, value in doc["labels"].items()}


def rows_for(docs: list[dict], labels: dict[str, dict], spec: RelationSpec) -> list[dict]:
    rows = []
    for doc in docs:
        doc_rows, _ = relation_examples(
            doc["units"], labels, spec, pair_order=CORPORA[CORPUS]["pair_order"]
        )
        rows += doc_rows
    return rows


def train_teacher(
    docs: list[dict], spec: RelationSpec, args: argparse.Namespace
) -> tuple[CausalLM, dict]:
    labels = pool_gold(docs)
    units = [unit for doc in docs for unit in doc["units"]]
    pairs, counts = teacher_examples(units, spec, labels)
    settings = SFTSettings.from_dict(
        {
            "learning_rate": 3e-4,
            "max_steps": 600,
            "per_device_train_batch_size": 16,
            "warmup_steps": 0.03,
            "max_length": 512,
            "logging_steps": 25,
            "save_strategy": "steps",
            "save_steps": 100,
            **json.loads(args.teacher_settings),
        }
    )
    examples = [SFTExample(messages=prompt.messages, answer=answer) for prompt, answer in pairs]
    # a scratch:llama teacher trains its byte-level BPE on the teacher's own prompts and answers
    texts = [m["content"] for e in examples for m in e.messages] + [e.answer for e in examples]
    base = build_base_model(
        BaseModelSettings(model_name_or_path=args.teacher_model, seed=args.seed), texts
    )
    teacher = train_sft(
        base, examples, settings, output_dir=args.output / "teacher_checkpoints", resume=True
    )
    teacher.save(args.output / "teacher")
    return teacher, {"examples": dict(sorted(counts.items())), "training": teacher.training_log}


def annotate_pool(
    teacher: CausalLM, docs: list[dict], spec: RelationSpec, args: argparse.Namespace
) -> tuple[dict[str, dict], dict]:
    """Teacher labels of every pool sentence, with validation counts and scores against gold."""
    units = [unit for doc in docs for unit in doc["units"]]
    prompted = [(unit, prompt) for unit in units if (prompt := relation_prompt(unit, spec))]
    annotator = DecoderAnnotator(
        teacher.model,
        teacher.tokenizer,
        generation={"max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size},
        model_id=f"distilled-student-teacher:{args.output}",
    )
    started = time.perf_counter()
    with AnswerCache(args.output / "answers.sqlite") as cache:
        answers, _, stats = annotate_with_cache(
            [prompt for _, prompt in prompted], annotator, cache, batch_size=256
        )
    seconds = time.perf_counter() - started
    labels: dict[str, dict] = {}
    problems: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for (unit, _), answer in zip(prompted, answers, strict=True):
        validated = validate_answer(unit, spec, answer)
        problems[validated.problem or "well_formed"] += 1
        rejected.update(validated.rejected)
        labels[unit.key] = {(head, tail): rel for rel, head, tail in validated.accepted}
    gold = pool_gold(docs)
    predicted_set = {(k, pair, rel) for k, pairs in labels.items() for pair, rel in pairs.items()}
    gold_set = {(k, pair, rel) for k, pairs in gold.items() for pair, rel in pairs.items()}
    tp = len(predicted_set & gold_set)
    precision = tp / len(predicted_set) if predicted_set else 0.0
    recall = tp / len(gold_set) if gold_set else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    report = {
        "prompts": len(prompted),
        "sentences_without_candidate_pair": len(units) - len(prompted),
        "seconds": round(seconds, 1),
        "run": stats.as_dict(),
        "answers": dict(problems),
        "rejected_triples": dict(sorted(rejected.items())),
        "accepted_triples": len(predicted_set),
        "gold_triples": len(gold_set),
        "teacher_vs_gold": {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
        },
    }
    return labels, report


def train_student(
    name: str,
    pool_train: list[dict],
    pool_dev: list[dict],
    labels: dict[str, dict],
    test_rows: list[dict],
    spec: RelationSpec,
    args: argparse.Namespace,
) -> dict[str, Any]:
    result_file = args.output / f"student_{name}" / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    train_rows = rows_for(pool_train, labels, spec)
    dev_rows = rows_for(pool_dev, labels, spec)
    names = label_names(train_rows + dev_rows + test_rows)
    dataset = to_dataset_dict(
        {"train": train_rows, "validation": dev_rows, "test": test_rows}, names
    )
    settings = RelationTrainingSettings(**{**STUDENT_DEFAULTS, **json.loads(args.student_settings)})
    student = train_relation_classifier(
        dataset, settings, output_dir=args.output / f"student_{name}" / "checkpoints"
    )
    predicted, _, _ = predict_relation_labels(
        student, dataset["test"]["text"], batch_size=settings.per_device_eval_batch_size
    )
    gold = [names[i] for i in dataset["test"]["label"]]
    scores = classification_scores(gold, predicted)
    result = {
        "labels_from": name,
        "train_examples": len(train_rows),
        "train_positive": sum(r["label"] != "none" for r in train_rows),
        "validation_examples": len(dev_rows),
        "training": {
            key: student.training_log.get(key)
            for key in ("train_seconds", "global_steps", "best_validation_positive_macro_f1")
        },
        "test": {
            "positive_micro_f1": round(scores["positive_micro_f1"], 4),
            "positive_micro_precision": round(scores["positive_micro_precision"], 4),
            "positive_micro_recall": round(scores["positive_micro_recall"], 4),
            "positive_macro_f1": round(scores["positive_macro_f1"], 4),
            "examples": len(gold),
        },
    }
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--teacher-share", type=float, default=0.5)
    parser.add_argument("--pool-dev-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--teacher-model",
        default="scratch:llama",
        help="scratch:llama (cased byte-level BPE: writes the ids E1, E2 … exactly) or any "
        "causal LM; the uncased MiniLM decoder answers e1 and pads strings with spaces",
    )
    parser.add_argument("--teacher-settings", default="{}", help="JSON overrides of SFTSettings")
    parser.add_argument(
        "--student-settings",
        default="{}",
        help="JSON merged into STUDENT_DEFAULTS (RelationTrainingSettings names)",
    )
    parser.add_argument(
        "--students", nargs="+", choices=["synthetic", "gold"], default=["synthetic", "gold"]
    )
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit-documents", type=int, default=None, help="smoke runs only")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)

    spec = RelationSpec.from_mapping(CORPORA[CORPUS]["spec"])
    train_docs = load_units(args.corpora, "train", spec, args.limit_documents)
    test_docs = load_units(args.corpora, "test", spec, args.limit_documents)
    share = args.teacher_share
    assigned = split_by_document(
        (doc["key"] for doc in train_docs), fractions=(share, 1 - share, 0.0), seed=args.seed
    )
    teacher_docs = [d for d in train_docs if assigned[d["key"]] == "train"]
    pool = [d for d in train_docs if assigned[d["key"]] == "validation"]
    in_pool = split_by_document(
        (doc["key"] for doc in pool),
        fractions=(1 - args.pool_dev_share, args.pool_dev_share, 0.0),
        seed=args.seed,
    )
    pool_train = [d for d in pool if in_pool[d["key"]] == "train"]
    pool_dev = [d for d in pool if in_pool[d["key"]] == "validation"]

    synthetic: dict[str, dict] = {}
    teacher_report: dict[str, Any] = {}
    annotation_report: dict[str, Any] = {}
    if "synthetic" in args.students:  # the gold student alone needs no teacher
        if (args.output / "teacher").is_dir():
            teacher = CausalLM.load(args.output / "teacher")
            teacher_report = {"training": teacher.training_log, "reused": True}
        else:
            teacher, teacher_report = train_teacher(teacher_docs, spec, args)
        synthetic, annotation_report = annotate_pool(teacher, pool, spec, args)
    gold = pool_gold(pool)
    test_labels = pool_gold(test_docs)
    test_rows = rows_for(test_docs, test_labels, spec)
    students = {
        name: train_student(
            name,
            pool_train,
            pool_dev,
            synthetic if name == "synthetic" else gold,
            test_rows,
            spec,
            args,
        )
        for name in args.students
    }
    result = {
        "corpus": CORPUS,
        "documents": {
            "teacher": len(teacher_docs),
            "pool_train": len(pool_train),
            "pool_dev": len(pool_dev),
            "test": len(test_docs),
        },
        "teacher": teacher_report,
        "annotation": annotation_report,
        "students": students,
        "machine": machine(),
    }
    name = "result.json" if len(args.students) == 2 else f"result_{args.students[0]}.json"
    (args.output / name).write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "teacher"}, indent=2, default=str))


if __name__ == "__main__":
    main()
