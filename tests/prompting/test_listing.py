"""DFPO / RAG-ICL list-answer format: the prompt text, examples, NER and RE answers."""

from __future__ import annotations

import random

from bioie_kedro.prompting import Example, ListingSettings, listing
from tests.prompting.builders import CDR_NER_GOLD, CDR_RE_GOLD, CDR_TEXT, cdr_doc, ddi_doc


def test_prompt_without_examples():
    settings = ListingSettings(entity_types=("Chemical", "Disease"))
    chemical, disease = listing.render(
        cdr_doc(), task="ner", settings=settings, rng=random.Random(0)
    )
    (user,) = chemical.messages
    assert user["content"] == (
        "Your task is to identify and extract Chemical entities from the given text. Provide the "
        "output as a single JSON list containing the Chemical entities as strings, in the order "
        "they appear in the text, and an empty list if there are none.\n\n"
        f"Input: {CDR_TEXT}\nOutput:"
    )
    assert chemical.answer == '["Cisplatin", "Cisplatin", "aspirin", "cisplatin"]'
    assert {**chemical.gold, **disease.gold} == CDR_NER_GOLD
    assert chemical.id == "bc5cdr|cdr1|listing|ner|Chemical"


def test_prompt_with_numbered_examples():
    settings = ListingSettings(entity_types=("Disease",), labels={"Disease": "disease"})
    examples = [
        Example("Aspirin caused gastritis.", {"Disease": ["gastritis"]}, "t1"),
        Example("No finding.", {}, "t2"),
    ]
    (instance,) = listing.render(
        cdr_doc(), task="ner", settings=settings, rng=random.Random(0), examples=examples
    )
    content = instance.messages[-1]["content"]
    assert content.startswith(
        "Your task is to identify and extract disease entities from the given text. Below are some"
        " examples demonstrating the input text and the expected output format. Provide"
    )
    assert (
        '### Example 1\nInput: Aspirin caused gastritis.\nOutput: ["gastritis"]\n\n'
        "### Example 2\nInput: No finding.\nOutput: []\n\n"
        "Now, extract the disease entities from the following text."
    ) in content
    assert content.endswith(f"Input: {CDR_TEXT}\nOutput:")
    assert instance.meta["example_ids"] == ["t1", "t2"]


def test_relations_answer_head_tail_pairs():
    settings = ListingSettings(relation_types=("CID",))
    (instance,) = listing.render(cdr_doc(), task="re", settings=settings, rng=random.Random(0))
    assert instance.gold == CDR_RE_GOLD
    assert instance.answer.startswith('[["Cisplatin", "nephrotoxicity"], ')
    assert "[head, tail] pairs" in instance.messages[-1]["content"]
    ddi = ListingSettings(relation_types=("mechanism", "effect", "advise", "int"))
    instances = listing.render(ddi_doc(), task="re", settings=ddi, rng=random.Random(0))
    assert [instance.answer for instance in instances] == [
        '[["Warfarin", "rifampin"]]',
        '[["Aspirin", "warfarin"]]',
        "[]",
        "[]",
    ]
    for instance in instances:
        parsed = listing.parse(instance.answer, instance, document_text=ddi_doc().text)
        assert (parsed.status, parsed.answer) == ("ok", instance.gold)


def test_dedupe_setting_and_system_prompt():
    settings = ListingSettings(
        entity_types=("Chemical",), dedupe=True, system_prompt="You extract."
    )
    (instance,) = listing.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert instance.answer == '["Cisplatin", "aspirin", "cisplatin"]'
    assert instance.messages[0] == {"role": "system", "content": "You extract."}
    parsed = listing.parse('["aspirin", "aspirin"]', instance)
    assert parsed.answer == {"Chemical": ["aspirin"]} and parsed.problems == ("repeated_output",)
