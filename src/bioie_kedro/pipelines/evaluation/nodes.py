"""Nodes of the evaluation pipeline: score a system, write its tables and plots, compare systems."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bioie_kedro.datasets.partitions import Partitions, load_partition
from bioie_kedro.metrics import (
    SCHEMES,
    records_from_documents,
    score_entities,
    score_relations,
    score_strings,
)
from bioie_kedro.pipelines.evaluation.params import EvaluationParams, SystemParams
from bioie_kedro.schema import Document

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def evaluate_system(
    predictions: Partitions, documents: Partitions, params: dict[str, Any], system: dict[str, Any]
) -> dict[str, Any]:
    """Score every ``<corpus>/<split>`` partition a system predicted against the gold documents.

    Returns:
        ``{"label", "tasks", "partitions": {key: {"corpus", "split", "ner", "relations"}}}``
        with the scores of :func:`bioie_kedro.metrics.score_entities` (SemEval schemes, per type,
        per entity length, bootstrap intervals) and, for systems that extract relations,
        :func:`bioie_kedro.metrics.score_relations`.
    """
    settings = EvaluationParams.parse(params)
    spec = SystemParams.model_validate(system)
    partitions: dict[str, Any] = {}
    for key in sorted(predictions):
        if key not in documents:
            raise KeyError(
                f"{spec.label}: predictions for {key!r}, but documents has no such partition"
            )
        corpus, _, split = key.partition("/")
        corpus_settings = settings.corpus(corpus)
        gold = load_partition(documents, key)
        predicted = load_partition(predictions, key, name=f"{spec.label} predictions")
        result: dict[str, Any] = {
            "corpus": corpus,
            "split": split,
            "ner": None,
            "relations": None,
            "strings": None,
        }
        if "ner" in spec.tasks:
            result["ner"] = score_entities(
                gold,
                predicted,
                types=corpus_settings.types,
                type_map=corpus_settings.type_map,
                bootstrap=settings.bootstrap,
                seed=settings.seed,
            ).as_dict()
            strict = result["ner"]["micro"]["strict"]
            logger.info("%s on %s: strict F1 %.4f", spec.label, key, strict["f1"])
        if "relations" in spec.tasks:
            result["relations"] = score_relations(
                gold,
                predicted,
                mode=corpus_settings.relation_mode,
                bootstrap=settings.bootstrap,
                seed=settings.seed,
            ).as_dict()
        if "strings" in spec.tasks:
            records = records_from_documents(gold, predicted, type_map=corpus_settings.type_map)
            result["strings"] = score_strings(
                records,
                matching=settings.string_matching,
                normalize=settings.string_normalize,
                bootstrap=settings.bootstrap,
                seed=settings.seed,
            ).as_dict()
        partitions[key] = result
    return {"label": spec.label, "tasks": spec.tasks, "partitions": partitions}


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _ci(scores: Mapping[str, Any]) -> str:
    ci = scores.get("f1_ci")
    return f"{_pct(ci[0])}–{_pct(ci[1])}" if ci else "–"


def render_metrics_table(metrics: Mapping[str, Any]) -> str:
    """A markdown report of one system: schemes, per-type and per-length scores, relations."""
    lines = [
        f"# {metrics['label']}",
        "",
        "Scores in %; intervals are 95 % bootstrap intervals over documents.",
        "",
    ]
    for key, result in metrics["partitions"].items():
        lines += [f"## {key}", ""]
        ner = result.get("ner")
        if ner:
            lines += ["| scheme | precision | recall | F1 | F1 interval |", "|---|---|---|---|---|"]
            for scheme in SCHEMES:
                s = ner["micro"][scheme]
                lines.append(
                    f"| {scheme} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | {_ci(s)} |"
                )
            lines += [
                "",
                "| type | strict P | strict R | strict F1 | partial F1 |",
                "|---|---|---|---|---|",
            ]
            for etype, by_scheme in sorted(ner["per_type"].items()):
                s, p = by_scheme["strict"], by_scheme["partial"]
                lines.append(
                    f"| {etype} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | {_pct(p['f1'])} |"
                )
            lines += [
                "",
                "| length (tokens) | strict F1 | partial F1 | gold entities |",
                "|---|---|---|---|",
            ]
            for bucket, by_scheme in ner["by_length"].items():
                lines.append(
                    f"| {bucket} | {_pct(by_scheme['strict']['f1'])} | {_pct(by_scheme['partial']['f1'])} | "
                    f"{by_scheme['strict'].get('possible', '–')} |"
                )
            lines.append("")
        relations = result.get("relations")
        if relations:
            micro = relations["micro"]
            lines += [
                "| relations | precision | recall | F1 | F1 interval |",
                "|---|---|---|---|---|",
                f"| micro | {_pct(micro['precision'])} | {_pct(micro['recall'])} | {_pct(micro['f1'])} | {_ci(micro)} |",
            ]
            for rtype, s in sorted(relations.get("per_type", {}).items()):
                lines.append(
                    f"| {rtype} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | – |"
                )
            lines.append("")
        strings = result.get("strings")
        if strings:
            pooled = strings["pooled"]
            lines += [
                f"String level ({strings['matching']} matching, normalised: {strings['normalize']}): "
                f"P {_pct(pooled['precision'])}, R {_pct(pooled['recall'])}, F1 {_pct(pooled['f1'])} "
                f"[{_ci(pooled)}]; unparsable answers: {pooled['unparsable']} of {pooled['records']}.",
                "",
            ]
    return "\n".join(lines)


def _bar_figure(
    metrics: Mapping[str, Any],
    groups: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    xlabel: str,
) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, r in metrics["partitions"].items() if r.get("ner")]
    fig, axes = plt.subplots(
        1, max(1, len(keys)), figsize=(5 * max(1, len(keys)), 4), squeeze=False
    )
    for ax, key in zip(axes[0], keys, strict=False):
        bars = groups(metrics["partitions"][key]["ner"])
        names = list(bars)
        width = 0.38
        positions = range(len(names))
        for offset, scheme in ((-width / 2, "strict"), (width / 2, "partial")):
            ax.bar(
                [p + offset for p in positions],
                [bars[n][scheme]["f1"] for n in names],
                width,
                label=scheme,
            )
        ax.set_xticks(list(positions), names, rotation=30, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
        ax.set_xlabel(xlabel)
        ax.set_title(key)
        ax.legend()
    fig.suptitle(metrics["label"])
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_f1_per_type(metrics: Mapping[str, Any]) -> Figure:
    """Strict and partial F1 per entity type, one panel per corpus split."""
    return _bar_figure(metrics, lambda ner: dict(sorted(ner["per_type"].items())), "entity type")


def plot_f1_per_length(metrics: Mapping[str, Any]) -> Figure:
    """Strict and partial F1 per gold entity length in tokens (1, 2, 3+)."""
    return _bar_figure(metrics, lambda ner: ner["by_length"], "entity length (tokens)")


def build_comparison(*system_metrics: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """One table across all systems and corpus splits (JSON rows and markdown)."""
    rows = []
    for metrics in system_metrics:
        for key, result in metrics["partitions"].items():
            row: dict[str, Any] = {
                "system": metrics["label"],
                "corpus": result["corpus"],
                "split": result["split"],
            }
            if result.get("ner"):
                micro = result["ner"]["micro"]
                row.update(
                    {
                        "strict_precision": micro["strict"]["precision"],
                        "strict_recall": micro["strict"]["recall"],
                        "strict_f1": micro["strict"]["f1"],
                        "strict_f1_ci": micro["strict"].get("f1_ci"),
                        "partial_f1": micro["partial"]["f1"],
                        "exact_f1": micro["exact"]["f1"],
                        "type_f1": micro["type"]["f1"],
                    }
                )
            if result.get("strings"):
                row["strings_f1"] = result["strings"]["pooled"]["f1"]
                row["unparsable"] = result["strings"]["pooled"]["unparsable"]
            if result.get("relations"):
                row["relations_f1"] = result["relations"]["micro"]["f1"]
                row["relations_f1_ci"] = result["relations"]["micro"].get("f1_ci")
            rows.append(row)
    rows.sort(key=lambda r: (r["corpus"], r["split"], r["system"]))
    lines = [
        "# Comparison of systems",
        "",
        "Scores in %, micro-averaged; strict = same boundaries and type (SemEval), partial = overlap counts half.",
        "",
        "| corpus | split | system | strict P | strict R | strict F1 | strict F1 interval | partial F1 | string F1 | relations F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def cell(name: str, row: dict[str, Any] = r) -> str:
            return _pct(row[name]) if row.get(name) is not None else "–"

        interval = (
            f"{_pct(r['strict_f1_ci'][0])}–{_pct(r['strict_f1_ci'][1])}"
            if r.get("strict_f1_ci")
            else "–"
        )
        lines.append(
            f"| {r['corpus']} | {r['split']} | {r['system']} | {cell('strict_precision')} | {cell('strict_recall')} | "
            f"{cell('strict_f1')} | {interval} | {cell('partial_f1')} | {cell('strings_f1')} | {cell('relations_f1')} |"
        )
    return {"rows": rows}, "\n".join(lines) + "\n"


def review_system_pair(
    predictions_a: Partitions, predictions_b: Partitions, names: tuple[str, str]
) -> tuple[dict[str, Any], str, dict[str, str], dict[str, list[Document]]]:
    """Dual-model consistency review (DMCR) of two systems on every partition both predicted.

    Returns:
        a JSON summary per partition, the review queue as CSV text (one row per disagreeing
        entity), one HTML page per partition showing both systems' spans, and the accepted
        documents (the agreed entities) per partition.
    """
    import csv
    import io

    from bioie_kedro.review import QUEUE_COLUMNS, queue_rows, render_review_html, review_consistency

    name_a, name_b = names
    shared = sorted(set(predictions_a) & set(predictions_b))
    if not shared:
        raise ValueError(f"{name_a} and {name_b} have no predicted partition in common")
    summary: dict[str, Any] = {}
    pages: dict[str, str] = {}
    accepted: dict[str, list[Document]] = {}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["partition", *QUEUE_COLUMNS])
    writer.writeheader()
    for key in shared:
        docs_a, docs_b = load_partition(predictions_a, key), load_partition(predictions_b, key)
        review = review_consistency(docs_a, docs_b, names=(name_a, name_b))
        summary[key] = review.summary()
        for row in queue_rows(review):
            writer.writerow({"partition": key, **row})
        pages[key] = render_review_html(
            review,
            {doc.id: doc for doc in docs_a},
            title=f"DMCR review: {name_a} vs {name_b} on {key}",
        )
        accepted[key] = review.accepted
        logger.info(
            "DMCR %s vs %s on %s: %d items to review", name_a, name_b, key, len(review.queue)
        )
    return summary, buffer.getvalue(), pages, accepted
