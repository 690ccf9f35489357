"""Tests for the DDI corpus 2013 XML reader: inline files, malformed inputs and the real corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bioie_kedro.corpora.base import CorpusFormatError
from bioie_kedro.corpora.ddi import (
    EMPTY_SENTENCE,
    ENTITY_TEXT_MISMATCH,
    UNTYPED_DDI,
    parse_char_offset,
    read_ddi,
)
from bioie_kedro.schema import NEGATIVE_RELATION, validate_documents

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DDI_ROOT = SHARED_DATA / "ddi" / "DDICorpus"

needs_shared_data = pytest.mark.skipif(
    not DDI_ROOT.is_dir(), reason=f"shared DDI corpus not found at {DDI_ROOT}"
)

SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-DrugBank.d1">
    <sentence id="DDI-DrugBank.d1.s0" text="Aspirin and heme or nonheme iron.">
        <entity id="DDI-DrugBank.d1.s0.e0" charOffset="0-6" type="drug" text="Aspirin"/>
        <entity id="DDI-DrugBank.d1.s0.e1" charOffset="12-15;28-31"
            type="drug" text="heme iron"/>
        <entity id="DDI-DrugBank.d1.s0.e2" charOffset="20-31" type="drug" text="nonheme iron"/>
        <pair id="DDI-DrugBank.d1.s0.p0" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e1" ddi="true" type="mechanism"/>
        <pair id="DDI-DrugBank.d1.s0.p1" e1="DDI-DrugBank.d1.s0.e0"
            e2="DDI-DrugBank.d1.s0.e2" ddi="false"/>
        <pair id="DDI-DrugBank.d1.s0.p2" e1="DDI-DrugBank.d1.s0.e1"
            e2="DDI-DrugBank.d1.s0.e2" ddi="true"/>
    </sentence>
    <sentence id="DDI-DrugBank.d1.s1" text="Warfarin &amp; NSAIDs: avoid.&#xd;&#xa;">
        <entity id="DDI-DrugBank.d1.s1.e0" charOffset="0-7" type="brand" text="Warfarin"/>
        <entity id="DDI-DrugBank.d1.s1.e1" charOffset="11-16" type="group" text="NSAIDs"/>
        <pair id="DDI-DrugBank.d1.s1.p0" e1="DDI-DrugBank.d1.s1.e0"
            e2="DDI-DrugBank.d1.s1.e1" ddi="true" type="advise"/>
    </sentence>
</document>
"""


