"""The relation prompt and its schema; strict parsing; validation of every triple by reason."""

from __future__ import annotations

import json

import pytest

from bioie_kedro.annotation import parse_relation_answer, relation_prompt, validate_answer
from bioie_kedro.relation_extraction import RelationSpec, sentence_units
from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import segment_document

SPEC = RelationSpec.from_mapping(
    {
        "Chemical|Disease": ["treats", "causes"],
        "Gene|Disease": ["biomarker_for", "plays_causal_role_in"],
    }
)
TEXT = "Tamoxifen treats breast cancer, and BRCA1 marks breast cancer risk."


def unit():
    spans = [
        ("T1", "Chemical", "Tamoxifen", 0),
        ("T2", "Disease", "breast cancer", 17),
        ("T3", "Gene", "BRCA1", 36),
        ("T4", "Disease", "breast cancer", 48),
        ("T5", "Species", "patients", None),
    ]
    entities = [
        Entity(eid, etype, mention, [(start, start + len(mention))])
        for eid, etype, mention, start in spans
        if start is not None
    ]
    doc = segment_document(Document("d1", "toy", "train", TEXT, entities=entities))
    (sentence,), _ = sentence_units(doc)
    return sentence


def test_prompt_lists_entities_by_id_and_the_relations_of_the_pairs_present():
    prompt = relation_prompt(unit(), SPEC)
    user = prompt.messages[-1]["content"]
    assert f"Sentence: {TEXT}" in user
    # a repeated name is two entities with two ids
    assert "E2 | Disease | breast cancer\nE3 | Gene | BRCA1\nE4 | Disease | breast cancer" in user
    assert (
        "Chemical | Disease: treats, causes\nGene | Disease: biomarker_for, plays_causal_role_in"
        in user
    )
    schema = prompt.response_schema["properties"]["relations"]["items"]["properties"]
    assert schema["head"]["enum"] == ["E1", "E2", "E3", "E4"]
    assert schema["relation"]["enum"] == sorted(SPEC.relation_names)
    assert prompt.sha256 == relation_prompt(unit(), SPEC).sha256
    lonely = unit()
    lonely.entities = lonely.entities[:1]
    assert relation_prompt(lonely, SPEC) is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"relations": []}', None),
        ('  {"relations": [{"relation": "treats", "head": "E1", "tail": "E2"}]}\n', None),
        ('```json\n{"relations": []}\n```', "invalid_json"),
        ('{"relations": []} trailing', "invalid_json"),
        ("{'relations': []}", "invalid_json"),
        ('{"relations": [NaN]}', "invalid_json"),
        ("", "invalid_json"),
        ('{"relations": [], "relations": []}', "malformed_answer"),
        ('{"relations": [], "why": "x"}', "malformed_answer"),
        ('{"relations": {"relation": "treats"}}', "malformed_answer"),
        ('[["treats", "E1", "E2"]]', "malformed_answer"),
    ],
)
def test_answers_are_parsed_strictly(answer, problem):
    assert parse_relation_answer(answer).problem == problem


def test_every_triple_is_validated_and_rejections_counted_by_reason():
    triples = [
        {"relation": "treats", "head": "E1", "tail": "E2"},  # accepted
        {"relation": "biomarker_for", "head": "E3", "tail": "E4"},  # accepted
        {"relation": "treats", "head": "E3", "tail": "E4"},  # Chemical|Disease only
        {"relation": "treats", "head": "E2", "tail": "E1"},  # head and tail swapped
        {"relation": "treats", "head": "E9", "tail": "E2"},
        {"relation": "treats", "head": "E1", "tail": "T2"},  # a document id is not listed
        {"relation": "treats", "head": "E1", "tail": "E1"},
        {"relation": "inhibits", "head": "E1", "tail": "E2"},
        {"relation": "treats", "head": "E1", "tail": "E2"},  # again
        {"relation": "causes", "head": "E1", "tail": "E2"},  # a second label for the pair
        ["treats", "E1", "E2"],
        {"relation": "treats", "head": "E1"},
        {"relation": "treats", "head": 1, "tail": "E2"},
    ]
    result = validate_answer(unit(), SPEC, json.dumps({"relations": triples}))
    assert result.problem is None and result.proposed == len(triples)
    assert result.accepted == [("treats", "T1", "T2"), ("biomarker_for", "T3", "T4")]
    assert result.rejected == {
        "relation_not_allowed_for_types": 1,
        "reversed_arguments": 1,
        "unknown_head": 1,
        "unknown_tail": 1,
        "same_head_and_tail": 1,
        "unknown_relation": 1,
        "duplicate": 1,
        "conflicting_label": 1,
        "malformed_triple": 3,
    }
    row = result.as_dict()
    assert row["relations"][0] == {"relation": "treats", "head": "T1", "tail": "T2"}


def test_an_unusable_answer_proposes_nothing():
    result = validate_answer(unit(), SPEC, "I think tamoxifen treats breast cancer.")
    assert (result.problem, result.accepted, result.proposed) == ("invalid_json", [], 0)
