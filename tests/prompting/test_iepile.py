"""IEPile format: schema chunks, negatives, order, the instruction JSON, and IEPile records."""

from __future__ import annotations

import json
import random

import pytest

from bioie_kedro.prompting import Example, IEPileSettings, chunk_schema, iepile
from bioie_kedro.schema import Document, Entity, Relation, validate_document
from tests.prompting.builders import CDR_NER_GOLD, CDR_RE_GOLD, cdr_doc, empty_doc

KEYS = [f"T{i:02d}" for i in range(15)]


@pytest.mark.parametrize(
    ("count", "split_num", "sizes"),
    [
        (13, 6, [6, 7]),
        (15, 6, [6, 6, 3]),
        (5, 6, [5]),
        (6, 6, [6]),
        (14, 6, [6, 8]),  # a leftover of 2 < 3 joins the last chunk
        (9, 4, [4, 5]),
        (10, 4, [4, 4, 2]),
        (3, 1, [1, 1, 1]),
        (15, -1, [15]),
        (0, 6, []),
    ],
)
def test_chunk_schema(count, split_num, sizes):
    chunks = chunk_schema(KEYS[:count], split_num)
    assert [len(chunk) for chunk in chunks] == sizes
    assert [key for chunk in chunks for key in chunk] == KEYS[:count]  # order kept, nothing lost


def test_chunk_schema_rejects_zero():
    with pytest.raises(ValueError, match="split_num"):
        chunk_schema(KEYS, 0)


def test_render_ner_writes_iepile_instruction_json_and_answer():
    settings = IEPileSettings(entity_types=("Chemical", "Disease"))
    (instance,) = iepile.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    (user,) = instance.messages
    assert user["role"] == "user"
    assert json.loads(user["content"]) == {
        "instruction": iepile.INSTRUCTIONS[("ner", "en")],
        "schema": ["Chemical", "Disease"],
        "input": cdr_doc().text,
    }
    assert user["content"].startswith('{"instruction": "You are an expert in named entity')
    assert instance.answer == json.dumps(CDR_NER_GOLD)
    assert instance.gold == CDR_NER_GOLD
    assert instance.id == "bc5cdr|cdr1|iepile|ner|0"
    assert instance.meta == {
        "chunk": 0,
        "chunks": 1,
        "negative_keys": [],
        "labels": {"Chemical": "Chemical", "Disease": "Disease"},
        "dedupe": False,
    }


def test_render_re_answers_head_tail_objects():
    settings = IEPileSettings(relation_types=("CID",))
    (instance,) = iepile.render(cdr_doc(), task="re", settings=settings, rng=random.Random(0))
    assert json.loads(instance.answer) == {
        "CID": [{"head": head, "tail": tail} for head, tail in CDR_RE_GOLD["CID"]]
    }
    assert instance.gold == CDR_RE_GOLD
    assert json.loads(instance.messages[0]["content"])["instruction"].startswith(
        "You are an expert in relationship extraction."
    )


def test_labels_are_shown_and_mapped_back():
    settings = IEPileSettings(
        entity_types=("Chemical", "Disease"), labels={"Chemical": "chemical compound"}
    )
    (instance,) = iepile.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert json.loads(instance.messages[0]["content"])["schema"] == ["chemical compound", "Disease"]
    assert list(json.loads(instance.answer)) == ["chemical compound", "Disease"]
    parsed = iepile.parse(instance.answer, instance)
    assert (parsed.status, parsed.answer) == ("ok", CDR_NER_GOLD)


def test_every_key_is_asked_in_chunks_with_negatives_by_default():
    schema = ("Chemical", "Disease", "Gene", "Species", "Variant", "CellLine", "Mutation")
    settings = IEPileSettings(entity_types=schema, split_num=4, system_prompt="Be precise.")
    instances = iepile.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert [instance.keys for instance in instances] == [schema[:4], schema[4:]]
    assert [instance.meta["negative_keys"] for instance in instances] == [
        ["Gene", "Species"],
        ["Variant", "CellLine", "Mutation"],
    ]
    assert instances[1].gold == dict.fromkeys(schema[4:], [])
    assert instances[0].messages[0] == {"role": "system", "content": "Be precise."}
    assert len({instance.id for instance in instances}) == 2