def write(directory: Path, content: str | bytes, name: str = "sample.xml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def document_xml(doc_id: str, sentences: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<document id="{doc_id}">\n{sentences}</document>\n'


# ------------------------------------------------------------------ well-formed inputs


def test_sample_document_is_read_exactly(tmp_path):
    path = write(tmp_path / "Train" / "DrugBank", SAMPLE)
    result = read_ddi(path, source="ddi", split="train")

    assert result.skipped == [] and result.corrections == []
    (doc,) = result.documents
    first = "Aspirin and heme or nonheme iron."
    second = "Warfarin & NSAIDs: avoid.\r\n"
    assert doc.id == "DDI-DrugBank.d1"
    assert (doc.source, doc.split) == ("ddi", "train")
    assert doc.text == first + " " + second
    assert doc.attributes == {"file": "sample.xml", "collection": "DrugBank"}
    assert [(p.id, p.type, p.text, p.offsets) for p in doc.passages] == [
        ("DDI-DrugBank.d1.s0", "sentence", first, [(0, 33)]),
        ("DDI-DrugBank.d1.s1", "sentence", second, [(34, 61)]),
    ]
    assert [(s.start, s.end, s.tokens) for s in doc.sentences] == [(0, 33, []), (34, 61, [])]
    assert [(e.id, e.type, e.offsets, e.text, e.attributes) for e in doc.entities] == [
        ("DDI-DrugBank.d1.s0.e0", "drug", [(0, 7)], "Aspirin", {}),
        ("DDI-DrugBank.d1.s0.e1", "drug", [(12, 16), (28, 32)], "heme iron", {}),
        ("DDI-DrugBank.d1.s0.e2", "drug", [(20, 32)], "nonheme iron", {}),
        ("DDI-DrugBank.d1.s1.e0", "brand", [(34, 42)], "Warfarin", {}),
        ("DDI-DrugBank.d1.s1.e1", "group", [(45, 51)], "NSAIDs", {}),
    ]
    assert doc.entities[1].is_discontinuous
    assert [(r.id, r.type, r.arg1_id, r.arg2_id, r.level, r.attributes) for r in doc.relations] == [
        (
            "DDI-DrugBank.d1.s0.p0",
            "mechanism",
            "DDI-DrugBank.d1.s0.e0",
            "DDI-DrugBank.d1.s0.e1",
            "mention",
            {"ddi": "true"},
        ),
        (
            "DDI-DrugBank.d1.s0.p1",
            NEGATIVE_RELATION,
            "DDI-DrugBank.d1.s0.e0",
            "DDI-DrugBank.d1.s0.e2",
            "mention",
            {"ddi": "false"},
        ),
        (
            "DDI-DrugBank.d1.s0.p2",
            UNTYPED_DDI,
            "DDI-DrugBank.d1.s0.e1",
            "DDI-DrugBank.d1.s0.e2",
            "mention",
            {"ddi": "true"},
        ),
        (
            "DDI-DrugBank.d1.s1.p0",
            "advise",
            "DDI-DrugBank.d1.s1.e0",
            "DDI-DrugBank.d1.s1.e1",
            "mention",
            {"ddi": "true"},
        ),
    ]
    validate_documents(result.documents)


def test_directory_is_read_recursively_in_path_order(tmp_path):
    root = tmp_path / "Test for DDI Extraction task"
    sentence = '<sentence id="{id}.s0" text="Drug."><entity id="{id}.s0.e0" charOffset="0-3" type="drug" text="Drug"/></sentence>\n'
    write(
        root / "MedLine",
        document_xml("DDI-MedLine.d2", sentence.format(id="DDI-MedLine.d2")),
        "b.xml",
    )
    write(
        root / "DrugBank",
        document_xml("DDI-DrugBank.d3", sentence.format(id="DDI-DrugBank.d3")),
        "z.xml",
    )
    write(
        root / "DrugBank",
        document_xml("DDI-DrugBank.d4", sentence.format(id="DDI-DrugBank.d4")),
        "a b.xml",
    )
    write(root, "not xml", "README")

    result = read_ddi(root, source="ddi", split="test")

    assert [d.id for d in result.documents] == [
        "DDI-DrugBank.d4",
        "DDI-DrugBank.d3",
        "DDI-MedLine.d2",
    ]
    assert [d.attributes for d in result.documents] == [
        {"file": "a b.xml", "collection": "DrugBank"},
        {"file": "z.xml", "collection": "DrugBank"},
        {"file": "b.xml", "collection": "MedLine"},
    ]
    assert [e.text for d in result.documents for e in d.entities] == ["Drug"] * 3


def test_file_outside_a_collection_directory_has_no_collection(tmp_path):
    path = write(tmp_path, SAMPLE)
    (doc,) = read_ddi(path, source="ddi", split="train").documents
    assert doc.attributes == {"file": "sample.xml"}


def test_discontinuous_text_written_without_space_after_hyphen_is_accepted(tmp_path):
    # DDI writes "alpha-" + "adrenergic blockers" as "alpha-adrenergic blockers" (real: d325.s6.e1).
    path = write(
        tmp_path,
        document_xml(
            "d1",
            '<sentence id="d1.s0" text="alpha- and beta-adrenergic blockers">'
            '<entity id="d1.s0.e0" charOffset="0-5;16-34" type="group" text="alpha-adrenergic blockers"/>'
            '<entity id="d1.s0.e1" charOffset="0-5;16-34" type="group" text="alpha- adrenergic blockers"/>'
            "</sentence>\n",
        ),
    )
    result = read_ddi(path, source="ddi", split="train")

    assert result.corrections == [] and result.skipped == []
    first, second = result.documents[0].entities
    assert first.text == second.text == "alpha- adrenergic blockers"
    assert first.offsets == [(0, 6), (16, 35)]
    assert first.attributes == {"source_text": "alpha-adrenergic blockers"}
    assert second.attributes == {}


def test_offsets_off_by_one_are_shifted_to_the_annotated_text_and_listed(tmp_path):
    # Like the real DDI-DrugBank.d216.s16.e2, whose offsets are shifted by one.
    path = write(
        tmp_path,
        document_xml(
            "d1",
            '<sentence id="d1.s0" text="of (R)- or (S)-warfarin">'
            '<entity id="d1.s0.e0" charOffset="2-5;14-21" type="drug" text="(R)-warfarin"/>'
            "</sentence>\n",
        ),
    )
    result = read_ddi(path, source="ddi", split="train")

    (entity,) = result.documents[0].entities
    assert entity.text == "(R)- warfarin"
    assert entity.offsets == [(3, 7), (15, 23)]
    assert entity.attributes == {"source_char_offset": "2-5;14-21"}
    assert result.skipped == []
    (note,) = result.corrections
    assert "off by +1" in note.reason
    assert note.file == str(path)
    assert note.record.startswith("d1.s0.e0 ")


def test_entity_text_differing_beyond_a_shift_is_kept_and_listed(tmp_path):
    path = write(
        tmp_path,
        document_xml(
            "d1",
            '<sentence id="d1.s0" text="aspirin and warfarin">'
            '<entity id="d1.s0.e0" charOffset="0-6" type="drug" text="heparin"/>'
            "</sentence>\n",
        ),
    )
    result = read_ddi(path, source="ddi", split="train")
    (entity,) = result.documents[0].entities
    assert entity.text == "aspirin" and entity.attributes == {"source_text": "heparin"}
    (note,) = result.corrections
    assert note.reason == ENTITY_TEXT_MISMATCH


def test_empty_sentence_is_left_out_and_listed(tmp_path):
    path = write(
        tmp_path,
        document_xml(
            "d1",
            '<sentence id="d1.s0" text="First."/>\n<sentence id="d1.s1" text=""/>\n'
            '<sentence id="d1.s2" text="Second drug.">'
            '<entity id="d1.s2.e0" charOffset="7-10" type="drug" text="drug"/></sentence>\n',
        ),
    )
    result = read_ddi(path, source="ddi", split="train")

    (doc,) = result.documents
    assert doc.text == "First. Second drug."
    assert [p.id for p in doc.passages] == ["d1.s0", "d1.s2"]
    assert [(s.start, s.end) for s in doc.sentences] == [(0, 6), (7, 19)]
    assert doc.entities[0].offsets == [(14, 18)]
    assert [(s.record, s.reason) for s in result.skipped] == [("d1.s1", EMPTY_SENTENCE)]


def test_parse_char_offset():
    assert parse_char_offset("12-20") == [(12, 21)]
    assert parse_char_offset("166-176;185-186;188-195") == [(166, 177), (185, 187), (188, 196)]
    for bad in ("", "12", "a-3", "5-2", "1-2;"):
        with pytest.raises(ValueError):
            parse_char_offset(bad)


# ------------------------------------------------------------------ malformed inputs


def assert_error(path: Path, *parts: str) -> CorpusFormatError:
    with pytest.raises(CorpusFormatError) as info:
        read_ddi(path, source="ddi", split="train")
    message = str(info.value)
    assert path.name in message
    for part in parts:
        assert part in message, message
    return info.value


def test_truncated_xml_names_the_line(tmp_path):
    path = write(tmp_path, SAMPLE[: SAMPLE.index("<pair")], "truncated.xml")
    error = assert_error(path, "malformed XML", "line ")
    assert error.line is not None and error.line >= 8


def test_mismatched_tag_names_the_line(tmp_path):
    path = write(
        tmp_path,
        '<?xml version="1.0"?>\n<document id="d1">\n<sentence id="s" text="x">\n</document>\n',
    )
    error = assert_error(path, "line 4")
    assert error.line == 4


def test_offset_beyond_its_sentence(tmp_path):
    path = write(
        tmp_path,
        document_xml(
            "d1",
            '<sentence id="d1.s0" text="Short."><entity id="d1.s0.e0" charOffset="3-6" type="drug" text="rt."/></sentence>\n'
            '<sentence id="d1.s1" text="Second sentence."/>\n',
        ),
    )
    assert_error(path, "d1.s0.e0", "beyond its sentence")


def test_pair_with_unknown_entity(tmp_path):
    path = write(
        tmp_path, SAMPLE.replace('e2="DDI-DrugBank.d1.s1.e1"', 'e2="DDI-DrugBank.d1.s0.e2"')
    )
    assert_error(path, "DDI-DrugBank.d1.s1.p0", "DDI-DrugBank.d1.s0.e2")


def test_empty_file(tmp_path):
    assert_error(write(tmp_path, "  \n"), "empty")


def test_invalid_utf8_names_the_line(tmp_path):
    data = SAMPLE.encode("utf-8").replace(b"Warfarin &amp;", b"Warfarin \xff&amp;")
    error = assert_error(write(tmp_path, data), "invalid UTF-8", "line 15")
    assert error.line == 15


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('ddi="true" type="advise"', 'ddi="yes" type="advise"', "DDI-DrugBank.d1.s1.p0"),
        ('type="advise"', 'type="synergy"', "unknown DDI type"),
        ('charOffset="0-6"', 'charOffset="6-0"', "DDI-DrugBank.d1.s0.e0"),
        (' type="brand"', "", "'type'"),
        (
            '<entity id="DDI-DrugBank.d1.s1.e1"',
            '<entity id="DDI-DrugBank.d1.s1.e0" charOffset="0-7" type="drug" text="Warfarin"/>'
            '<entity id="DDI-DrugBank.d1.s1.e1"',
            "duplicate entity id",
        ),
    ],
)
def test_bad_records(tmp_path, old, new, expected):
    assert old in SAMPLE
    assert_error(write(tmp_path, SAMPLE.replace(old, new, 1), "bad.xml"), expected)


