"""decoder_sft nodes and a slice of the pipeline on the demo corpus with a tiny scratch Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.datasets.models import CausalLMDataset
from bioie_kedro.metrics.strings import (
    PARSE_STATUS_ATTRIBUTE,
    PREDICTED_MENTIONS_ATTRIBUTE,
    UNPARSABLE_UNITS_ATTRIBUTE,
)
from bioie_kedro.pipelines.decoder_sft.nodes import build_instructions, extract_predictions
from bioie_kedro.pipelines.decoder_sft.pipeline import create_pipeline
from bioie_kedro.prompting import instances_from_records
from bioie_kedro.retrieval.units import SENTENCE_ID_SEPARATOR
from bioie_kedro.segmentation import segment_document

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "data" / "01_raw" / "demo"


@pytest.fixture(scope="module")
def documents() -> dict[str, list]:
    return {
        f"demo/{split}": [
            segment_document(d)
            for d in read_pubtator(
                DEMO / f"demo_{split}.PubTator.txt", source="demo", split=split
            ).documents
        ]
        for split in ("train", "test")
    }


def _params(tmp_path: Path, **instructions) -> dict:
    params = yaml.safe_load((ROOT / "conf" / "test" / "parameters_decoder_sft.yml").read_text())
    params = params["decoder_sft"]
    params["trainer_output_dir"] = str(tmp_path / "checkpoints")
    params["instructions"].update(instructions)
    return params


def test_instructions_cover_every_document_and_task(documents, tmp_path):
    train, evaluation, report = build_instructions(documents, {}, _params(tmp_path))
    instances = instances_from_records(train)
    assert {i.task for i in instances} == {"ner", "re"}
    assert {i.document_id for i in instances} == {d.id for d in documents["demo/train"]}
    summary = report["train"]["demo/train"]
    assert summary["entity_types"] == ["Chemical", "Disease"]
    assert summary["relation_types"] == ["CID"]
    assert summary["instances"] == len(train)
    assert report["eval"]["demo/test"]["instances"] == len(evaluation)


def test_iepile_with_rait_is_refused_before_anything_runs(documents, tmp_path):
    params = _params(tmp_path, rait={"enabled": True, "strategy": "nearest", "k": 2})
    with pytest.raises(ValueError, match="RA-IT"):
        build_instructions(documents, {}, params)


def test_training_block_is_validated_by_sft_settings(tmp_path):
    from pydantic import ValidationError

    from bioie_kedro.decoders.sft import LoraSettings, SFTSettings
    from bioie_kedro.pipelines.decoder_sft.params import DecoderSftParams

    params = _params(tmp_path)
    params["training"] = {"adaptation": "lora", "lora": {"r": 4}, "learning_rate": "2e-4"}
    training = DecoderSftParams.parse(params).training
    assert isinstance(training, SFTSettings) and isinstance(training.lora, LoraSettings)
    assert (training.lora.r, training.lora.lora_alpha, training.learning_rate) == (4, 32, 2e-4)
    # a misspelt key, also inside the LoRA block, and an unknown sampling strategy are refused
    for bad, where in (
        ({"learning_rat": 1e-3}, "training.learning_rat"),
        ({"lora": {"rank": 4}}, "training.lora.rank"),
        ({"train_sampling_strategy": "by_length"}, "training.train_sampling_strategy"),
    ):
        params["training"] = bad
        with pytest.raises(ValidationError, match=where.replace(".", r"\.")):
            DecoderSftParams.parse(params)


def test_sentence_units_skip_relations_and_count_them(documents, tmp_path):
    train, _, report = build_instructions(documents, {}, _params(tmp_path, unit="sentence"))
    ids = {i.document_id for i in instances_from_records(train)}
    assert all("#" in i for i in ids)
    summary = report["train"]["demo/train"]
    assert summary["skipped"]["re_on_sentences"] == summary["units"]
    assert summary["entities_crossing_sentences"] == 0


def test_rait_needs_neighbours_of_the_same_granularity(documents, tmp_path):
    params = _params(
        tmp_path, format="conversation", rait={"enabled": True, "strategy": "nearest", "k": 2}
    )
    params["instructions"]["train"][0]["tasks"] = ["ner"]
    with pytest.raises(ValueError, match="granularity"):
        build_instructions(documents, {"granularity": "sentence", "corpus": "demo"}, params)


def test_rait_examples_are_put_in_the_prompt(documents, tmp_path):
    params = _params(
        tmp_path, format="conversation", rait={"enabled": True, "strategy": "nearest", "k": 1}
    )
    params["instructions"]["train"][0]["tasks"] = ["ner"]
    params["instructions"]["eval"][0]["tasks"] = ["ner"]
    train_ids = [d.id for d in documents["demo/train"]]
    test_ids = [d.id for d in documents["demo/test"]]
    neighbours = {
        "granularity": "document",
        "corpus": "demo",
        "neighbours": {
            "train": {
                "nearest": {
                    i: [{"id": train_ids[(n + 1) % len(train_ids)]}]
                    for n, i in enumerate(train_ids)
                }
            },
            "test": {"nearest": {i: [{"id": train_ids[0]}] for i in test_ids}},
        },
    }
    train, evaluation, report = build_instructions(documents, neighbours, params)
    assert report["train"]["demo/train"]["units_with_rait_examples"] > 0
    first = instances_from_records(evaluation)[0]
    example_text = documents["demo/train"][0].text
    assert any(example_text[:60] in m["content"] for m in first.messages)


def test_gold_answers_map_back_to_the_gold_spans(documents, tmp_path):
    """Answering with the gold answer must give back the gold entities (the span mapper)."""
    params = _params(tmp_path)
    _, evaluation, _ = build_instructions(documents, {}, params)
    generations = [{"id": r["id"], "text": r["answer"]} for r in evaluation]
    predictions, report = extract_predictions(evaluation, generations, documents, params)
    entry = report["partitions"]["demo/test"]
    assert entry["parse"]["by_status"]["unparsable"] == 0
    assert entry["ner_strings"]["f1"] == pytest.approx(1.0)
    gold = {(d.id, e.type, e.start, e.end) for d in documents["demo/test"] for e in d.entities}
    predicted = {
        (d.id, e.type, e.start, e.end) for d in predictions["demo/test"] for e in d.entities
    }
    # a gold mention string is placed at every occurrence, so gold spans are all found
    assert gold <= predicted
    assert all(PREDICTED_MENTIONS_ATTRIBUTE in d.attributes for d in predictions["demo/test"])


def test_unparsable_answers_are_marked_and_counted(documents, tmp_path):
    params = _params(tmp_path)
    _, evaluation, _ = build_instructions(documents, {}, params)
    generations = [{"id": r["id"], "text": "I cannot answer that"} for r in evaluation]
    predictions, report = extract_predictions(evaluation, generations, documents, params)
    entry = report["partitions"]["demo/test"]
    assert entry["parse"]["by_status"]["unparsable"] == len(evaluation)
    assert all(
        d.attributes.get(PARSE_STATUS_ATTRIBUTE) == "unparsable" for d in predictions["demo/test"]
    )
    assert not any(d.entities for d in predictions["demo/test"])


def test_one_unparsable_sentence_keeps_the_rest_of_its_document(documents, tmp_path):
    """Sentence units: a failed sentence loses its own gold, not its document's other answers."""
    params = _params(tmp_path, unit="sentence", format="listing")
    _, evaluation, _ = build_instructions(documents, {}, params)
    instances = instances_from_records(evaluation)
    units_of: dict[str, set[str]] = {}
    for instance in instances:
        parent = instance.document_id.rsplit(SENTENCE_ID_SEPARATOR, 1)[0]
        units_of.setdefault(parent, set()).add(instance.document_id)
    _, first_units = next((d, u) for d, u in units_of.items() if len(u) >= 2)
    failing = sorted(first_units)[0]
    generations = [
        {"id": i.id, "text": "no list here" if i.document_id == failing else i.answer}
        for i in instances
    ]
    predictions, report = extract_predictions(evaluation, generations, documents, params)
    entry = report["partitions"]["demo/test"]
    failed_instances = sum(i.document_id == failing for i in instances)
    assert entry["parse"]["by_status"]["unparsable"] == failed_instances
    assert entry["documents_unparsable"] == 0
    assert entry["documents_partly_unparsable"] == 1
    (partial,) = [d for d in predictions["demo/test"] if UNPARSABLE_UNITS_ATTRIBUTE in d.attributes]
    assert partial.attributes[UNPARSABLE_UNITS_ATTRIBUTE] == "1"
    assert PARSE_STATUS_ATTRIBUTE not in partial.attributes
    said = json.loads(partial.attributes[PREDICTED_MENTIONS_ATTRIBUTE])
    others = [i for i in instances if i.document_id in first_units and i.document_id != failing]
    expected = sorted(m for i in others for items in i.gold.values() for m in items)
    assert sorted(m for items in said.values() for m in items) == expected


def test_three_step_sft_and_generation_slice(documents, tmp_path):
    params = _params(tmp_path)
    catalog = DataCatalog(
        {
            "documents": MemoryDataset(documents),
            "rait_neighbours": MemoryDataset({}),
            "params:decoder_sft": MemoryDataset(params),
            # saved datasets: the runner frees memory datasets once their consumers ran
            "decoder_model": CausalLMDataset(path=str(tmp_path / "model")),
            **{
                f"decoder_sft.{name}": JSONDataset(filepath=str(tmp_path / f"{name}.json"))
                for name in ("prediction_report", "generation_report", "eval_instructions")
            },
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    model = catalog.load("decoder_model")
    assert model.training_log["sft"]["global_steps"] == 3
    report = catalog.load("decoder_sft.prediction_report")
    entry = report["partitions"]["demo/test"]
    assert entry["instances"] == len(catalog.load("decoder_sft.eval_instructions"))
    assert sum(entry["parse"]["by_status"].values()) == entry["instances"]
    generation = catalog.load("decoder_sft.generation_report")
    assert generation["prompts"] == entry["instances"]
    assert set(entry["parse"]["by_status"]) == {"ok", "repaired", "unparsable"}
