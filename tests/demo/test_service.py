"""The web demo's service without the web: model choice, errors, and both kinds of model on the
catalog of a `kedro run --env test`."""

from __future__ import annotations

import pytest

from bioie_kedro.demo.service import MAX_TEXT_CHARS, DemoError, DemoService, input_document
from tests.trained_project import PROJECT_ROOT

TEXT = (
    "Naloxone reverses the antihypertensive effect of clonidine.\n"
    "Lithium-induced nephrogenic diabetes insipidus was observed."
)


class FakeCatalog:
    """Only `exists` and `load`; records what was loaded."""

    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.loaded: list[str] = []

    def exists(self, name: str) -> bool:
        if name == "broken":
            raise RuntimeError("unreadable")
        return name in self.present

    def load(self, name: str):
        self.loaded.append(name)
        raise AssertionError(f"{name} should not be loaded")


def test_input_document_keeps_the_offsets_of_the_pasted_text():
    doc = input_document("a\r\nb\nc")
    assert doc.text == "a  b c" and len(doc.text) == 6
    assert doc.passages[0].offsets == [(0, 6)]
    assert input_document("").passages == []


def test_models_report_what_the_catalog_holds():
    service = DemoService(FakeCatalog({"encoder_ner_model"}))
    available = {m["name"]: m["available"] for m in service.models()}
    assert available == {"encoder_ner_model": True, "decoder_model": False, "dfpo_model": False}
    assert {m["kind"] for m in service.models()} == {"encoder", "decoder"}


def test_requests_the_demo_cannot_serve_raise_clear_errors():
    catalog = FakeCatalog({"encoder_ner_model"})
    service = DemoService(catalog)
    with pytest.raises(DemoError, match="unknown model 'gpt'"):
        service.annotate(TEXT, "gpt")
    with pytest.raises(DemoError, match="decoder_model is not trained yet"):
        service.annotate(TEXT, "decoder_model")
    with pytest.raises(DemoError, match="too long"):
        service.annotate("x" * (MAX_TEXT_CHARS + 1), "encoder_ner_model")
    # an empty text needs no model at all
    empty = service.annotate("  \n", "encoder_ner_model")
    assert empty["entities"] == [] and catalog.loaded == []


@pytest.fixture(scope="module")
def service(trained_data_root) -> DemoService:
    return DemoService.from_project(
        str(PROJECT_ROOT), env="test", runtime_params={"data_root": str(trained_data_root)}
    )


@pytest.mark.slow
def test_encoder_entities_are_spans_of_the_pasted_text(service):
    result = service.annotate(TEXT, "encoder_ner_model")
    assert result["kind"] == "encoder" and result["relations"] == []
    for entity in result["entities"]:
        assert TEXT[entity["start"] : entity["end"]].replace("\n", " ") == entity["text"]
        assert entity["type"] in {"Chemical", "Disease"}


@pytest.mark.slow
def test_decoder_answers_its_training_tasks_with_retrieved_examples(service, trained_data_root):
    from bioie_kedro.retrieval.index import VectorIndex

    result = service.annotate(TEXT, "decoder_model", examples=3)
    # conf/test trains decoder_sft on NER and RE instructions (IEPile), one answer per task
    assert [a["task"] for a in result["answers"]] == ["ner", "re"]
    assert result["format"] == "iepile" and result["examples_in_prompt"] is False
    for entity in result["entities"]:
        assert TEXT[entity["start"] : entity["end"]].replace("\n", " ") == entity["text"]
    # the retrieved examples are the index's nearest training documents, best first
    (index_dir,) = (trained_data_root / "06_models" / "retrieval" / "index").glob("*/index")
    nearest = VectorIndex.load(index_dir).search_texts([TEXT.replace("\n", " ")], 3)[0]
    assert [(x["id"], x["score"]) for x in result["examples"]] == [
        (unit_id, round(score, 4)) for unit_id, score in nearest
    ]
    assert all(x["text"] and x["entities"] for x in result["examples"])