def test_sampled_negatives_keep_positives_and_ask_at_least_one_key():
    schema = tuple(f"N{i}" for i in range(20)) + ("Chemical", "Disease")
    settings = IEPileSettings(entity_types=schema, negative_share=0.2, split_num=-1)
    counts = []
    for seed in range(30):
        (instance,) = iepile.render(
            cdr_doc(), task="ner", settings=settings, rng=random.Random(seed)
        )
        assert {"Chemical", "Disease"} <= set(instance.keys)
        assert [key for key in schema if key in instance.keys] == list(instance.keys)
        counts.append(len(instance.keys) - 2)
    assert 0 < sum(counts) / len(counts) < 10  # about 0.2 * 22 = 4.4 negatives on average
    (instance,) = iepile.render(empty_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert len(instance.keys) >= 1 and not any(instance.gold.values())


def test_random_sort_is_reproducible_with_a_seeded_rng():
    schema = tuple(f"T{i}" for i in range(10)) + ("Chemical", "Disease")
    settings = IEPileSettings(entity_types=schema, random_sort=True)

    def order(seed):
        instances = iepile.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(seed))
        return [key for instance in instances for key in instance.keys]

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == sorted(schema)
    unsorted = IEPileSettings(entity_types=schema)
    instances = iepile.render(cdr_doc(), task="ner", settings=unsorted, rng=random.Random(1))
    assert [key for instance in instances for key in instance.keys] == list(schema)


def test_chinese_template_and_custom_instruction():
    doc = cdr_doc()
    zh = IEPileSettings(entity_types=("Chemical",), language="zh")
    (instance,) = iepile.render(doc, task="ner", settings=zh, rng=random.Random(0))
    assert json.loads(instance.messages[0]["content"])["instruction"].startswith(
        "你是专门进行实体抽取的专家"
    )
    custom = IEPileSettings(entity_types=("Chemical",), instruction="List the entities.")
    (instance,) = iepile.render(doc, task="ner", settings=custom, rng=random.Random(0))
    assert json.loads(instance.messages[0]["content"])["instruction"] == "List the entities."


def test_render_rejects_examples_and_unknown_tasks():
    settings = IEPileSettings(entity_types=("Chemical",))
    example = Example("text", {"Chemical": []}, "x")
    with pytest.raises(ValueError, match="no in-context examples"):
        iepile.render(
            cdr_doc(), task="ner", settings=settings, rng=random.Random(0), examples=[example]
        )
    with pytest.raises(ValueError, match="relation_types"):
        iepile.render(cdr_doc(), task="re", settings=settings, rng=random.Random(0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split_num": 0}, "split_num"),
        ({"split_num": -2}, "split_num"),
        ({"split_num": True}, "split_num"),
        ({"negative_share": 0.0}, "negative_share"),
        ({"negative_share": 1.5}, "negative_share"),
        ({"negative_share": "all"}, "negative_share"),
        ({"language": "de"}, "language"),
        ({"instruction": ""}, "instruction"),
    ],
)
def test_settings_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IEPileSettings(entity_types=("Chemical",), **kwargs)


def test_default_split_num_follows_iepile():
    settings = IEPileSettings(
        entity_types=tuple("ABCDEFGHIJKLM"), relation_types=tuple("abcdefghi")
    )
    assert (settings.chunk_size("ner"), settings.chunk_size("re")) == (6, 4)
    ner = iepile.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    re_ = iepile.render(cdr_doc(), task="re", settings=settings, rng=random.Random(0))
    assert [len(i.keys) for i in ner] == [6, 7] and [len(i.keys) for i in re_] == [4, 5]


def test_instance_from_record():
    record = {
        "task": "RE",
        "source": "NYT11",
        "instruction": json.dumps(
            {
                "instruction": "x",
                "schema": ["nationality", "place of death"],
                "input": "Edison died in West Orange.",
            }
        ),
        "output": '{"nationality": [], "place of death": [{"head": "Edison", "tail": "West Orange"}]}',
    }
    instance = iepile.instance_from_record(record, index=4)
    assert instance.gold == {"nationality": [], "place of death": [["Edison", "West Orange"]]}
    assert (instance.task, instance.document_id, instance.keys) == (
        "re",
        "4",
        ("nationality", "place of death"),
    )
    parsed = iepile.parse(instance.answer, instance, document_text=instance.meta["input"])
    assert (parsed.status, parsed.answer) == ("ok", instance.gold)
    with pytest.raises(ValueError, match="not an IEPile training record"):
        iepile.instance_from_record({"task": "NER", "instruction": "{", "output": "{}"})


