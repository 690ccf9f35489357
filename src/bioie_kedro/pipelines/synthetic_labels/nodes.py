"""Nodes of synthetic_labels: sentences → LLM answers (cached) → validated triples → relation
dataset → student → predictions → scores (``../shared/METHODS.md`` D)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bioie_kedro.annotation import (
    ANSWER_PROBLEMS,
    REJECTION_REASONS,
    AnswerCache,
    ApiKey,
    annotate_with_cache,
    build_annotator,
    relation_prompt,
    validate_answer,
)
from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.metrics import score_relations
from bioie_kedro.pipelines.synthetic_labels.params import SyntheticLabelsParams
from bioie_kedro.relation_extraction.candidates import SentenceUnit, sentence_units
from bioie_kedro.relation_extraction.classifier import (
    RelationClassifier,
    RelationClassifierEnsemble,
    classification_scores,
    documents_with_predicted_relations,
    predict_relation_labels,
    train_relation_classifier,
    train_relation_ensemble,
    tune_decision_threshold,
)
from bioie_kedro.relation_extraction.examples import (
    SPLITS,
    filter_rare_labels,
    label_names,
    relation_examples,
    split_by_document,
    to_dataset_dict,
)
from bioie_kedro.schema import NEGATIVE_RELATION, Document

if TYPE_CHECKING:
    from datasets import DatasetDict

logger = logging.getLogger(__name__)


def _units(sentences: Mapping[str, Any]) -> list[SentenceUnit]:
    return [SentenceUnit.from_dict(row) for row in sentences["sentences"]]


def _check_spec(sentences: Mapping[str, Any], settings: SyntheticLabelsParams) -> None:
    if sentences.get("relation_specs") != settings.spec().as_mapping():
        raise ValueError(
            "the selected sentences were made with another relation spec than "
            "synthetic_labels.relation_specs; run the select_sentences node again"
        )


def select_sentences(documents: Partitions, params: dict[str, Any]) -> dict[str, Any]:
    """The sentences to annotate: those with at least one candidate pair, in corpus order, up to
    ``target_sentence_count`` (no further partition or document is read once it is reached).

    Returns:
        ``{"relation_specs", "stats", "sentences": [SentenceUnit.as_dict()]}``.
    """
    settings = SyntheticLabelsParams.parse(params)
    spec = settings.spec()
    target = settings.target_sentence_count
    selected: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    for split in settings.splits:
        if target is not None and len(selected) >= target:
            break
        for doc in load_partition(documents, partition_key(settings.corpus, split)):
            if target is not None and len(selected) >= target:
                break
            stats["documents"] += 1
            units, counts = sentence_units(
                doc, type_map=settings.type_map, entity_types=spec.entity_types
            )
            stats.update(counts)
            for unit in units:
                if target is not None and len(selected) >= target:
                    break
                stats["sentences"] += 1
                if relation_prompt(unit, spec) is None:
                    stats["sentences_without_candidates"] += 1
                    continue
                selected.append(unit.as_dict())
    stats["sentences_selected"] = len(selected)
    report = {
        **dict(sorted(stats.items())),
        "target_sentence_count": target,
        "target_reached": target is not None and len(selected) >= target,
    }
    logger.info("Selected %d sentences to annotate: %s", len(selected), report)
    return {"relation_specs": spec.as_mapping(), "stats": report, "sentences": selected}


def annotate_sentences(
    sentences: dict[str, Any],
    api_key: ApiKey,
    params: dict[str, Any],
    decoder_model: Any = None,
) -> dict[str, Any]:
    """Ask the annotator about every selected sentence; answers come from the cache when stored.

    ``decoder_model`` (the catalog's fine-tuned decoder; absent from the ``server`` form of the
    pipeline) is used by the ``transformers`` backend only, ``api_key`` by ``http`` only.

    Returns:
        ``{"model", "backend", "run", "answers": [{"sentence_key", "prompt_sha256", "answer",
        "from_cache"}]}``.
    """
    settings = SyntheticLabelsParams.parse(params)
    _check_spec(sentences, settings)
    spec = settings.spec()
    units = _units(sentences)
    prompts = [relation_prompt(unit, spec) for unit in units]
    if any(prompt is None for prompt in prompts):
        raise ValueError("a selected sentence has no candidate pair; run select_sentences again")
    options = settings.annotator
    if (
        options.backend == "transformers"
        and decoder_model is None
        and not options.decoder_name_or_path
    ):
        raise ValueError(
            "the transformers annotator backend needs decoder_model: run the synthetic_labels "
            "pipeline (not synthetic_labels_server), or set annotator.decoder_name_or_path"
        )
    annotator = build_annotator(
        options.backend,
        http=options.http.settings(),
        vllm=options.vllm.settings(),
        generation=options.generation,
        decoder=decoder_model if options.backend == "transformers" else None,
        decoder_name_or_path=options.decoder_name_or_path,
        api_key=api_key,
        model_id=options.model_id,
    )
    with AnswerCache(options.cache_path) as cache:
        answers, from_cache, stats = annotate_with_cache(
            prompts, annotator, cache, batch_size=options.batch_size
        )
    return {
        "model": annotator.cache_model,
        "backend": options.backend,
        "run": stats.as_dict(),
        "answers": [
            {
                "sentence_key": unit.key,
                "prompt_sha256": prompt.sha256,
                "answer": answer,
                "from_cache": cached,
            }
            for unit, prompt, answer, cached in zip(
                units, prompts, answers, from_cache, strict=True
            )
        ],
    }


def validate_annotations(
    sentences: dict[str, Any], annotations: dict[str, Any], params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse every answer strictly and check every triple (listed entities, spec by types).

    Returns:
        The triples (``{"sentences": [...]}``, one entry per sentence with its accepted relations,
        rejections and whether the sentence is usable for the dataset) and the annotation report
        (selection counts, the run, answer problems and rejected triples by reason).
    """
    settings = SyntheticLabelsParams.parse(params)
    _check_spec(sentences, settings)
    spec = settings.spec()
    units = {unit.key: unit for unit in _units(sentences)}
    answers = {row["sentence_key"]: row["answer"] for row in annotations["answers"]}
    missing = set(units) - set(answers)
    if missing:
        raise ValueError(
            f"{len(missing)} selected sentences have no answer (e.g. {sorted(missing)[0]}); "
            "run annotate_sentences again"
        )
    problems: Counter[str] = Counter(dict.fromkeys(ANSWER_PROBLEMS, 0))
    rejected: Counter[str] = Counter(dict.fromkeys(REJECTION_REASONS, 0))
    per_relation: Counter[str] = Counter()
    proposed = accepted = with_rejections = usable = 0
    rows = []
    for key, unit in units.items():
        result = validate_answer(unit, spec, answers[key])
        if result.problem:
            problems[result.problem] += 1
        rejected.update(result.rejected)
        per_relation.update(relation for relation, _, _ in result.accepted)
        proposed += result.proposed
        accepted += len(result.accepted)
        with_rejections += bool(result.rejected)
        is_usable = result.problem is None and (
            settings.dataset.keep_sentences_with_rejected_triples or not result.rejected
        )
        usable += is_usable
        rows.append({**result.as_dict(), "usable": is_usable})
    report = {
        "selection": sentences["stats"],
        "annotation": {
            "model": annotations["model"],
            "backend": annotations["backend"],
            "run": annotations["run"],
        },
        "answers": {
            "sentences": len(units),
            "well_formed": len(units) - sum(problems.values()),
            **dict(problems),
            "sentences_with_rejected_triples": with_rejections,
            "usable_sentences": usable,
        },
        "triples": {
            "proposed": proposed,
            "accepted": accepted,
            "rejected": sum(rejected.values()),
            "rejected_by_reason": dict(rejected),
            "accepted_by_relation": dict(sorted(per_relation.items())),
        },
    }
    logger.info("Validated answers: %s; triples: %s", report["answers"], report["triples"])
    return {"sentences": rows}, report


