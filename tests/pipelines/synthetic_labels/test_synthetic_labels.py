"""synthetic_labels: nodes on inline documents, the parameter files of every environment, and the
whole pipeline on the demo corpus with conf/test, annotated by a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from bioie_kedro.annotation import REJECTION_REASONS
from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.pipelines.synthetic_labels import create_pipeline
from bioie_kedro.pipelines.synthetic_labels.nodes import (
    build_relation_dataset,
    select_sentences,
    validate_annotations,
)
from bioie_kedro.pipelines.synthetic_labels.params import SyntheticLabelsParams
from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import segment_document
from tests.synthetic.chat_server import ChatServer, prompt_key, relation_reply, scripted_relations

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONF = PROJECT_ROOT / "conf"

PARAMS = {
    "corpus": "toy",
    "splits": ["train"],
    "type_map": {"Drug": "Chemical"},
    "relation_specs": {"Chemical|Disease": ["treats", "causes"]},
    "dataset": {"min_sample_count": 2, "seed": 1},
}


def toy_docs(count: int) -> list[Document]:
    text = "Aspirin caused ulcers. Heparin treats thrombosis. Nothing here."
    docs = []
    for i in range(count):
        entities = [
            Entity("T1", "Drug", "Aspirin", [(0, 7)]),
            Entity("T2", "Disease", "ulcers", [(15, 21)]),
            Entity("T3", "Drug", "Heparin", [(23, 30)]),
            Entity("T4", "Disease", "thrombosis", [(38, 48)]),
        ]
        docs.append(segment_document(Document(f"d{i}", "toy", "train", text, entities=entities)))
    return docs


def annotations_for(sentences: dict, answer_of) -> dict:
    return {
        "model": "scripted",
        "backend": "http",
        "run": {},
        "answers": [
            {"sentence_key": row["key"], "answer": answer_of(row), "from_cache": False}
            for row in sentences["sentences"]
        ],
    }


def test_selection_stops_at_the_target_and_keeps_sentences_with_candidates():
    sentences = select_sentences({"toy/train": lambda: toy_docs(5)}, PARAMS)
    assert len(sentences["sentences"]) == 10  # two per document; "Nothing here." has no pair
    assert sentences["stats"]["sentences_without_candidates"] == 5
    assert sentences["sentences"][0]["entities"][0]["type"] == "Chemical"  # type_map applied
    limited = select_sentences({"toy/train": toy_docs(5)}, {**PARAMS, "target_sentence_count": 3})
    assert len(limited["sentences"]) == 3
    assert limited["stats"]["documents"] == 2 and limited["stats"]["target_reached"] is True


def test_validation_report_and_dataset_from_the_answers():
    sentences = select_sentences({"toy/train": toy_docs(5)}, PARAMS)

    def answer_of(row):
        if row["document_id"] == "d0":
            return "not json"
        if row["sentence_index"] == 0:
            return '{"relations": [{"relation": "causes", "head": "E1", "tail": "E2"}]}'
        return '{"relations": [{"relation": "treats", "head": "E2", "tail": "E1"}]}'  # reversed

    triples, report = validate_annotations(sentences, annotations_for(sentences, answer_of), PARAMS)
    assert report["answers"]["invalid_json"] == 2 and report["answers"]["usable_sentences"] == 8
    assert report["triples"]["accepted_by_relation"] == {"causes": 4}
    assert report["triples"]["rejected_by_reason"]["reversed_arguments"] == 4
    assert set(report["triples"]["rejected_by_reason"]) == set(REJECTION_REASONS)
    json.dumps(report)

    dataset, dataset_report = build_relation_dataset(sentences, triples, PARAMS)
    assert dataset_report["label_counts_before_filter"] == {"causes": 4, "none": 4}
    assert dataset_report["labels"] == ["none", "causes"]
    assert sum(len(dataset[s]) for s in dataset) == 8
    keys = {s: set(dataset[s]["document_key"]) for s in dataset}
    assert not (keys["train"] & keys["validation"] or keys["train"] & keys["test"])

    strict = {**PARAMS, "dataset": {**PARAMS["dataset"], "min_sample_count": 5}}
    _, strict_report = build_relation_dataset(sentences, triples, strict)
    assert strict_report["dropped_labels"] == {"causes": 4}

    other_spec = {**PARAMS, "relation_specs": {"Chemical|Disease": ["treats"]}}
    with pytest.raises(ValueError, match="another relation spec"):
        build_relation_dataset(sentences, triples, other_spec)
    nothing = {**PARAMS, "dataset": {"keep_sentences_with_rejected_triples": False}}
    only_invalid = validate_annotations(
        sentences, annotations_for(sentences, lambda row: "{}"), nothing
    )[0]
    with pytest.raises(ValueError, match="no relation example is left"):
        build_relation_dataset(sentences, only_invalid, nothing)


@pytest.mark.parametrize("env", ["local", "test", "paper", "benchmark"])
def test_parameters_of_every_environment_validate(env):
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env=env,
        runtime_params={"data_root": "/tmp/x"},
    )
    params = SyntheticLabelsParams.parse(loader["parameters"]["synthetic_labels"])
    assert params.spec().allows("Chemical", "Disease", "treats")
    if env == "paper":
        assert params.student.model_name_or_path.startswith("microsoft/BiomedNLP-BiomedBERT")
        assert params.spec().allows("Gene", "Gene", "binds_to")
        assert params.prediction_bf16 == "auto"
    elif env in {"local", "test"}:
        assert params.prediction_bf16 is False


@pytest.mark.parametrize("value", [True, False, "auto"])
def test_prediction_precision_takes_true_false_or_auto_only(value):
    base = {"corpus": "toy", "relation_specs": {"Chemical|Disease": ["causes"]}}
    parsed = SyntheticLabelsParams.parse({**base, "prediction_bf16": value})
    assert parsed.prediction_bf16 == value
    assert SyntheticLabelsParams.parse(base).prediction_bf16 is False
    with pytest.raises(ValueError, match="prediction_bf16"):
        SyntheticLabelsParams.parse({**base, "prediction_bf16": "fast"})


def test_the_pipelines_are_registered_on_request_and_import_cheaply():
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    from kedro.framework.project import pipelines

    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    assert "annotate_sentences" not in default_nodes
    (with_decoder,) = pipelines["synthetic_labels"].only_nodes("annotate_sentences").nodes
    (with_server,) = pipelines["synthetic_labels_server"].only_nodes("annotate_sentences").nodes
    assert "decoder_model" in with_decoder.inputs and "decoder_model" not in with_server.inputs
    assert pipelines["synthetic_labels"].outputs() == pipelines["synthetic_labels_server"].outputs()
    code = (
        "import sys\n"
        "import bioie_kedro.pipelines.synthetic_labels\n"
        "print(sorted(m for m in ('torch', 'transformers', 'httpx', 'datasets') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_dataset_of_the_pipeline_is_declared_in_the_catalog():
    loader = OmegaConfigLoader(
        conf_source=str(CONF),
        base_env="base",
        default_run_env="local",
        runtime_params={"data_root": "/tmp/x"},
    )
    declared = set(loader["catalog"])
    used = {name for name in create_pipeline().datasets() if not name.startswith("params:")}
    assert {"documents", "decoder_model", "synthetic_annotator_api_key"} <= used
    assert used <= declared, used - declared


def demo_documents() -> dict[str, list[Document]]:
    demo = PROJECT_ROOT / "data" / "01_raw" / "demo"
    return {
        f"demo/{split}": [
            segment_document(d)
            for d in read_pubtator(
                demo / f"demo_{split}.PubTator.txt", source="demo", split=split
            ).documents
        ]
        for split in ("train", "dev", "test")
    }


def test_pipeline_slice_on_the_demo_corpus_counts_what_the_annotator_said(tmp_path):
    """Selection to dataset with the test configuration, the decoder form of the pipeline (the
    http backend ignores decoder_model), and a rerun of the annotation that asks nothing."""
    with ChatServer(relation_reply) as server:
        loader = OmegaConfigLoader(
            conf_source=str(CONF),
            base_env="base",
            default_run_env="test",
            runtime_params={"data_root": str(tmp_path), "annotator_url": server.url},
        )
        params = loader["parameters"]["synthetic_labels"]
        catalog = DataCatalog.from_config(loader["catalog"])
        catalog["documents"] = demo_documents()  # what the ingestion pipeline writes
        catalog["decoder_model"] = "not used by the http backend"
        catalog["params:synthetic_labels"] = params
        pipeline = create_pipeline().to_nodes("build_relation_dataset")
        SequentialRunner().run(pipeline, catalog)
        asked = [prompt_key(body) for body in server.requests]
        SequentialRunner().run(pipeline.only_nodes("annotate_sentences"), catalog)
        assert len(server.requests) == len(asked)
    assert all(row["from_cache"] for row in catalog.load("synthetic_annotations")["answers"])

    # the report counts what the scripted annotator answered, reason by reason
    target = params["target_sentence_count"]
    assert len(asked) == len(set(asked)) == target
    expected: Counter[str] = Counter()
    for prompt in asked:
        expected.update(scripted_relations(prompt)[1])
    report = catalog.load("synthetic_annotation_report")
    assert report["selection"]["sentences_selected"] == target
    assert report["selection"]["target_reached"] and report["annotation"]["run"]["asked"] == target
    answers = report["answers"]
    assert answers["invalid_json"] == expected["invalid_json"] > 0
    assert answers["malformed_answer"] == expected["malformed_answer"] > 0
    assert answers["usable_sentences"] == (
        target - expected["invalid_json"] - expected["malformed_answer"]
    )
    assert report["triples"]["rejected_by_reason"] == {
        reason: expected[reason] for reason in REJECTION_REASONS
    }
    assert report["triples"]["accepted_by_relation"] == {
        "causes": expected["accepted:causes"],
        "treats": expected["accepted:treats"],
    }

    # the relation dataset: a DatasetDict on disk, split by document
    (saved,) = (tmp_path / "05_model_input/synthetic_labels/relation_dataset").glob("*/*")
    assert (saved / "dataset_dict.json").is_file()
    dataset = catalog.load("synthetic_relation_dataset")
    assert dataset["train"].features["label"].names == ["none", "causes", "treats"]
    documents = [set(dataset[split]["document_key"]) for split in ("train", "validation", "test")]
    assert sum(len(d) for d in documents) == len(set().union(*documents))
    assert all("[E1]" in text and "[E2]" in text for text in dataset["test"]["text"])
    dataset_report = catalog.load("synthetic_dataset_report")
    assert dataset_report["label_counts_before_filter"]["causes"] == expected["accepted:causes"]

    # the pair's mentions are blinded by default (entity_text: type), as BLURB prepares its data
    assert "entity_text" not in params["dataset"]  # conf/test leaves it to the default
    texts = [t for split in ("train", "validation", "test") for t in dataset[split]["text"]]
    blinded = [t for t in texts if re.search(r"\[E1\]@[A-Z_]+\$\[/E1\]", t)]
    assert blinded and all(re.search(r"\[E2\]@[A-Z_]+\$\[/E2\]", t) for t in blinded)
    counted = dataset_report["pairs_blinded"] + dataset_report.get("nested_pairs_not_blinded", 0)
    assert dataset_report["pairs_blinded"] >= len(blinded) > 0 and counted >= len(texts)


# the second run trains an ensemble of two students, seeds given as kedro passes a list
@pytest.mark.parametrize("ensemble_seeds", [None, "1 2"])
def test_kedro_run_of_the_server_pipeline_in_the_test_environment(tmp_path, ensemble_seeds):
    """`kedro run --env test --pipelines synthetic_labels_server` on the demo documents, end to
    end: annotation by the scripted server, a three-step student, predictions and scores."""
    from bioie_kedro.datasets import DocumentsDataset

    for key, docs in demo_documents().items():  # as `kedro run --pipelines ingestion` writes them
        path = tmp_path / "03_primary/documents" / f"{key}.parquet"
        DocumentsDataset(filepath=str(path)).save(docs)
    kedro = str(Path(sys.executable).with_name("kedro"))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    with ChatServer(relation_reply) as server:
        command = [
            kedro,
            "run",
            "--env=test",
            "--pipelines=synthetic_labels_server",
            "--params",
            f"data_root={tmp_path},annotator_url={server.url}"
            + (
                f",synthetic_labels.student.ensemble_seeds={ensemble_seeds}"
                ",synthetic_labels.student.tune_none_scale=true"
                ",synthetic_labels.prediction_bf16=true"
                if ensemble_seeds
                else ""
            ),
        ]
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert len(server.requests) == 120
    reporting = tmp_path / "08_reporting/synthetic_labels"
    report = json.loads((reporting / "annotation_report.json").read_text())
    assert report["annotation"]["backend"] == "http"
    assert report["annotation"]["run"]["asked"] == 120
    (student,) = (tmp_path / "06_models/synthetic_labels/student").glob("*/student")
    if ensemble_seeds:
        ensemble = json.loads((student / "bioie_relation_ensemble.json").read_text())
        assert ensemble["seeds"] == [1, 2]
        # the decision threshold was chosen on the validation split
        threshold = ensemble["decision_threshold"]
        assert ensemble["none_scale"] == threshold["none_scale"] > 0
        assert threshold["examples"] > 0 and threshold["tuned"] >= threshold["plain"]
        members = [student / name for name in ensemble["members"]]
        checkpoints = tmp_path / "06_models/synthetic_labels/checkpoints"
        assert sorted(p.name for p in checkpoints.iterdir()) == ["seed-1", "seed-2"]
    else:
        members = [student]
    for member in members:
        assert {"model.safetensors", "tokenizer.json", "bioie_relation_classifier.json"} <= {
            p.name for p in member.iterdir()
        }
    predictions = list((tmp_path / "07_model_output/synthetic_labels/predictions").glob("*/*"))
    assert predictions
    predicted = [doc for path in predictions for doc in DocumentsDataset(filepath=str(path)).load()]
    assert {r.type for d in predicted for r in d.relations} <= {"causes", "treats"}
    metrics = json.loads((reporting / "metrics.json").read_text())
    assert metrics["test_examples"] > 0
    assert 0.0 <= metrics["classification"]["positive_macro_f1"] <= 1.0
    assert metrics["relations_vs_synthetic"]["mode"] == "mention"
    assert metrics["student_vs_gold"]["mode"] == "concept"
    # the scripted annotator's "causes" agree with part of the demo corpus's CID relations
    assert metrics["synthetic_vs_gold"]["micro"]["true_positives"] > 0


@pytest.mark.real_data
def test_pubtator3_sample_sentences_with_the_seed_relation_spec(shared_data):
    from bioie_kedro.annotation import relation_prompt
    from bioie_kedro.corpora.bioc import read_bioc_json
    from bioie_kedro.relation_extraction import RelationSpec
    from bioie_kedro.relation_extraction.candidates import SentenceUnit

    sample = shared_data / "pubtator3_sample"
    raw_spec = json.loads((sample / "synthetic_relex/relation_specs.json").read_text())
    docs = [
        segment_document(d)
        for d in read_bioc_json(
            sample / "factoid_biocjson", source="pubtator3", split="sample"
        ).documents
    ]
    params = {"corpus": "pubtator3", "splits": ["sample"], "relation_specs": raw_spec}
    sentences = select_sentences({"pubtator3/sample": docs}, params)
    stats = sentences["stats"]
    assert (stats["documents"], stats["entities"]) == (8, 170)
    # Species and CellLine are in no spec pair; PubTator3 "Variant" is not a spec type either
    assert stats["entities_of_other_types"] == 33 + 1 + 2
    assert 0 < stats["sentences_selected"] < stats["sentences"]
    spec = RelationSpec.from_mapping(raw_spec)
    for row in sentences["sentences"]:
        unit = SentenceUnit.from_dict(row)
        for entity in unit.entities:  # offsets into the document, fully inside the sentence
            start, end = unit.relative(entity.extent)
            assert 0 <= start < end <= len(unit.text)
            assert unit.text[start:end] == entity.text
        user = relation_prompt(unit, spec).messages[-1]["content"]
        allowed = user.split("(head type | tail type: relations):\n")[1].split("\n\n")[0]
        for line in allowed.splitlines():
            pair, relations = line.split(": ")
            head, tail = pair.split(" | ")
            assert relations.split(", ") == list(spec.relations_for(head, tail))
            assert {head, tail} <= {e.type for e in unit.entities}


def test_ensemble_seeds_come_as_a_list_or_as_command_line_text():
    from pydantic import ValidationError

    from bioie_kedro.pipelines.synthetic_labels.params import StudentParams

    assert StudentParams().ensemble_seeds == []
    assert StudentParams(ensemble_seeds=[42, 43]).ensemble_seeds == [42, 43]
    assert StudentParams(ensemble_seeds="42 43 44").ensemble_seeds == [42, 43, 44]
    assert StudentParams(ensemble_seeds="1;2").ensemble_seeds == [1, 2]
    assert StudentParams(ensemble_seeds=7).ensemble_seeds == [7]
    # the training settings never see the ensemble's seeds, only `seed`
    assert "ensemble_seeds" not in vars(StudentParams(ensemble_seeds=[1, 2]).settings())
    with pytest.raises(ValidationError, match="repeat a seed"):
        StudentParams(ensemble_seeds="1 1")
    with pytest.raises(ValidationError, match="valid integer"):
        StudentParams(ensemble_seeds="1 x")