def test_discontinuous_argument_is_not_in_the_text():
    """A discontinuous mention's text (spans joined by a space) may not occur in the text: with
    the text given, the parser drops the pair, as it would a hallucinated one."""
    text = "Beta- and alpha-blockers interact with clonidine."
    beta = Entity("e0", "drug", "Beta- blockers", [(0, 5), (16, 24)])
    alpha = Entity("e1", "drug", "alpha-blockers", [(10, 24)])
    clonidine = Entity("e2", "drug", "clonidine", [(39, 48)])
    doc = validate_document(
        Document(
            "d9",
            "ddi",
            "test",
            text,
            entities=[beta, alpha, clonidine],
            relations=[Relation("p0", "effect", "e0", "e2"), Relation("p1", "effect", "e1", "e2")],
        )
    )
    settings = IEPileSettings(relation_types=("effect",))
    (instance,) = iepile.render(doc, task="re", settings=settings, rng=random.Random(0))
    assert instance.gold == {
        "effect": [["Beta- blockers", "clonidine"], ["alpha-blockers", "clonidine"]]
    }
    assert iepile.parse(instance.answer, instance).status == "ok"
    parsed = iepile.parse(instance.answer, instance, document_text=text)
    assert parsed.problems == ("mention_not_in_text",)
    assert parsed.answer == {"effect": [["alpha-blockers", "clonidine"]]}


def test_reproduces_the_english_example_of_the_iepile_readme():
    """The CoNLL2003 instance shown in IEPile's README (seed 004): the instruction byte for byte;
    the answer has the same keys in order and the same items, ours in text order."""
    text = (
        "284 Robert Allenby ( Australia ) 69 71 71 73 , Miguel Angel Martin ( Spain ) 75 70 71 68"
        " ( Allenby won at first play-off hole )"
    )
    mentions = [
        ("person", "Robert Allenby", 0),
        ("location", "Australia", 0),
        ("person", "Miguel Angel Martin", 0),
        ("location", "Spain", 0),
        ("person", "Allenby", 1),
    ]
    entities = []
    for index, (entity_type, mention, nth) in enumerate(mentions):
        start = -1
        for _ in range(nth + 1):
            start = text.index(mention, start + 1)
        entities.append(Entity(f"T{index}", entity_type, mention, [(start, start + len(mention))]))
    doc = validate_document(Document("conll", "CoNLL2003", "train", text, entities=entities))
    settings = IEPileSettings(entity_types=("person", "organization", "else", "location"))
    (instance,) = iepile.render(doc, task="ner", settings=settings, rng=random.Random(0))
    assert instance.messages[0]["content"] == (
        '{"instruction": "You are an expert in named entity recognition. Please extract entities '
        "that match the schema definition from the input. Return an empty list if the entity type "
        'does not exist. Please respond in the format of a JSON string.", "schema": ["person", '
        '"organization", "else", "location"], "input": "284 Robert Allenby ( Australia ) 69 71 71 '
        '73 , Miguel Angel Martin ( Spain ) 75 70 71 68 ( Allenby won at first play-off hole )"}'
    )
    assert instance.answer == (
        '{"person": ["Robert Allenby", "Miguel Angel Martin", "Allenby"], "organization": [], '
        '"else": [], "location": ["Australia", "Spain"]}'
    )
    readme_output = (
        '{"person": ["Robert Allenby", "Allenby", "Miguel Angel Martin"], "organization": [], '
        '"else": [], "location": ["Australia", "Spain"]}'
    )
    parsed = iepile.parse(readme_output, instance, document_text=text)
    assert parsed.status == "ok"
    assert {key: sorted(items) for key, items in parsed.answer.items()} == {
        key: sorted(items) for key, items in instance.gold.items()
    }