def build_relation_dataset(
    sentences: dict[str, Any], triples: dict[str, Any], params: dict[str, Any]
) -> tuple[DatasetDict, dict[str, Any]]:
    """Candidate pairs of the usable sentences, labelled with the accepted triples or ``none``,
    rare relations dropped, split 60/20/20 by document, as a Hugging Face ``DatasetDict``.

    Raises:
        ValueError: no example is left, or a split would be empty.
    """
    settings = SyntheticLabelsParams.parse(params)
    _check_spec(sentences, settings)
    spec = settings.spec()
    options = settings.dataset
    usable = {row["sentence_key"]: row for row in triples["sentences"] if row["usable"]}
    units = [unit for unit in _units(sentences) if unit.key in usable]
    labels = {
        key: {(t["head"], t["tail"]): t["relation"] for t in row["relations"]}
        for key, row in usable.items()
    }
    rows, counts = relation_examples(
        units,
        labels,
        spec,
        pair_order=options.pair_order,
        entity_text=options.entity_text,
        same_text_pairs=options.same_text_pairs,
    )
    label_counts = Counter(row["label"] for row in rows)
    rows, dropped = filter_rare_labels(rows, options.min_sample_count)
    if not rows:
        raise ValueError(
            "no relation example is left (see synthetic_annotation_report: were the answers usable?)"
        )
    assignment = split_by_document(
        (row["document_key"] for row in rows), fractions=options.split_fractions, seed=options.seed
    )
    by_split = {
        split: [r for r in rows if assignment[r["document_key"]] == split] for split in SPLITS
    }
    empty = [split for split, split_rows in by_split.items() if not split_rows]
    if empty:
        raise ValueError(
            f"split(s) {empty} have no examples ({len(assignment)} documents); annotate more "
            "sentences or change dataset.split_fractions"
        )
    names = label_names(rows)
    dataset = to_dataset_dict(by_split, names)
    report = {
        **dict(sorted(counts.items())),
        "examples_before_filter": sum(label_counts.values()),
        "label_counts_before_filter": dict(sorted(label_counts.items())),
        "min_sample_count": options.min_sample_count,
        "dropped_labels": dropped,
        "examples_dropped": sum(dropped.values()),
        "labels": names,
        "splits": {
            split: {
                "documents": sum(1 for s in assignment.values() if s == split),
                "examples": len(split_rows),
                "label_counts": dict(sorted(Counter(r["label"] for r in split_rows).items())),
            }
            for split, split_rows in by_split.items()
        },
    }
    logger.info("Relation dataset: %s", {s: v["examples"] for s, v in report["splits"].items()})
    return dataset, report


