"""Real corpora: every format's parser reads back every gold answer it renders, and IEPile's own
sample data are reproduced and parsed.

NCBI-disease dev and BC5CDR dev for NER; BC5CDR dev (concept-level CID) and DDI test
(mention-level) for RE; zjunlp/IEPile's ``data/{NER,RE}`` samples for the IEPile format.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bioie_kedro.corpora.ddi import read_ddi
from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics.strings import score_strings
from bioie_kedro.prompting import (
    ConversationSettings,
    IEPileSettings,
    ListingSettings,
    get_format,
    iepile,
    ner_gold,
    parse_report,
    re_gold,
    to_string_records,
)
from bioie_kedro.schema import Document, Entity, Relation, validate_document

pytestmark = pytest.mark.real_data

NCBI_TYPES = ("SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention")
CDR_TYPES = ("Chemical", "Disease")
DDI_TYPES = ("mechanism", "effect", "advise", "int")


@pytest.fixture(scope="module")
def ncbi_dev(shared_data: Path) -> list[Document]:
    path = shared_data / "ncbi_disease" / "NCBIdevelopset_corpus.txt"
    return read_pubtator(path, source="ncbi_disease", split="dev").documents


@pytest.fixture(scope="module")
def cdr_dev(shared_data: Path) -> list[Document]:
    path = shared_data / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"
    return read_pubtator(path, source="bc5cdr", split="dev").documents


@pytest.fixture(scope="module")
def ddi_test(shared_data: Path) -> list[Document]:
    path = shared_data / "ddi" / "DDICorpus" / "Test" / "Test for DDI Extraction task"
    return read_ddi(path, source="ddi", split="test").documents


def ner_settings(name: str, types: tuple[str, ...]):
    if name == "iepile":
        return IEPileSettings(entity_types=types, split_num=1)  # one chunk per type
    if name == "conversation":
        return ConversationSettings(entity_types=types, all_types=True)
    return ListingSettings(entity_types=types)


def assert_round_trip(name: str, docs: list[Document], task: str, settings) -> dict:
    """parse(render(doc).answer) == gold for every instance; returns the parse report."""
    fmt = get_format(name)
    rng = random.Random(13)
    instances, parsed = [], []
    for doc in docs:
        rendered = fmt.render(doc, task=task, settings=settings, rng=rng)
        for instance in rendered:
            answer = fmt.parse(instance.answer, instance, document_text=doc.text)
            assert answer.status == "ok", (instance.id, answer.problems)
            assert answer.answer == instance.gold, instance.id
        merged: dict[str, list] = {}
        for instance in rendered:
            merged.update(instance.gold)
        expected = (
            ner_gold(doc, settings.entity_types, dedupe=settings.dedupe)
            if task == "ner"
            else re_gold(doc, settings.relation_types)
        )
        assert merged == expected, doc.id
        instances += rendered
        parsed += [fmt.parse(instance.answer, instance) for instance in rendered]
    scores = score_strings(to_string_records(instances, parsed), bootstrap=0)
    assert scores.pooled.scores.f1 == 1.0 and scores.pooled.records == len(docs)
    return parse_report(parsed)


@pytest.mark.parametrize("name", ["iepile", "conversation", "listing"])
def test_ner_round_trip_ncbi_disease_dev(name, ncbi_dev):
    report = assert_round_trip(name, ncbi_dev, "ner", ner_settings(name, NCBI_TYPES))
    assert report["by_status"]["ok"] == report["total"] > len(ncbi_dev)


@pytest.mark.parametrize("name", ["iepile", "conversation", "listing"])
def test_ner_round_trip_bc5cdr_dev(name, cdr_dev):
    assert len(cdr_dev) == 500
    report = assert_round_trip(name, cdr_dev, "ner", ner_settings(name, CDR_TYPES))
    assert report["by_status"]["ok"] == report["total"] == 2 * len(cdr_dev)


def test_conversation_training_prompts_round_trip_on_bc5cdr_dev(cdr_dev):
    settings = ConversationSettings(entity_types=CDR_TYPES + ("Gene", "Species"))
    fmt = get_format("conversation")
    rng = random.Random(0)
    negatives = 0
    for doc in cdr_dev[:100]:
        for instance in fmt.render(doc, task="ner", settings=settings, rng=rng):
            parsed = fmt.parse(instance.answer, instance, document_text=doc.text)
            assert (parsed.status, parsed.answer) == ("ok", instance.gold)
            negatives += instance.meta["negative"]
    assert negatives > 0


@pytest.mark.parametrize("name", ["iepile", "listing"])
def test_re_round_trip_bc5cdr_dev_cid(name, cdr_dev):
    settings = get_format(name).Settings(relation_types=("CID",))
    report = assert_round_trip(name, cdr_dev, "re", settings)
    assert report["total"] == len(cdr_dev)
    pairs = sum(len(re_gold(doc, ["CID"])["CID"]) for doc in cdr_dev)
    assert pairs > 900  # 1012 CID relations, a few collapse to the same strings


@pytest.mark.parametrize("name", ["iepile", "listing"])
def test_re_round_trip_ddi_test(name, ddi_test):
    """Mention-level pairs; a discontinuous argument's text is not in the text and is dropped."""
    fmt = get_format(name)
    settings = fmt.Settings(relation_types=DDI_TYPES)
    rng = random.Random(0)
    dropped = 0
    for doc in ddi_test:
        for instance in fmt.render(doc, task="re", settings=settings, rng=rng):
            assert fmt.parse(instance.answer, instance).answer == instance.gold
            checked = fmt.parse(instance.answer, instance, document_text=doc.text)
            in_text = {
                key: [pair for pair in items if pair[0] in doc.text and pair[1] in doc.text]
                for key, items in instance.gold.items()
            }
            assert checked.answer == in_text
            if in_text == instance.gold:
                assert checked.status == "ok"
            else:
                assert checked.problems == ("mention_not_in_text",)
                dropped += 1
    assert dropped <= 2  # none in the 2013 test set; the rule is unit-tested in test_iepile


