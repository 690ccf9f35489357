"""Retrieval pipeline: nodes on tiny documents (hashing embedder), a pipeline slice with the index
as a FaissIndexDataset, and the parameter files of every environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from bioie_kedro.datasets import FaissIndexDataset
from bioie_kedro.pipelines.retrieval import create_pipeline
from bioie_kedro.pipelines.retrieval.nodes import (
    build_rait_neighbours,
    build_retrieval_index,
    select_icl_examples,
)
from bioie_kedro.pipelines.retrieval.params import RetrievalParams
from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import segment_document

PROJECT_ROOT = Path(__file__).resolve().parents[3]

PARAMS = {
    "corpus": "toy",
    "granularity": "document",
    "seed": 0,
    "embedder": {"kind": "hashing", "dimension": 128},
    "selection": {"k": 4, "n": 2},
    "neighbours": {"k": 2, "top": 4, "bm25_threshold": 1.0},
    "quality": {"k": 2},
}

TRAIN = [
    ("t1", "Lithium toxicity in rats.", [("Chemical", "Lithium")]),
    ("t2", "Cisplatin nephrotoxicity in children.", [("Chemical", "Cisplatin")]),
    ("t3", "Breast cancer risk after radiation.", [("Disease", "Breast cancer")]),
    ("t4", "Lithium toxicity in rats.", [("Chemical", "Lithium")]),  # duplicate text of t1
    ("t5", "Nephrotoxicity of cisplatin in adults.", [("Disease", "Nephrotoxicity")]),
    ("t6", "Colon cancer and diet.", [("Disease", "Colon cancer")]),
]
TEST = [
    ("q1", "Cisplatin nephrotoxicity in elderly patients.", [("Chemical", "Cisplatin")]),
    ("q2", "Breast cancer risk after radiation.", [("Disease", "Breast cancer")]),  # leaks
    ("q3", "Lithium toxicity in rats. Colon cancer.", [("Disease", "Colon cancer")]),
]


def make_docs(rows, split: str) -> list[Document]:
    docs = []
    for doc_id, text, mentions in rows:
        entities = []
        for number, (entity_type, mention) in enumerate(mentions, start=1):
            start = text.index(mention)
            entities.append(
                Entity(f"T{number}", entity_type, mention, [(start, start + len(mention))])
            )
        docs.append(segment_document(Document(doc_id, "toy", split, text, entities=entities)))
    return docs


def documents():
    return {"toy/train": make_docs(TRAIN, "train"), "toy/test": lambda: make_docs(TEST, "test")}


def test_nodes_select_examples_and_neighbours():
    index = build_retrieval_index(documents(), PARAMS)
    assert (index.ids, index.kind, index.metadata["granularity"]) == (
        [row[0] for row in TRAIN],
        "flat",
        "document",
    )
    best = select_icl_examples(index, documents(), PARAMS)
    json.dumps(best)
    assert list(best["queries"]) == ["q1", "q2", "q3"]
    q1 = best["queries"]["q1"]
    assert [e["rank"] for e in q1["examples"]] == [1, 2] and q1["retrieved"] == 4
    assert {e["id"] for e in q1["examples"]} == {"t2", "t5"}
    assert best["queries"]["q2"]["examples"][0]["id"] == "t3"  # identical text, dense 1.0
    assert best["summary"] == {**best["summary"], "queries": 3, "without_examples": 0}

    neighbours = build_rait_neighbours(index, documents(), PARAMS)
    json.dumps(neighbours)
    nearest = neighbours["neighbours"]["train"]["nearest"]
    assert set(nearest) == {row[0] for row in TRAIN}
    assert not {"t1", "t4"} & {n["id"] for n in nearest["t1"]}  # itself and its duplicate
    assert neighbours["summary"]["train"]["random"]["samples"] == 6


def test_training_queries_never_select_themselves():
    params = {**PARAMS, "selection": {"query_split": "train", "k": 6, "n": 6}}
    index = build_retrieval_index(documents(), params)
    best = select_icl_examples(index, documents(), params)
    for query_id, entry in best["queries"].items():
        assert query_id not in {e["id"] for e in entry["examples"]}
    assert "t4" in {e["id"] for e in best["queries"]["t1"]["examples"]}  # duplicate allowed here
    params["selection"]["exclude_duplicate_text"] = True
    strict = select_icl_examples(index, documents(), params)
    assert "t4" not in {e["id"] for e in strict["queries"]["t1"]["examples"]}


def test_a_stale_index_is_refused():
    index = build_retrieval_index(documents(), PARAMS)
    with pytest.raises(ValueError, match="built from .* the parameters ask for"):
        select_icl_examples(index, documents(), {**PARAMS, "granularity": "sentence"})
    smaller = {"toy/train": make_docs(TRAIN[:3], "train"), "toy/test": make_docs(TEST, "test")}
    with pytest.raises(ValueError, match="does not match toy/train"):
        build_rait_neighbours(index, smaller, PARAMS)


def catalog_on_disk(tmp_path: Path, params: dict) -> DataCatalog:
    """Index and JSON outputs on disk, as in conf/base (in-memory intermediates are released)."""
    catalog = DataCatalog()
    catalog["documents"] = documents()
    catalog["params:retrieval"] = params
    catalog["retrieval_index"] = FaissIndexDataset(path=str(tmp_path / "index"))
    for name in ("best_examples", "rait_neighbours"):
        catalog[name] = JSONDataset(filepath=str(tmp_path / f"{name}.json"))
    return catalog


def test_pipeline_slice_with_the_index_on_disk(tmp_path):
    catalog = catalog_on_disk(
        tmp_path, {**PARAMS, "selection": {"k": 4, "n": 2, "reranker": {"kind": "bm25_fusion"}}}
    )
    SequentialRunner().run(create_pipeline(), catalog)
    assert (tmp_path / "index" / "bioie_vector_index.json").is_file()
    best = catalog.load("best_examples")
    assert all(
        set(e["scores"]) == {"dense", "bm25", "rrf"}
        for entry in best["queries"].values()
        for e in entry["examples"]
    )
    report = catalog.load("retrieval_quality_report")
    json.dumps(report)
    assert report["leak_check"]["queries_in_training_pool"] == 1
    assert report["leak_check"]["examples"] == [{"query_id": "q2", "training_ids": ["t3"]}]
    icl = report["icl_selection"]
    assert icl["retrieved"]["queries"] == 3 and icl["retrieved"]["k"] == 2
    assert set(report["rait"]["train"]) == {
        "random",
        "nearest",
        "diverse_nearest",
        "nearest_bm25_reject",
        "bm25_rerank",
    }
    assert set(report["rait"]["train"]["nearest"]) == {"retrieved", "random", "lift", "summary"}


def test_sentence_granularity_slice(tmp_path):
    catalog = catalog_on_disk(tmp_path, {**PARAMS, "granularity": "sentence"})
    SequentialRunner().run(create_pipeline(), catalog)
    best = catalog.load("best_examples")
    assert set(best["queries"]) == {"q1#0", "q2#0", "q3#0", "q3#1"}
    leaks = catalog.load("retrieval_quality_report")["leak_check"]
    assert leaks["queries_in_training_pool"] == 2  # q2#0, and q3#0 (as t1 and t4)
    assert leaks["examples"][1] == {"query_id": "q3#0", "training_ids": ["t1#0", "t4#0"]}


@pytest.mark.parametrize("env", ["base", "test", "benchmark", "paper"])
def test_parameter_files_validate(env):
    raw = yaml.safe_load((PROJECT_ROOT / "conf" / env / "parameters_retrieval.yml").read_text())
    settings = RetrievalParams.parse(raw["retrieval"])
    assert settings.selection.settings().n >= 1
    if env == "paper":
        assert settings.embedder.model_name_or_path == "BAAI/bge-m3"
        assert settings.embedder.pooling == "cls"
        assert settings.selection.reranker.model_name_or_path == "BAAI/bge-reranker-v2-m3"
        assert (settings.selection.n, settings.selection.score_threshold) == (10, 0.79)


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="needs selection.score_threshold"):
        RetrievalParams.parse({**PARAMS, "selection": {"search_type": "threshold"}})
    with pytest.raises(ValueError, match="unknown strategies"):
        RetrievalParams.parse({**PARAMS, "neighbours": {"strategies": ["closest"]}})
    with pytest.raises(ValueError, match="needs model_name_or_path"):
        RetrievalParams.parse({**PARAMS, "selection": {"reranker": {"kind": "cross_encoder"}}})


def test_score_distributions_plot_every_returned_score():
    from bioie_kedro.pipelines.retrieval.nodes import plot_retrieval_scores

    best = {
        "corpus": "demo",
        "granularity": "document",
        "queries": {
            "q1": {"examples": [{"scores": {"dense": 0.9}}, {"scores": {"dense": 0.7}}]},
            "q2": {"examples": [{"scores": {"dense": 0.5, "rerank": 0.2}}]},
        },
    }
    neighbours = {
        "neighbours": {
            "train": {
                "nearest": {"a": [{"dense": 0.8}, {"dense": 0.6}], "b": []},
                "random": {"a": [{"dense": 0.1}]},
            }
        }
    }
    figure = plot_retrieval_scores(best, neighbours)
    icl_axis, rait_axis = figure.axes
    assert sum(patch.get_height() for patch in icl_axis.patches) == 3
    assert "3 examples" in icl_axis.get_title()
    assert sorted(text.get_text() for text in rait_axis.get_legend().get_texts()) == [
        "nearest (2)",
        "random (1)",
    ]
    empty = plot_retrieval_scores({"queries": {}}, {})
    assert "0 examples" in empty.axes[0].get_title()
