"""Shared pieces of the instruction formats: gold views, settings, records, reports, registry."""

from __future__ import annotations

import json
import random

import pytest

from bioie_kedro.metrics.strings import score_strings
from bioie_kedro.prompting import (
    FORMATS,
    PROBLEMS,
    ConversationSettings,
    IEPileSettings,
    ListingSettings,
    ParsedAnswer,
    get_format,
    gold_answer,
    instances_from_records,
    instances_to_records,
    make_example,
    ner_gold,
    parse_report,
    re_gold,
    settings_help,
    to_string_records,
)
from bioie_kedro.schema import Relation
from tests.prompting.builders import CDR_NER_GOLD, CDR_RE_GOLD, cdr_doc, ddi_doc, empty_doc


def test_ner_gold_is_a_multiset_in_text_order_and_dedupes_on_request():
    doc = cdr_doc()
    assert ner_gold(doc, ["Chemical", "Disease"], dedupe=False) == CDR_NER_GOLD
    assert ner_gold(doc, ["Disease", "Chemical"], dedupe=True) == {
        "Disease": ["nephrotoxicity", "renal failure"],
        "Chemical": ["Cisplatin", "aspirin", "cisplatin"],
    }


def test_re_gold_concept_level_uses_first_mentions_and_collapses_duplicates():
    doc = cdr_doc()
    # A second CID between the same concepts would give the same strings: it is collapsed.
    doc.relations.append(Relation("R3", "CID", "MESH:D002945", "MESH:D007674", level="concept"))
    assert re_gold(doc, ["CID"]) == CDR_RE_GOLD


def test_re_gold_mention_level_uses_entity_texts_and_skips_other_types():
    assert re_gold(ddi_doc(), ["mechanism", "effect", "advise"]) == {
        "mechanism": [["Warfarin", "rifampin"]],
        "effect": [["Aspirin", "warfarin"]],
        "advise": [],
    }


def test_gold_answer_and_make_example_follow_the_settings():
    settings = IEPileSettings(entity_types=("Disease",), relation_types=("CID",), dedupe=True)
    assert gold_answer(cdr_doc(), task="ner", settings=settings) == {
        "Disease": ["nephrotoxicity", "renal failure"]
    }
    example = make_example(cdr_doc("train7"), task="re", settings=settings)
    assert (example.id, example.answer) == ("train7", CDR_RE_GOLD)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "entity_types or relation_types"),
        ({"entity_types": ["A", "A"]}, "more than once"),
        ({"entity_types": ["A", ""]}, "non-empty strings"),
        ({"entity_types": "A"}, "list of names"),
        ({"entity_types": ["A"], "labels": {"B": "b"}}, "not in the schema"),
        ({"entity_types": ["A", "B"], "labels": {"A": "B"}}, "same name"),
        ({"entity_types": ["A"], "labels": {"A": ""}}, "non-empty string"),
        ({"entity_types": ["A"], "system_prompt": " "}, "system_prompt"),
    ],
)
def test_schema_settings_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ListingSettings(**kwargs)


def test_settings_turn_lists_into_tuples_and_show_labels():
    settings = ListingSettings(entity_types=["Chemical", "Disease"], labels={"Chemical": "drug"})
    assert settings.entity_types == ("Chemical", "Disease")
    assert settings.shown("Chemical") == "drug" and settings.shown("Disease") == "Disease"
    assert settings.label_map(["Chemical"]) == {"drug": "Chemical"}
    with pytest.raises(ValueError, match="relation_types"):
        settings.keys_for("re")
    with pytest.raises(ValueError, match="task must be"):
        settings.keys_for("ee")
    assert settings_help(IEPileSettings)["split_num"].startswith("Most schema keys")


def test_registry():
    assert set(FORMATS) == {"iepile", "conversation", "listing"}
    assert get_format("listing").Settings is ListingSettings
    with pytest.raises(ValueError, match="known formats: conversation, iepile, listing"):
        get_format("alpaca")


def all_instances():
    rng = random.Random(3)
    docs = [cdr_doc(), empty_doc()]
    iepile = IEPileSettings(entity_types=("Chemical", "Disease"), relation_types=("CID",))
    conversation = ConversationSettings(entity_types=("Chemical", "Disease"), all_types=True)
    listing = ListingSettings(entity_types=("Chemical", "Disease"), relation_types=("CID",))
    instances = []
    for doc in docs:
        for task in ("ner", "re"):
            instances += get_format("iepile").render(doc, task=task, settings=iepile, rng=rng)
            instances += get_format("listing").render(doc, task=task, settings=listing, rng=rng)
        instances += get_format("conversation").render(
            doc, task="ner", settings=conversation, rng=rng
        )
    return instances


def test_records_round_trip_through_json():
    instances = all_instances()
    records = json.loads(json.dumps(instances_to_records(instances)))
    assert all(isinstance(record["messages"], list) for record in records)
    back = instances_from_records(records)
    assert back == instances
    assert len({instance.id for instance in instances}) == len(instances)
    with pytest.raises(ValueError, match="lacks the fields"):
        instances_from_records([{"id": "x"}])


def test_parse_report_counts_statuses_and_problems_once_per_answer():
    parsed = [
        ParsedAnswer({"A": []}, "ok", ()),
        ParsedAnswer({"A": []}, "repaired", ("truncated", "wrong_item_type")),
        ParsedAnswer({"A": []}, "repaired", ("wrong_item_type",)),
        ParsedAnswer(None, "unparsable", ("empty_output",)),
    ]
    report = parse_report(parsed)
    assert report["total"] == 4
    assert report["by_status"] == {"ok": 1, "repaired": 2, "unparsable": 1}
    assert report["by_problem"]["wrong_item_type"] == 2
    assert report["by_problem"]["truncated"] == 1
    assert report["by_problem"]["empty_output"] == 1
    assert set(report["by_problem"]) == set(PROBLEMS)


def test_to_string_records_merges_chunks_per_document():
    settings = IEPileSettings(entity_types=("Chemical", "Disease"), split_num=1)
    fmt = get_format("iepile")
    instances = fmt.render(cdr_doc(), task="ner", settings=settings, rng=random.Random(0))
    assert len(instances) == 2
    parsed = [fmt.parse(instance.answer, instance) for instance in instances]
    parsed[1] = ParsedAnswer({"Disease": ["nephrotoxicity"]}, "ok", ())
    (record,) = to_string_records(instances, parsed)
    assert record.id == "cdr1" and record.source == "bc5cdr"
    assert record.gold == CDR_NER_GOLD
    assert record.predicted == {"Chemical": CDR_NER_GOLD["Chemical"], "Disease": ["nephrotoxicity"]}
    scores = score_strings([record], bootstrap=0)
    assert scores.pooled.scores.true_positives == 5
    # One unparsable chunk makes the whole document unparsable.
    parsed[1] = ParsedAnswer(None, "unparsable", ("empty_output",))
    (record,) = to_string_records(instances, parsed)
    assert record.predicted is None
    with pytest.raises(ValueError, match="2 instances but 1"):
        to_string_records(instances, parsed[:1])
