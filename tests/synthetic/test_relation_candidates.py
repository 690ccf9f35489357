"""Relation specs, sentences with their entities, candidate pairs and entity markers by offsets."""

from __future__ import annotations

import pytest

from bioie_kedro.relation_extraction import (
    OverlappingEntitiesError,
    RelationSpec,
    RelationSpecError,
    candidate_pairs,
    insert_markers,
    sentence_units,
)
from bioie_kedro.relation_extraction.candidates import SentenceUnit, mark_pair
from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import segment_document

SPEC = RelationSpec.from_mapping(
    {
        "Chemical|Disease": ["treats", "causes"],
        "Gene|Disease": ["biomarker_for"],
        "Chemical|Chemical": ["interacts_with"],
    }
)


def entity(doc_text: str, eid: str, etype: str, mention: str, occurrence: int = 0) -> Entity:
    start = -1
    for _ in range(occurrence + 1):
        start = doc_text.index(mention, start + 1)
    return Entity(eid, etype, mention, [(start, start + len(mention))])


# --------------------------------------------------------------------------------------------
# Markers
# --------------------------------------------------------------------------------------------


def test_markers_wrap_disjoint_and_adjacent_entities():
    text = "Paclitaxel treats lung cancer."
    assert (
        insert_markers(text, (0, 10), (18, 29))
        == "[E1]Paclitaxel[/E1] treats [E2]lung cancer[/E2]."
    )
    # tail before head: E2 comes first in the text
    assert (
        insert_markers(text, (18, 29), (0, 10))
        == "[E2]Paclitaxel[/E2] treats [E1]lung cancer[/E1]."
    )
    # adjacent: the first closes before the second opens
    assert insert_markers("ABCD", (0, 2), (2, 4)) == "[E1]AB[/E1][E2]CD[/E2]"
    assert insert_markers("ABCD", (2, 4), (0, 2)) == "[E2]AB[/E2][E1]CD[/E1]"


def test_nested_entities_get_nested_markers_the_outer_one_outside():
    text = "NF-kappaB inhibitor"
    inner, outer = (0, 9), (0, 19)
    assert insert_markers(text, outer, inner) == "[E1][E2]NF-kappaB[/E2] inhibitor[/E1]"
    assert insert_markers(text, inner, outer) == "[E2][E1]NF-kappaB[/E1] inhibitor[/E2]"
    # nested at the end, and strictly inside
    assert insert_markers("ab cd ef", (0, 8), (3, 5)) == "[E1]ab [E2]cd[/E2] ef[/E1]"
    assert insert_markers("ab cd", (3, 5), (0, 5)) == "[E2]ab [E1]cd[/E1][/E2]"
    # equal spans: E1 is the outer one
    assert insert_markers("BRCA1 x", (0, 5), (0, 5)) == "[E1][E2]BRCA1[/E2][/E1] x"


def test_partially_overlapping_entities_cannot_be_marked():
    with pytest.raises(OverlappingEntitiesError, match="overlap partially"):
        insert_markers("renal cell carcinoma", (0, 10), (6, 20))
    with pytest.raises(ValueError, match="outside the text"):
        insert_markers("short", (0, 3), (4, 9))


def test_blind_pair_replaces_disjoint_mentions_by_their_types():
    from bioie_kedro.relation_extraction.candidates import blind_pair

    text, head, tail = blind_pair(
        "x tamoxifen binds ER here", (2, 11), (18, 20), "CHEMICAL", "GENE"
    )
    assert text == "x @CHEMICAL$ binds @GENE$ here"
    assert (text[slice(*head)], text[slice(*tail)]) == ("@CHEMICAL$", "@GENE$")
    text, head, tail = blind_pair("ER binds tamoxifen", (9, 18), (0, 2), "CHEMICAL", "GENE")
    assert (text, head, tail) == ("@GENE$ binds @CHEMICAL$", (13, 23), (0, 6))
    with pytest.raises(ValueError, match="overlap"):
        blind_pair("NF-kB inhibitor", (0, 15), (6, 15), "A", "B")