def test_iepile_samples_parse_ok(shared_data):
    root = shared_data / "instruction_samples" / "iepile"
    instances = []
    for task in ("NER", "RE"):
        with open(root / task / "train.json", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        instances += [iepile.instance_from_record(r, index=i) for i, r in enumerate(records)]
    assert len(instances) == 6 + 72
    for instance in instances:
        parsed = iepile.parse(instance.answer, instance, document_text=instance.meta["input"])
        assert (parsed.status, parsed.answer) == ("ok", instance.gold), instance.id


def sample_document(index: int, sample: dict) -> Document:
    """An IEPile ``sample.json`` line as a document: each mention at its first occurrence."""
    text = sample["text"]
    entities: dict[tuple[str, str], Entity] = {}

    def mention(surface: str, entity_type: str) -> Entity:
        key = (surface, entity_type)
        if key not in entities:
            start = text.index(surface)
            entities[key] = Entity(
                f"T{len(entities)}", entity_type, surface, [(start, start + len(surface))]
            )
        return entities[key]

    for item in sample.get("entity", []):
        mention(item["entity"], item["entity_type"])
    relations = [
        Relation(
            f"R{i}",
            item["relation"],
            mention(item["head"], "arg").id,
            mention(item["tail"], "arg").id,
        )
        for i, item in enumerate(sample.get("relation", []))
    ]
    return validate_document(
        Document(
            str(index),
            "iepile",
            "train",
            text,
            entities=list(entities.values()),
            relations=relations,
        )
    )


@pytest.mark.parametrize("task", ["NER", "RE"])
def test_iepile_renderer_reproduces_the_sample_instructions(shared_data, task):
    """Rendering IEPile's sample documents with its Chinese template gives its instruction strings,
    byte for byte, and an answer with the same items (IEPile does not keep text order)."""
    root = shared_data / "instruction_samples" / "iepile" / task
    with open(root / "sample.json", encoding="utf-8") as handle:
        docs = {
            sample["text"]: sample_document(i, sample)
            for i, sample in enumerate(json.loads(line) for line in handle if line.strip())
        }
    with open(root / "train.json", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    for record in records:
        instruction = json.loads(record["instruction"])
        schema = tuple(instruction["schema"])
        settings = IEPileSettings(
            entity_types=schema if task == "NER" else (),
            relation_types=schema if task == "RE" else (),
            language="zh",
            split_num=-1,
            dedupe=True,
        )
        doc = docs[instruction["input"]]
        (instance,) = iepile.render(doc, task=task.lower(), settings=settings, rng=random.Random(0))
        assert instance.messages[0]["content"] == record["instruction"]
        theirs = iepile.instance_from_record(record)
        assert list(json.loads(instance.answer)) == list(json.loads(record["output"]))
        for key in schema:
            as_units = [tuple(item) if task == "RE" else item for item in instance.gold[key]]
            their_units = [tuple(item) if task == "RE" else item for item in theirs.gold[key]]
            assert Counter(as_units) == Counter(their_units), (record["instruction"], key)
