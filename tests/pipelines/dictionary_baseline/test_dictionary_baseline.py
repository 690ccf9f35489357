"""Dictionary baseline pipeline: nodes on inline documents and a pipeline slice."""

from __future__ import annotations

import json

import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from bioie_kedro.pipelines.dictionary_baseline import create_pipeline
from bioie_kedro.pipelines.dictionary_baseline.nodes import (
    build_mention_dictionaries,
    tag_with_dictionaries,
)
from bioie_kedro.schema import Document, Entity

PARAMS = {
    "corpora": {
        "toy": {"train": "train", "predict": ["test"], "type_map": {"SpecificDisease": "Disease"}}
    },
    "case_insensitive": True,
}


def train_docs() -> list[Document]:
    text = "Breast cancer and lithium toxicity."
    return [
        Document(
            "1",
            "toy",
            "train",
            text,
            entities=[
                Entity("T1", "SpecificDisease", "Breast cancer", [(0, 13)]),
                Entity("T2", "Chemical", "lithium", [(18, 25)]),
            ],
        )
    ]


def held_out_docs() -> list[Document]:
    return [Document("2", "toy", "test", "Lithium may not cause breast cancer.")]


def test_build_and_tag():
    dictionaries = build_mention_dictionaries(
        {"toy/train": train_docs(), "toy/test": held_out_docs()}, PARAMS
    )
    json.dumps(dictionaries)  # JSON-ready, stored by the catalog as JSON
    predictions = tag_with_dictionaries(dictionaries, {"toy/test": held_out_docs}, PARAMS)
    (doc,) = predictions["toy/test"]
    assert [(e.type, e.text, e.offsets) for e in doc.entities] == [
        ("Chemical", "Lithium", [(0, 7)]),
        ("Disease", "breast cancer", [(22, 35)]),
    ]
    assert doc.text == held_out_docs()[0].text and doc.relations == []


def test_missing_partition_names_what_exists():
    with pytest.raises(KeyError, match=r"'toy/train'.*available: other/train"):
        build_mention_dictionaries({"other/train": train_docs()}, PARAMS)


def test_pipeline_slice():
    catalog = DataCatalog()
    catalog["documents"] = {"toy/train": train_docs(), "toy/test": held_out_docs()}
    catalog["params:dictionary_baseline"] = PARAMS
    SequentialRunner().run(create_pipeline(), catalog)
    predictions = catalog.load("dictionary_predictions")
    assert list(predictions) == ["toy/test"] and len(predictions["toy/test"][0].entities) == 2