def train_student(
    relation_dataset: DatasetDict, params: dict[str, Any]
) -> RelationClassifier | RelationClassifierEnsemble:
    """Fine-tune the student on ``train``, selecting on ``validation`` by positive macro-F1; with
    ``student.ensemble_seeds``, one student per seed, returned as an ensemble; with
    ``student.tune_none_scale``, its decision threshold chosen on ``validation``."""
    settings = SyntheticLabelsParams.parse(params)
    if settings.student.ensemble_seeds:
        student = train_relation_ensemble(
            relation_dataset,
            settings.student.settings(),
            settings.student.ensemble_seeds,
            output_dir=settings.trainer_output_dir,
            resume=settings.resume,
        )
    else:
        student = train_relation_classifier(
            relation_dataset,
            settings.student.settings(),
            output_dir=settings.trainer_output_dir,
            resume=settings.resume,
        )
    if settings.student.tune_none_scale:
        validation = relation_dataset["validation"]
        names = validation.features["label"].names
        tune_decision_threshold(
            student,
            validation["text"],
            [names[i] for i in validation["label"]],
            batch_size=settings.prediction_batch_size,
            bf16=settings.prediction_bf16,
        )
    return student


def _document_key(doc: Document) -> str:
    return f"{doc.source}/{doc.split}/{doc.id}"


def _test_documents(
    documents: Partitions, relation_dataset: DatasetDict, settings: SyntheticLabelsParams
) -> dict[str, list[Document]]:
    """Per corpus partition, the documents of the synthetic test split."""
    wanted = set(relation_dataset["test"]["document_key"])
    out = {}
    for split in settings.splits:
        key = partition_key(settings.corpus, split)
        docs = [d for d in load_partition(documents, key) if _document_key(d) in wanted]
        if docs:
            out[key] = docs
    return out


