"""Evaluation pipeline: scoring node, reports, plots, comparison, and a namespaced pipeline slice."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from bioie_kedro.pipelines.evaluation import SYSTEMS, create_pipeline
from bioie_kedro.pipelines.evaluation.nodes import (
    build_comparison,
    evaluate_system,
    plot_f1_per_length,
    plot_f1_per_type,
    render_metrics_table,
)
from bioie_kedro.schema import Document, Entity, Relation

TEXT = "Aspirin caused gastric ulcer and renal failure."
PARAMS = {
    "bootstrap": 50,
    "seed": 1,
    "corpora": {"toy": {"relation_mode": "concept"}},
    "systems": {},
}
SYSTEM = {"label": "Toy system", "tasks": ["ner"]}


def gold_docs() -> list[Document]:
    return [
        Document(
            "1",
            "toy",
            "test",
            TEXT,
            entities=[
                Entity("T1", "Chemical", "Aspirin", [(0, 7)]),
                Entity("T2", "Disease", "gastric ulcer", [(15, 28)]),
                Entity("T3", "Disease", "renal failure", [(33, 46)]),
            ],
        )
    ]


def predicted_docs() -> list[Document]:
    # Aspirin: correct; "ulcer": partial overlap with "gastric ulcer"; renal failure: missed;
    # "caused": spurious.
    return [
        Document(
            "1",
            "toy",
            "test",
            TEXT,
            entities=[
                Entity("P1", "Chemical", "Aspirin", [(0, 7)]),
                Entity("P2", "Disease", "ulcer", [(23, 28)]),
                Entity("P3", "Disease", "caused", [(8, 14)]),
            ],
        )
    ]


def test_evaluate_system_scores_each_partition():
    metrics = evaluate_system(
        {"toy/test": predicted_docs()}, {"toy/test": gold_docs}, PARAMS, SYSTEM
    )
    assert metrics["label"] == "Toy system"
    result = metrics["partitions"]["toy/test"]
    assert (result["corpus"], result["split"], result["relations"]) == ("toy", "test", None)
    strict = result["ner"]["micro"]["strict"]
    # strict: 1 correct of 3 gold and 3 predicted -> P = R = F1 = 1/3
    assert strict["f1"] == pytest.approx(1 / 3)
    partial = result["ner"]["micro"]["partial"]
    # partial: COR 1, PAR 1 -> (1 + 0.5) / 3 = 0.5 both ways
    assert partial["f1"] == pytest.approx(0.5)
    assert set(result["ner"]["per_type"]) == {"Chemical", "Disease"}


def test_relations_are_scored_when_the_system_extracts_them():
    gold = gold_docs()
    gold[0].entities[0].normalized = []
    gold[0].relations = [Relation("R1", "CID", "T1", "T2")]
    predicted = predicted_docs()
    predicted[0].relations = [Relation("R1", "CID", "P1", "P3")]
    metrics = evaluate_system(
        {"toy/test": predicted},
        {"toy/test": gold},
        {**PARAMS, "corpora": {}},
        {**SYSTEM, "tasks": ["ner", "relations"]},
    )
    relations = metrics["partitions"]["toy/test"]["relations"]
    assert relations["micro"]["f1"] == 0.0  # wrong tail span


def test_predictions_for_an_unknown_partition_are_an_error():
    with pytest.raises(KeyError, match="toy/dev"):
        evaluate_system({"toy/dev": predicted_docs()}, {"toy/test": gold_docs()}, PARAMS, SYSTEM)


def test_unknown_parameters_are_rejected():
    with pytest.raises(ValueError, match="labels"):
        evaluate_system({}, {}, PARAMS, {"labels": "x"})


def test_table_plots_and_comparison():
    metrics = evaluate_system(
        {"toy/test": predicted_docs()}, {"toy/test": gold_docs()}, PARAMS, SYSTEM
    )
    table = render_metrics_table(metrics)
    assert "## toy/test" in table and "| strict | 33.33 | 33.33 | 33.33 |" in table
    assert "| Chemical | 100.00 | 100.00 | 100.00 |" in table
    figure = plot_f1_per_type(metrics)
    assert [ax.get_title() for ax in figure.axes] == ["toy/test"]
    assert len(plot_f1_per_length(metrics).axes[0].patches) == 2 * 3  # strict+partial x (1, 2, 3+)
    other = {**metrics, "label": "Another"}
    comparison, markdown = build_comparison(metrics, other)
    assert [row["system"] for row in comparison["rows"]] == ["Another", "Toy system"]
    assert comparison["rows"][0]["strict_f1"] == pytest.approx(1 / 3)
    assert "| toy | test | Toy system | 33.33 | 33.33 | 33.33 |" in markdown


def test_namespaced_pipeline_slice_on_a_catalog():
    catalog = DataCatalog()
    catalog["documents"] = {"toy/test": gold_docs()}
    for system in SYSTEMS:
        catalog[f"{system}_predictions"] = {"toy/test": predicted_docs()}
    catalog["params:evaluation"] = {
        **PARAMS,
        "systems": {system: {"label": system.title(), "tasks": ["ner"]} for system in SYSTEMS},
    }
    for system in SYSTEMS:
        catalog[f"params:evaluation.systems.{system}"] = {"label": system.title(), "tasks": ["ner"]}
    pipeline = create_pipeline()
    assert {n.namespace for n in pipeline.nodes if n.name != "build_comparison"} == {
        f"evaluation.{system}" for system in SYSTEMS
    }
    outputs = SequentialRunner().run(pipeline, catalog)
    comparison = outputs["comparison"].load()
    assert len(comparison["rows"]) == len(SYSTEMS)
    assert comparison["rows"][0]["strict_f1"] == pytest.approx(1 / 3)
    assert "## toy/test" in outputs[f"evaluation.{SYSTEMS[0]}.metrics_table"].load()


def test_string_level_scores_for_decoder_systems():
    import json as _json

    gold = gold_docs() + [Document("2", "toy", "test", "No entity here.")]
    decoded = predicted_docs()
    # the decoder's raw answer, before mapping to spans: one string it hallucinated ("ulcers")
    decoded[0].attributes["predicted_mentions"] = _json.dumps(
        {"Chemical": ["Aspirin"], "Disease": ["ulcers", "renal failure"]}
    )
    unparsable = Document(
        "2", "toy", "test", "No entity here.", attributes={"parse_status": "unparsable"}
    )
    metrics = evaluate_system(
        {"toy/test": decoded + [unparsable]},
        {"toy/test": gold},
        PARAMS,
        {"label": "Decoder", "tasks": ["ner", "strings"]},
    )
    strings = metrics["partitions"]["toy/test"]["strings"]["pooled"]
    # gold units: Chemical/Aspirin, Disease/gastric ulcer, Disease/renal failure (doc 2 has none)
    # predicted: Aspirin (TP), ulcers (FP), renal failure (TP) -> P = 2/3, R = 2/3
    assert strings["precision"] == pytest.approx(2 / 3) and strings["recall"] == pytest.approx(
        2 / 3
    )
    assert (strings["unparsable"], strings["records"]) == (1, 2)
    # span-level scores are reported side by side
    assert metrics["partitions"]["toy/test"]["ner"]["micro"]["strict"]["f1"] == pytest.approx(1 / 3)
    table = render_metrics_table(metrics)
    assert "unparsable answers: 1 of 2" in table
    comparison, markdown = build_comparison(metrics)
    assert comparison["rows"][0]["strings_f1"] == pytest.approx(2 / 3)
    assert comparison["rows"][0]["unparsable"] == 1


def test_dmcr_review_pipeline_for_a_pair_of_systems():
    from bioie_kedro.pipelines.evaluation.pipeline import create_review_pipeline

    catalog = DataCatalog()
    catalog["alpha_predictions"] = {"toy/test": gold_docs()}
    catalog["beta_predictions"] = {"toy/test": predicted_docs()}
    outputs = SequentialRunner().run(create_review_pipeline("alpha", "beta"), catalog)
    prefix = "review.alpha_vs_beta"
    summary = outputs[f"{prefix}.summary"].load()["toy/test"]
    # agreed: Aspirin; only alpha: gastric ulcer, renal failure; only beta: ulcer, caused
    assert (summary["entities_agreed"], summary["entities_union"]) == (1, 5)
    queue = outputs[f"{prefix}.queue"].load().splitlines()
    assert queue[0].startswith("partition,document_id") and len(queue) == 1 + 4
    assert "<html" in outputs[f"{prefix}.pages"].load()["toy/test"].lower()
    (accepted,) = outputs[f"{prefix}.accepted"].load()["toy/test"]
    assert [e.text for e in accepted.entities] == ["Aspirin"]
