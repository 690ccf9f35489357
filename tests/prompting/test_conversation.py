"""RA-IT / UniversalNER conversation format: turns, one question per type, negatives, examples."""

from __future__ import annotations

import json
import random

import pytest

from bioie_kedro.prompting import ConversationSettings, Example, conversation
from tests.prompting.builders import CDR_TEXT, cdr_doc, empty_doc

SCHEMA = ("Chemical", "Disease", "Gene", "Species")


def test_messages_answer_and_gold_for_every_type():
    settings = ConversationSettings(entity_types=SCHEMA, all_types=True, shuffle=False)
    instances = conversation.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert [instance.keys for instance in instances] == [(key,) for key in SCHEMA]
    chemical = instances[0]
    assert list(chemical.messages) == [
        {"role": "system", "content": conversation.UNIVERSAL_NER_SYSTEM},
        {"role": "user", "content": f"Text: {CDR_TEXT}"},
        {"role": "assistant", "content": "I've read this text."},
        {"role": "user", "content": "What describes Chemical in the text?"},
    ]
    # Deduplicated, first occurrences in text order.
    assert chemical.answer == '["Cisplatin", "aspirin", "cisplatin"]'
    assert chemical.gold == {"Chemical": ["Cisplatin", "aspirin", "cisplatin"]}
    assert instances[2].answer == "[]" and instances[2].meta["negative"]
    assert chemical.id == "bc5cdr|cdr1|conversation|ner|Chemical"
    # Every question has the same prompt up to the question: no earlier answer leaks in.
    assert all(instance.messages[:-1] == chemical.messages[:-1] for instance in instances)


def test_labels_and_question_template():
    settings = ConversationSettings(
        entity_types=SCHEMA,
        all_types=True,
        shuffle=False,
        labels={"Chemical": "chemical"},
        question='What describes "{label}" in the text?',
        system_prompt=None,
    )
    (chemical, *_) = conversation.render(
        cdr_doc(), task="ner", settings=settings, rng=random.Random(0)
    )
    assert chemical.messages[0]["role"] == "user"
    assert chemical.messages[-1]["content"] == 'What describes "chemical" in the text?'
    assert chemical.meta["labels"] == {"chemical": "Chemical"}


def test_training_asks_positives_and_sampled_negatives_without_duplicates():
    schema = ("Chemical", "Disease") + tuple(f"N{i}" for i in range(8))
    frequencies = {"N0": 100, "N1": 1, "Chemical": 5, "Disease": 5}  # N2…N7 weigh 0
    settings = ConversationSettings(entity_types=schema, type_frequencies=frequencies)
    seen_negatives = []
    for seed in range(40):
        instances = conversation.render(
            cdr_doc(), task="ner", settings=settings, rng=random.Random(seed)
        )
        keys = [instance.keys[0] for instance in instances]
        assert len(keys) == len(set(keys)) <= 4  # two positives, at most one negative each
        assert {"Chemical", "Disease"} <= set(keys)
        negatives = [key for key in keys if key not in ("Chemical", "Disease")]
        assert all(
            instance.meta["negative"] == (instance.keys[0] in negatives) for instance in instances
        )
        seen_negatives += negatives
    assert set(seen_negatives) <= {"N0", "N1"}
    assert seen_negatives.count("N0") > seen_negatives.count("N1")
    # No entity, no question (RA-IT samples negatives per positive type).
    assert (
        conversation.render(empty_doc(), task="ner", settings=settings, rng=random.Random(0)) == []
    )


def test_negative_prob_zero_asks_only_positives_and_shuffle_is_seeded():
    settings = ConversationSettings(entity_types=SCHEMA, negative_prob=0.0)
    keys = {
        tuple(
            i.keys[0]
            for i in conversation.render(
                cdr_doc(), task="ner", settings=settings, rng=random.Random(s)
            )
        )
        for s in range(20)
    }
    assert keys == {("Chemical", "Disease"), ("Disease", "Chemical")}

    every = ConversationSettings(entity_types=tuple(f"T{i}" for i in range(12)), all_types=True)

    def order(seed):
        return [
            i.keys[0]
            for i in conversation.render(
                cdr_doc(), task="ner", settings=every, rng=random.Random(seed)
            )
        ]

    assert order(5) == order(5) != order(6)


def test_examples_turn_comes_before_the_text_turn():
    settings = ConversationSettings(
        entity_types=("Chemical", "Disease"), all_types=True, shuffle=False
    )
    example = Example(
        text="Aspirin caused gastritis and aspirin allergy.",
        answer={
            "Disease": ["gastritis", "aspirin allergy"],
            "Chemical": ["Aspirin", "aspirin"],
            "Gene": ["x"],
        },
        id="train-9",
    )
    (chemical, _) = conversation.render(
        cdr_doc(), task="ner", settings=settings, rng=random.Random(0), examples=[example, example]
    )
    system, intro, received, text_turn, read, question = chemical.messages
    entities = json.dumps(
        [
            {"Aspirin": "Chemical"},
            {"gastritis": "Disease"},
            {"aspirin": "Chemical"},
            {"aspirin allergy": "Disease"},
        ]
    )
    block = f"Text: {example.text}\nEntity: {entities}"
    assert intro == {
        "role": "user",
        "content": f"Here are some examples of named entity recognition:\n{block}\n{block}",
    }
    assert received == {"role": "assistant", "content": "I've read these examples."}
    assert text_turn["content"].startswith("Text: Cisplatin")
    assert chemical.meta["example_ids"] == ["train-9", "train-9"]


def test_only_ner_and_settings_validation():
    settings = ConversationSettings(entity_types=("Chemical",))
    with pytest.raises(ValueError, match="supports"):
        conversation.render(cdr_doc(), task="re", settings=settings, rng=random.Random(0))
    with pytest.raises(ValueError, match="NER only"):
        ConversationSettings(relation_types=("CID",))
    with pytest.raises(ValueError, match="negative_prob"):
        ConversationSettings(entity_types=("A",), negative_prob=2)
    with pytest.raises(ValueError, match="not in entity_types"):
        ConversationSettings(entity_types=("A",), type_frequencies={"B": 1})
    with pytest.raises(ValueError, match=">= 0"):
        ConversationSettings(entity_types=("A",), type_frequencies={"A": -1})
    with pytest.raises(ValueError, match="label"):
        ConversationSettings(entity_types=("A",), question="What is it?")