def test_wrong_root_element(tmp_path):
    path = write(tmp_path, '<?xml version="1.0"?>\n<corpus id="c"/>\n', "root.xml")
    assert_error(path, "<corpus>", "expected <document>")


def test_duplicate_document_id_in_a_directory(tmp_path):
    write(tmp_path, SAMPLE, "a.xml")
    write(tmp_path, SAMPLE, "b.xml")
    with pytest.raises(CorpusFormatError, match=r"b\.xml.*DDI-DrugBank\.d1.*a\.xml"):
        read_ddi(tmp_path, source="ddi", split="train")


def test_directory_without_xml_files(tmp_path):
    with pytest.raises(CorpusFormatError, match="no \\*.xml files"):
        read_ddi(tmp_path, source="ddi", split="train")


# ------------------------------------------------------------------ real corpus


def summarize(path: Path, split: str) -> dict:
    result = read_ddi(path, source="ddi", split=split)
    validate_documents(result.documents)
    relations = [r for d in result.documents for r in d.relations]
    return {
        "documents": len(result.documents),
        "sentences": sum(len(d.sentences) for d in result.documents),
        "entities": sum(len(d.entities) for d in result.documents),
        "pairs": len(relations),
        "positive": sum(r.attributes["ddi"] == "true" for r in relations),
        "types": Counter(r.type for r in relations if r.attributes["ddi"] == "true"),
        "negative_types": {r.type for r in relations if r.attributes["ddi"] == "false"},
        "skipped": Counter(s.reason for s in result.skipped),
        "corrections": [c.record.split()[0] for c in result.corrections],
        "source_text": sum(
            "source_text" in e.attributes for d in result.documents for e in d.entities
        ),
        "collections": Counter(d.attributes["collection"] for d in result.documents),
    }


