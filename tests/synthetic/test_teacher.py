"""Gold relations as annotation answers (the relation teacher's training data)."""

from __future__ import annotations

import json
from collections import Counter

from bioie_kedro.annotation.prompts import relation_prompt, validate_answer
from bioie_kedro.annotation.teacher import gold_relation_answer, teacher_examples
from bioie_kedro.corpora.ddi import DDI_TYPES, read_ddi
from bioie_kedro.relation_extraction import RelationSpec, sentence_units
from bioie_kedro.relation_extraction.candidates import SentenceEntity, SentenceUnit
from bioie_kedro.relation_extraction.examples import gold_pair_labels
from bioie_kedro.segmentation import segment_document

DDI_ENTITY_TYPES = ("drug", "brand", "group", "drug_n")


def test_gold_answers_read_back_to_the_gold_relations_on_ddi(shared_data):
    spec = RelationSpec.from_mapping(
        {f"{a}|{b}": sorted(DDI_TYPES) for a in DDI_ENTITY_TYPES for b in DDI_ENTITY_TYPES}
    )
    docs = read_ddi(shared_data / "ddi/DDICorpus/Train", source="ddi", split="train").documents
    units, labels, gold_total = [], {}, 0
    for doc in docs[:120]:
        doc_units, _ = sentence_units(segment_document(doc), entity_types=spec.entity_types)
        doc_labels, counts = gold_pair_labels(doc, doc_units)
        gold_total += counts["gold_relations"] - counts["gold_relations_across_sentences"]
        units += doc_units
        labels.update(doc_labels)
    examples, counts = teacher_examples(units, spec, labels)
    assert counts["examples_with_relations"] > 20
    assert counts["sentences"] == counts["examples"] + counts["sentences_without_candidate_pair"]
    # every gold relation inside a sentence is written, or counted as not writable
    written = sum(len(json.loads(answer)["relations"]) for _, answer in examples)
    assert written == counts["gold_relations_written"]
    assert written + counts["gold_relations_not_listed"] + counts[
        "gold_relations_not_allowed"
    ] == sum(len(v) for v in labels.values())
    by_prompt = {prompt.sha256: answer for prompt, answer in examples}
    checked = 0
    for unit in units:
        prompt = relation_prompt(unit, spec)
        if prompt is None:
            continue
        validated = validate_answer(unit, spec, by_prompt[prompt.sha256])
        assert validated.problem is None and not validated.rejected
        expected = {(rel, h, t) for (h, t), rel in labels.get(unit.key, {}).items()}
        assert set(validated.accepted) == expected
        checked += 1
    assert checked == counts["examples"]


def _unit() -> SentenceUnit:
    text = "Aspirin raises warfarin levels; aspirin and heparin interact."
    entities = [
        SentenceEntity("T1", "drug", "Aspirin", [(0, 7)]),
        SentenceEntity("T2", "drug", "warfarin", [(15, 23)]),
        SentenceEntity("T3", "drug", "aspirin", [(32, 39)]),
        SentenceEntity("T4", "drug", "heparin", [(44, 51)]),
    ]
    return SentenceUnit("ddi", "train", "d1", 0, 0, len(text), text, entities)


def test_answer_order_ids_and_unwritable_relations_counted():
    spec = RelationSpec.from_mapping({"drug|drug": ["effect", "mechanism"]})
    counts: Counter[str] = Counter()
    labels = {
        ("T3", "T4"): "effect",
        ("T1", "T2"): "mechanism",
        ("T2", "T9"): "effect",  # T9 is not in the sentence
        ("T1", "T4"): "advise",  # not allowed by the spec
    }
    answer = gold_relation_answer(_unit(), spec, labels, counts)
    assert json.loads(answer) == {
        "relations": [
            {"relation": "mechanism", "head": "E1", "tail": "E2"},
            {"relation": "effect", "head": "E3", "tail": "E4"},
        ]
    }
    assert counts == Counter(
        gold_relations_written=2, gold_relations_not_listed=1, gold_relations_not_allowed=1
    )
    # a sentence that states nothing is answered with the empty list
    assert json.loads(gold_relation_answer(_unit(), spec, {})) == {"relations": []}