def test_all_types_blinds_the_other_mentions_by_offsets_without_markers():
    from bioie_kedro.relation_extraction.candidates import CandidatePair, other_mentions

    text = "Aspirin, low-dose aspirin and warfarin with calcium and magnesium salts or aspirin."
    spans = {
        "A1": (0, 7),  # Aspirin
        "A2": (9, 25),  # low-dose aspirin
        "A3": (18, 25),  # aspirin, nested in A2
        "W": (30, 38),  # warfarin
        "C": (44, 65),  # calcium and magnesium, crossing M
        "M": (56, 71),  # magnesium salts
        "A4": (75, 82),  # aspirin again
    }
    entities = [Entity(eid, "Drug", text[s:e], [(s, e)]) for eid, (s, e) in spans.items()]
    # discontinuous: "calcium ... salts"
    entities.append(Entity("D", "Drug_n", "calcium salts", [(44, 51), (66, 71)]))
    doc = segment_document(Document("d1", "toy", "train", text, entities=entities))
    (unit,), _ = sentence_units(doc)
    by_id = {e.id: e for e in unit.entities}

    def marked(head: str, tail: str) -> str:
        return mark_pair(unit, CandidatePair(by_id[head], by_id[tail]), entity_text="all_types")

    # A2 hides the nested A3; C is blinded and M, crossing it, keeps its text; the discontinuous
    # D keeps its text; the second "aspirin" is blinded where it is, not by its name
    assert marked("A1", "W") == (
        "[E1]@DRUG$[/E1], @DRUG$ and [E2]@DRUG$[/E2] with @DRUG$ salts or @DRUG$."
    )
    blinded, kept = other_mentions(unit, CandidatePair(by_id["A1"], by_id["W"]))
    assert [e.id for e in blinded] == ["A2", "C", "A4"] and kept == 2  # M crossing, D split
    # a head nested in another mention: the outer one overlaps the pair and keeps its text
    assert marked("A3", "A4") == (
        "@DRUG$, low-dose [E1]@DRUG$[/E1] and @DRUG$ with @DRUG$ salts or [E2]@DRUG$[/E2]."
    )
    # a nested pair keeps its text (as with "type"); the others are still blinded
    assert marked("A2", "A3") == (
        "@DRUG$, [E1]low-dose [E2]aspirin[/E2][/E1] and @DRUG$ with @DRUG$ salts or @DRUG$."
    )
    # "type" leaves the other mentions as written
    assert mark_pair(unit, CandidatePair(by_id["A1"], by_id["W"]), entity_text="type") == (
        "[E1]@DRUG$[/E1], low-dose aspirin and [E2]@DRUG$[/E2] with calcium and magnesium "
        "salts or aspirin."
    )
    with pytest.raises(ValueError, match="entity_text must be one of"):
        mark_pair(unit, CandidatePair(by_id["A1"], by_id["W"]), entity_text="names")


def test_replace_spans_moves_kept_spans_and_refuses_overlaps():
    from bioie_kedro.relation_extraction.candidates import replace_spans

    text, kept = replace_spans("ab cd ef gh", [((3, 5), "X"), ((9, 11), "YYYY")], [(3, 5), (6, 8)])
    assert text == "ab X ef YYYY" and kept == [(3, 4), (5, 7)]
    assert [text[slice(*span)] for span in kept] == ["X", "ef"]
    with pytest.raises(ValueError, match="only disjoint"):
        replace_spans("ab cd ef", [((0, 5), "X"), ((3, 8), "Y")])
    with pytest.raises(ValueError, match="without being equal"):
        replace_spans("ab cd ef", [((3, 5), "X")], [(0, 4)])


def test_repeated_names_are_marked_only_where_the_entity_is():
    text = "cisplatin, unlike oxaliplatin, caused nephrotoxicity; cisplatin dose was lowered."
    doc = segment_document(
        Document(
            "d1",
            "toy",
            "train",
            text,
            entities=[
                entity(text, "T1", "Chemical", "cisplatin"),
                entity(text, "T2", "Chemical", "oxaliplatin"),
                entity(text, "T3", "Disease", "nephrotoxicity"),
                entity(text, "T4", "Chemical", "cisplatin", occurrence=1),
            ],
        )
    )
    (unit,), _ = sentence_units(doc)
    pairs, _ = candidate_pairs(unit, SPEC)
    marked = {pair.ids: mark_pair(unit, pair) for pair in pairs}
    assert marked[("T4", "T3")] == (
        "cisplatin, unlike oxaliplatin, caused [E2]nephrotoxicity[/E2]; "
        "[E1]cisplatin[/E1] dose was lowered."
    )
    assert marked[("T1", "T3")] == (
        "[E1]cisplatin[/E1], unlike oxaliplatin, caused [E2]nephrotoxicity[/E2]; "
        "cisplatin dose was lowered."
    )
    # the same name as head and tail: two different entities, each marked once
    assert marked[("T1", "T4")] == (
        "[E1]cisplatin[/E1], unlike oxaliplatin, caused nephrotoxicity; "
        "[E2]cisplatin[/E2] dose was lowered."
    )


# --------------------------------------------------------------------------------------------
# Sentences and candidates
# --------------------------------------------------------------------------------------------