def predict_relations(
    student: RelationClassifier | RelationClassifierEnsemble,
    relation_dataset: DatasetDict,
    documents: Partitions,
    params: dict[str, Any],
) -> dict[str, list[Document]]:
    """The student's relations on the test-split documents (mention-level, with probabilities),
    one partition per corpus partition they come from."""
    settings = SyntheticLabelsParams.parse(params)
    test = relation_dataset["test"]
    rows = test.to_list()
    predicted, scores, stats = predict_relation_labels(
        student,
        test["text"],
        batch_size=settings.prediction_batch_size,
        bf16=settings.prediction_bf16,
    )
    logger.info(
        "Predicted %d test pairs, %.0f pairs/s (none_scale %.3g)",
        stats.examples,
        stats.examples_per_second,
        student.none_scale,
    )
    return {
        key: documents_with_predicted_relations(docs, rows, predicted, scores=scores)
        for key, docs in _test_documents(documents, relation_dataset, settings).items()
    }


def _pooled(partitions: Mapping[str, list[Document]]) -> list[Document]:
    """All partitions in one list, ids made unique by their partition (ids repeat across splits)."""
    return [
        replace(doc, id=f"{key}/{doc.id}") for key in sorted(partitions) for doc in partitions[key]
    ]


def _with_relation_map(docs: list[Document], relation_map: Mapping[str, str]) -> list[Document]:
    return [
        replace(
            doc,
            relations=[
                replace(r, type=relation_map[r.type])
                for r in doc.relations
                if r.type in relation_map
            ],
        )
        for doc in docs
    ]


def evaluate_student(
    relation_dataset: DatasetDict,
    predictions: Partitions,
    documents: Partitions,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Scores of the student on the synthetic test split.

    * ``classification``: per example (candidate pair), positive micro/macro F1 and per label;
    * ``relations_vs_synthetic``: :func:`~bioie_kedro.metrics.score_relations` of the predicted
      relations against the synthetic test labels (mention level, bootstrap over documents);
    * with ``evaluation.gold_relation_map``: predictions and synthetic labels, relations renamed by
      the map, scored against the corpus's own relations (``gold_relation_mode``) on the same
      documents, which measures what the synthetic labels cost.
    """
    settings = SyntheticLabelsParams.parse(params)
    options = settings.evaluation
    predicted = {key: load_partition(predictions, key, name="predictions") for key in predictions}
    rows = relation_dataset["test"].to_list()
    names = relation_dataset["test"].features["label"].names
    by_doc = {_document_key(d): d for docs in predicted.values() for d in docs}
    predicted_labels = []
    for row in rows:
        doc = by_doc.get(row["document_key"])
        labels = {
            (r.arg1_id, r.arg2_id): r.type for r in (doc.relations if doc is not None else [])
        }
        predicted_labels.append(labels.get((row["head_id"], row["tail_id"]), NEGATIVE_RELATION))
    gold_labels = [names[row["label"]] for row in rows]

    silver: dict[str, list[Document]] = {}
    for key, docs in predicted.items():
        silver[key] = documents_with_predicted_relations(docs, rows, gold_labels)
    score_options = {"bootstrap": options.bootstrap, "seed": options.seed}
    metrics: dict[str, Any] = {
        "test_examples": len(rows),
        "test_documents": sum(len(docs) for docs in predicted.values()),
        "classification": classification_scores(gold_labels, predicted_labels),
        "relations_vs_synthetic": score_relations(
            _pooled(silver), _pooled(predicted), mode="mention", **score_options
        ).as_dict(),
    }
    if options.gold_relation_map:
        wanted = {key: {_document_key(d) for d in docs} for key, docs in predicted.items()}
        gold = {
            key: [d for d in load_partition(documents, key) if _document_key(d) in wanted[key]]
            for key in predicted
        }
        mapped = options.gold_relation_map
        metrics["gold_relation_map"] = dict(mapped)
        for name, system in (("student_vs_gold", predicted), ("synthetic_vs_gold", silver)):
            metrics[name] = score_relations(
                _pooled(gold),
                _with_relation_map(_pooled(system), mapped),
                mode=options.gold_relation_mode,
                **score_options,
            ).as_dict()
    logger.info(
        "Student on the synthetic test split: positive micro-F1 %.3f, macro-F1 %.3f",
        metrics["classification"]["positive_micro_f1"],
        metrics["classification"]["positive_macro_f1"],
    )
    return metrics