@pytest.mark.real_data
@needs_shared_data
def test_real_train():
    train = summarize(DDI_ROOT / "Train", "train")
    assert train["documents"] == 714
    assert train["collections"] == {"DrugBank": 572, "MedLine": 142}
    assert train["entities"] == 12929 + 1836
    assert train["pairs"] == 26005 + 1787
    assert train["positive"] == 4021
    assert train["types"] == {
        "effect": 1535 + 152,
        "mechanism": 1257 + 62,
        "advise": 818 + 8,
        "int": 178 + 10,
        UNTYPED_DDI: 1,
    }
    assert train["negative_types"] == {NEGATIVE_RELATION}
    # 5675 + 1301 sentences, of which 71 (all in DrugBank) have empty text.
    assert train["sentences"] == 5675 + 1301 - 71
    assert train["skipped"] == {EMPTY_SENTENCE: 71}
    assert train["corrections"] == ["DDI-DrugBank.d216.s16.e2"]
    # Three discontinuous mentions written without a space after "-" (the shifted entity keeps
    # its original charOffset instead).
    assert train["source_text"] == 3


@pytest.mark.real_data
@needs_shared_data
def test_real_train_collections_match_sources_table():
    drugbank = summarize(DDI_ROOT / "Train" / "DrugBank", "train")
    medline = summarize(DDI_ROOT / "Train" / "MedLine", "train")
    assert (
        drugbank["documents"],
        drugbank["entities"],
        drugbank["pairs"],
        drugbank["positive"],
    ) == (
        572,
        12929,
        26005,
        3789,
    )
    assert (medline["documents"], medline["sentences"], medline["entities"], medline["pairs"]) == (
        142,
        1301,
        1836,
        1787,
    )
    assert medline["positive"] == 232


@pytest.mark.real_data
@needs_shared_data
def test_real_test_for_ddi_extraction():
    test = summarize(DDI_ROOT / "Test" / "Test for DDI Extraction task", "test")
    assert test["documents"] == 191
    assert test["collections"] == {"DrugBank": 158, "MedLine": 33}
    assert test["sentences"] == 973 + 326
    assert test["entities"] == 2512 + 528
    assert test["pairs"] == 5265 + 451
    assert test["positive"] == 979
    assert test["types"] == {
        "effect": 298 + 62,
        "mechanism": 278 + 24,
        "advise": 214 + 7,
        "int": 94 + 2,
    }
    assert test["skipped"] == {} and test["corrections"] == []


@pytest.mark.real_data
@needs_shared_data
def test_real_test_for_drug_ner():
    test = summarize(DDI_ROOT / "Test" / "Test for DrugNER task", "test")
    assert test["documents"] == 54 + 58
    assert test["sentences"] == 145 + 520
    assert test["entities"] == 304 + 382
    assert test["pairs"] == 606 + 335
    assert test["positive"] == 0