def test_an_entity_belongs_to_a_sentence_only_when_it_lies_fully_inside():
    text = "Aspirin reduced fever. Ibuprofen caused ulcers in BRCA1 carriers."
    doc = segment_document(
        Document(
            "d1",
            "toy",
            "train",
            text,
            entities=[
                entity(text, "T1", "Chemical", "Aspirin"),
                entity(text, "T2", "Disease", "fever"),
                # crosses the sentence boundary
                Entity("T3", "Disease", "fever. Ibuprofen", [(16, 32)]),
                entity(text, "T4", "Chemical", "Ibuprofen"),
                entity(text, "T5", "Disease", "ulcers"),
                entity(text, "T6", "Gene", "BRCA1"),
                entity(text, "T7", "Species", "carriers"),
            ],
        )
    )
    units, counts = sentence_units(doc, entity_types=SPEC.entity_types)
    assert [[e.id for e in u.entities] for u in units] == [["T1", "T2"], ["T4", "T5", "T6"]]
    assert counts == {
        "entities": 7,
        "entities_cut_by_sentence_boundary": 1,
        "entities_of_other_types": 1,
    }
    assert units[1].key == "toy/train/d1/s1" and units[1].text.startswith("Ibuprofen")
    assert SentenceUnit.from_dict(units[1].as_dict()) == units[1]
    with pytest.raises(ValueError, match="segment it first"):
        sentence_units(Document("d2", "toy", "train", text, entities=doc.entities[:1]))


def test_candidates_are_ordered_pairs_whose_type_pair_is_in_the_spec():
    text = "Ibuprofen and warfarin raised the INR and caused bleeding in CYP2C9 carriers."
    doc = segment_document(
        Document(
            "d1",
            "toy",
            "train",
            text,
            entities=[
                entity(text, "C1", "Chemical", "Ibuprofen"),
                entity(text, "C2", "Chemical", "warfarin"),
                entity(text, "D1", "Disease", "bleeding"),
                entity(text, "G1", "Gene", "CYP2C9"),
            ],
        )
    )
    (unit,), _ = sentence_units(doc)
    pairs, crossing = candidate_pairs(unit, SPEC)
    assert [p.ids for p in pairs] == [
        ("C1", "C2"),
        ("C1", "D1"),
        ("C2", "C1"),
        ("C2", "D1"),
        ("G1", "D1"),
    ]
    assert crossing == 0
    text_order, _ = candidate_pairs(unit, SPEC, pair_order="text")
    assert [p.ids for p in text_order] == [("C1", "C2"), ("C1", "D1"), ("C2", "D1")]


def test_partially_overlapping_candidates_are_skipped_and_counted():
    text = "Renal cell carcinoma after cadmium."
    doc = segment_document(
        Document(
            "d1",
            "toy",
            "train",
            text,
            entities=[
                Entity("D1", "Disease", "Renal cell", [(0, 10)]),
                Entity("D2", "Disease", "cell carcinoma", [(6, 20)]),
                entity(text, "C1", "Chemical", "cadmium"),
                Entity("D3", "Disease", "carcinoma", [(11, 20)]),  # nested in D2
            ],
        )
    )
    spec = RelationSpec.from_mapping({"Disease|Disease": ["subtype_of"]})
    (unit,), _ = sentence_units(doc)
    pairs, crossing = candidate_pairs(unit, spec)
    assert crossing == 2  # D1-D2 in both orders; D3 is disjoint from D1 and nested in D2
    assert {p.ids for p in pairs} == {("D1", "D3"), ("D3", "D1"), ("D2", "D3"), ("D3", "D2")}


# --------------------------------------------------------------------------------------------
# Spec
# --------------------------------------------------------------------------------------------


def test_spec_is_checked_by_the_types_of_the_pair():
    assert SPEC.allows("Chemical", "Disease", "treats")
    assert not SPEC.allows("Gene", "Disease", "treats")  # treats exists, but not for Gene|Disease
    assert not SPEC.allows("Disease", "Chemical", "treats")  # direction matters
    assert SPEC.relation_names == ("biomarker_for", "causes", "interacts_with", "treats")
    assert SPEC.entity_types == {"Chemical", "Disease", "Gene"}
    assert RelationSpec.from_mapping(SPEC.as_mapping()) == SPEC


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "empty"),
        ({"Chemical": ["treats"]}, "HeadType|TailType"),
        ({"Chemical|": ["treats"]}, "HeadType|TailType"),
        ({"Chemical|Disease": []}, "non-empty list"),
        ({"Chemical|Disease": "treats"}, "non-empty list"),
        ({"Chemical|Disease": ["treats", "treats"]}, "listed twice"),
        ({"Chemical|Disease": ["none"]}, "pairs without a relation"),
        ({"Chemical|Disease": ["a"], " Chemical | Disease ": ["b"]}, "given twice"),
    ],
)
def test_malformed_specs_are_refused(raw, message):
    with pytest.raises(RelationSpecError, match=message):
        RelationSpec.from_mapping(raw)


@pytest.mark.real_data
def test_the_shared_relation_spec_parses(shared_data):
    import json

    raw = json.loads(
        (shared_data / "pubtator3_sample/synthetic_relex/relation_specs.json").read_text()
    )
    spec = RelationSpec.from_mapping(raw)
    assert spec.allows("Gene", "Gene", "inhibits") and spec.allows("Chemical", "Gene", "inhibits")
    assert not spec.allows("Gene", "Disease", "inhibits")
