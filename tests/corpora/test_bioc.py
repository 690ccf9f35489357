"""Tests for the BioC XML / JSON readers: inline examples, malformed input, the real corpora."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from bioie_kedro.corpora.base import CorpusFormatError, SkippedRecord
from bioie_kedro.corpora.bioc import (
    INDIVIDUAL_MENTION_REASON,
    place_passages,
    pubtator_normalizations,
    read_bioc_json,
    read_bioc_xml,
)
from bioie_kedro.schema import Document, Entity, Normalization, Passage, Relation

# The real corpora: <project root>/../shared/data, or $BIOIE_SHARED_DATA as in tests/conftest.py.
SHARED_DATA = Path(
    os.environ.get(
        "BIOIE_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)

TITLE = "Ocular and auditory toxicity of desferrioxamine."
ABSTRACT = "Naloxone caused hypotension."
ABSTRACT_OFFSET = len(TITLE) + 1  # 49

BC5CDR_XML = f"""<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE collection SYSTEM 'BioC.dtd'>
<collection>
<source>PubTator</source>
<document>
<id>1000</id>
<passage>
<infon key="type">title</infon>
<offset>0</offset>
<text>{TITLE}</text>
<annotation id='0'>
<infon key="type">Disease</infon>
<infon key="CompositeRole">CompositeMention</infon>
<infon key="MESH">D014786|D006311</infon>
<location offset='0' length='28' />
<text>Ocular and auditory toxicity</text>
</annotation>
<annotation id='1'>
<infon key="type">Disease</infon>
<infon key="CompositeRole">IndividualMention</infon>
<infon key="MESH">D014786</infon>
<location offset='0' length='6' />
<location offset='20' length='8' />
<text>Ocular toxicity</text>
</annotation>
<annotation id='2'>
<infon key="type">Chemical</infon>
<infon key="MESH">D003676</infon>
<location offset='32' length='15' />
<text>desferrioxamine</text>
</annotation>
</passage>
<passage>
<infon key="type">abstract</infon>
<offset>{ABSTRACT_OFFSET}</offset>
<text>{ABSTRACT}</text>
<annotation id='3'>
<infon key="type">Chemical</infon>
<infon key="MESH">-1</infon>
<location offset='49' length='8' />
<text>Naloxone</text>
</annotation>
<annotation id='4'>
<infon key="type">Disease</infon>
<infon key="MESH">D007022</infon>
<location offset='65' length='11' />
<text>hypotension</text>
</annotation>
</passage>
<relation id='R0'>
<infon key="relation">CID</infon>
<infon key="Chemical">D003676</infon>
<infon key="Disease">D014786</infon>
</relation>
</document>
</collection>
"""


def _expected_bc5cdr(source: str = "bc5cdr", split: str = "train") -> Document:
    text = TITLE + " " + ABSTRACT
    return Document(
        id="1000",
        source=source,
        split=split,
        text=text,
        passages=[
            Passage("1000-title", "title", TITLE, [(0, 48)]),
            Passage("1000-abstract", "abstract", ABSTRACT, [(49, 77)]),
        ],
        entities=[
            Entity(
                "T0",
                "Disease",
                "Ocular and auditory toxicity",
                [(0, 28)],
                [Normalization("MESH", "D014786"), Normalization("MESH", "D006311")],
                {"concept_id": "D014786|D006311", "CompositeRole": "CompositeMention"},
            ),
            Entity(
                "T2",
                "Chemical",
                "desferrioxamine",
                [(32, 47)],
                [Normalization("MESH", "D003676")],
                {"concept_id": "D003676"},
            ),
            Entity("T3", "Chemical", "Naloxone", [(49, 57)], [], {"concept_id": "-1"}),
            Entity(
                "T4",
                "Disease",
                "hypotension",
                [(65, 76)],
                [Normalization("MESH", "D007022")],
                {"concept_id": "D007022"},
            ),
        ],
        relations=[Relation("R0", "CID", "MESH:D003676", "MESH:D014786", level="concept")],
    )


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _bioc_json_document(
    doc_id: str = "2000",
    annotations: list[dict] | None = None,
    relations: list[dict] | None = None,
    title: str = "BRCA1 binds NFKB1 in mice.",
) -> dict:
    return {
        "id": doc_id,
        "infons": {},
        "passages": [
            {
                "infons": {"type": "title"},
                "offset": 0,
                "text": title,
                "sentences": [],
                "annotations": annotations or [],
                "relations": [],
            }
        ],
        "relations": relations or [],
    }


def _annotation(ann_id: str, infons: dict, offset: int, text: str) -> dict:
    return {
        "id": ann_id,
        "infons": infons,
        "text": text,
        "locations": [{"offset": offset, "length": len(text)}],
    }


# --------------------------------------------------------------------------------------------
# BioC XML (BC5CDR conventions)
# --------------------------------------------------------------------------------------------


def test_bc5cdr_xml_document_is_read_exactly(tmp_path):
    path = _write(tmp_path, "cdr.xml", BC5CDR_XML)
    result = read_bioc_xml(path, source="bc5cdr", split="train")
    assert result.documents == [_expected_bc5cdr()]
    assert result.skipped == [SkippedRecord(str(path), "1000/1", INDIVIDUAL_MENTION_REASON)]


def test_xml_and_json_give_the_same_document(tmp_path):
    """The same BioC document as XML and as JSON converts identically."""
    xml_doc = read_bioc_xml(_write(tmp_path, "a.xml", BC5CDR_XML), source="s", split="t").documents
    annotation = {
        "id": "2",
        "infons": {"type": "Chemical", "MESH": "D003676"},
        "text": "desferrioxamine",
        "locations": [{"offset": 32, "length": 15}],
    }
    json_doc = {
        "id": "1000",
        "passages": [
            {"infons": {"type": "title"}, "offset": 0, "text": TITLE, "annotations": [annotation]},
            {"infons": {"type": "abstract"}, "offset": ABSTRACT_OFFSET, "text": ABSTRACT},
        ],
    }
    from_json = read_bioc_json(
        _write(tmp_path, "a.json", json.dumps(json_doc)), source="s", split="t"
    )
    assert from_json.documents[0].text == xml_doc[0].text
    assert from_json.documents[0].passages == xml_doc[0].passages
    assert from_json.documents[0].entities == [xml_doc[0].entities[1]]


def test_passages_fill_gaps_and_number_repeated_types(tmp_path):
    xml = """<collection><document><id>7</id>
    <passage><infon key="type">Title</infon><offset>0</offset><text>T.</text></passage>
    <passage><infon key="type">paragraph</infon><offset>5</offset><text>First.</text></passage>
    <passage><infon key="type">paragraph</infon><offset>12</offset><text>Second.</text></passage>
    </document></collection>"""
    doc = read_bioc_xml(_write(tmp_path, "p.xml", xml), source="s", split="t").documents[0]
    assert doc.text == "T.   First. Second."
    assert [(p.id, p.type, p.offsets) for p in doc.passages] == [
        ("7-title", "title", [(0, 2)]),
        ("7-paragraph", "paragraph", [(5, 11)]),
        ("7-paragraph-2", "paragraph", [(12, 19)]),
    ]


def test_missing_or_duplicate_annotation_ids_are_numbered_in_order(tmp_path):
    xml = """<collection><document><id>8</id>
    <passage><infon key="type">title</infon><offset>0</offset><text>aspirin and heparin</text>
    <annotation id="x"><infon key="type">Chemical</infon><location offset="0" length="7"/><text>aspirin</text></annotation>
    <annotation id="x"><infon key="type">Chemical</infon><location offset="12" length="7"/><text>heparin</text></annotation>
    </passage></document></collection>"""
    doc = read_bioc_xml(_write(tmp_path, "ids.xml", xml), source="s", split="t").documents[0]
    assert [(e.id, e.text) for e in doc.entities] == [("T0", "aspirin"), ("T1", "heparin")]
    assert doc.entities[0].normalized == [] and doc.entities[0].attributes == {}


def test_discontinuous_annotation_text_may_differ_only_in_the_join(tmp_path):
    xml = """<collection><document><id>9</id>
    <passage><infon key="type">title</infon><offset>0</offset><text>renal and hepatic failure</text>
    <annotation id="0"><infon key="type">Disease</infon>
    <location offset="18" length="7"/><location offset="0" length="5"/><text>renal  failure</text></annotation>
    </passage></document></collection>"""
    doc = read_bioc_xml(_write(tmp_path, "d.xml", xml), source="s", split="t").documents[0]
    assert doc.entities[0].offsets == [(0, 5), (18, 25)]
    assert doc.entities[0].text == "renal failure"


def test_generic_bioc_relation_with_two_nodes_is_mention_level(tmp_path):
    xml = """<collection><document><id>10</id>
    <passage><infon key="type">title</infon><offset>0</offset><text>warfarin inhibits VKORC1</text>
    <annotation id="A"><infon key="type">Chemical</infon><location offset="0" length="8"/><text>warfarin</text></annotation>
    <annotation id="B"><infon key="type">Gene</infon><location offset="18" length="6"/><text>VKORC1</text></annotation>
    <relation id="r1"><infon key="type">inhibits</infon><infon key="confidence">0.9</infon>
    <node refid="A" role="agent"/><node refid="B" role="target"/></relation>
    </passage></document></collection>"""
    doc = read_bioc_xml(_write(tmp_path, "r.xml", xml), source="s", split="t").documents[0]
    assert doc.relations == [
        Relation(
            "r1",
            "inhibits",
            "A",
            "B",
            level="mention",
            attributes={"confidence": "0.9", "role1": "agent", "role2": "target"},
        )
    ]


# --------------------------------------------------------------------------------------------
# BioC JSON (PubTator3 conventions)
# --------------------------------------------------------------------------------------------


def _pubtator3_document() -> dict:
    title = "BRCA1 binds NFKB1 in mice with breast cancer; V600E and rs113488965 were absent."
    gene = {"type": "Gene", "database": "ncbi_gene", "valid": True}
    annotations = [
        _annotation("1", {**gene, "identifier": "672", "accession": "@GENE_BRCA1"}, 0, "BRCA1"),
        _annotation("2", {**gene, "identifier": "4790", "accession": "@GENE_NFKB1"}, 12, "NFKB1"),
        _annotation(
            "3", {"type": "Species", "identifier": "10090;10116", "accession": None}, 21, "mice"
        ),
        _annotation(
            "4",
            {
                "type": "Disease",
                "identifier": "MESH:D001943",
                "accession": "@DISEASE_Breast_Neoplasms",
            },
            31,
            "breast cancer",
        ),
        _annotation(
            "5",
            {"type": "Variant", "identifier": "tmVar:p|SUB|V|600|E;HGVS:p.V600E;VariantGroup:0"},
            46,
            "V600E",
        ),
        _annotation("6", {"type": "SNP", "identifier": "rs113488965"}, 56, "rs113488965"),
        _annotation("7", {"type": "Chemical", "identifier": "-", "valid": False}, 0, "BRCA1"),
    ]
    relations = [
        {
            "id": "R1",
            "infons": {
                "score": "0.99",
                "type": "Bind",
                "role1": {"identifier": "672", "type": "Gene", "accession": "@GENE_BRCA1"},
                "role2": "@GENE_NFKB1",
            },
            "nodes": [{"refid": "0", "role": "0,1"}],
        },
        {
            "id": "R2",
            "infons": {"type": "Association", "role1": "Disease|MESH:D001943", "role2": "Gene|672"},
        },
    ]
    document = _bioc_json_document("pmc-1", annotations, relations, title=title)
    document.update({"pmid": 123456, "pmcid": None, "journal": "J Test", "date": "2024-01-01"})
    document["infons"] = {"doi": "10.1/x", "valid": True}
    return document


def test_pubtator3_json_document(tmp_path):
    path = _write(tmp_path, "doc.json", json.dumps(_pubtator3_document()))
    result = read_bioc_json(path, source="pubtator3", split="sample")
    assert result.skipped == []
    (doc,) = result.documents
    assert doc.id == "pmc-1"
    assert doc.attributes == {
        "doi": "10.1/x",
        "pmid": "123456",
        "journal": "J Test",
        "date": "2024-01-01",
    }
    assert [(e.id, e.text, [n.curie for n in e.normalized]) for e in doc.entities] == [
        ("T1", "BRCA1", ["NCBIGene:672"]),
        ("T2", "NFKB1", ["NCBIGene:4790"]),
        ("T3", "mice", ["NCBITaxon:10090", "NCBITaxon:10116"]),
        ("T4", "breast cancer", ["MESH:D001943"]),
        ("T5", "V600E", ["HGVS:p.V600E"]),
        ("T6", "rs113488965", ["dbSNP:rs113488965"]),
        ("T7", "BRCA1", []),
    ]
    assert doc.entities[0].attributes == {
        "concept_id": "672",
        "database": "ncbi_gene",
        "accession": "@GENE_BRCA1",
    }
    assert doc.entities[6].attributes == {"concept_id": "-"}
    assert doc.relations == [
        Relation(
            "R1",
            "Bind",
            "NCBIGene:672",
            "NCBIGene:4790",
            level="concept",
            attributes={"score": "0.99", "role1": "@GENE_BRCA1", "role2": "@GENE_NFKB1"},
        ),
        Relation(
            "R2",
            "Association",
            "MESH:D001943",
            "NCBIGene:672",
            level="concept",
            attributes={"role1": "Disease|MESH:D001943", "role2": "Gene|672"},
        ),
    ]


@pytest.mark.parametrize(
    ("identifier", "entity_type", "expected"),
    [
        ("MESH:D000001", "Chemical", [("MESH", "D000001")]),
        ("D000001", "Disease", [("MESH", "D000001")]),
        ("4790", "Gene", [("NCBIGene", "4790")]),
        (
            "4790;5970,5970|7157",
            "Gene",
            [("NCBIGene", "4790"), ("NCBIGene", "5970"), ("NCBIGene", "7157")],
        ),
        ("9606", "Species", [("NCBITaxon", "9606")]),
        ("CVCL_0030", "CellLine", [("Cellosaurus", "CVCL_0030")]),
        ("rs113488965", "DNAMutation", [("dbSNP", "rs113488965")]),
        ("c.1799T>A", "ProteinMutation", [("HGVS", "c.1799T>A")]),
        ("GO:0008150", "Process", [("GO", "0008150")]),
        ("X1", "Process", [("PROCESS", "X1")]),
        ("-", "Gene", []),
        ("", "Gene", []),
        (
            "tmVar:c|SUB|T|1799|A;HGVS:c.1799T>A;RS#:113488965",
            "Variant",
            [("dbSNP", "rs113488965"), ("HGVS", "c.1799T>A")],
        ),
        ("tmVar:p|Allele|S|161;VariantGroup:0", "Variant", [("tmVar", "p|Allele|S|161")]),
    ],
)
def test_pubtator_normalizations(identifier, entity_type, expected):
    norms = pubtator_normalizations(identifier, entity_type)
    assert [(n.db, n.id) for n in norms] == expected


def test_json_list_collection_and_directory(tmp_path):
    one, two = _bioc_json_document("a"), _bioc_json_document("b")
    directory = tmp_path / "docs"
    directory.mkdir()
    _write(directory, "2_collection.json", json.dumps({"source": "x", "documents": [two]}))
    _write(directory, "1_list.json", json.dumps([one]))
    _write(directory, "notes.txt", "ignored")
    result = read_bioc_json(directory, source="s", split="t")
    assert [doc.id for doc in result.documents] == ["a", "b"]
    assert all(doc.source == "s" and doc.split == "t" for doc in result.documents)


def test_document_id_falls_back_to_pmid(tmp_path):
    document = _bioc_json_document()
    del document["id"]
    document["pmid"] = 31415
    result = read_bioc_json(_write(tmp_path, "d.json", json.dumps(document)), source="s", split="t")
    assert result.documents[0].id == "31415"
    assert result.documents[0].passages[0].id == "31415-title"


def test_repeated_document_id_is_skipped_keeping_the_first(tmp_path):
    directory = tmp_path / "docs"
    directory.mkdir()
    _write(directory, "a.json", json.dumps(_bioc_json_document("d1")))
    _write(directory, "b.json", json.dumps(_bioc_json_document("d1")))
    _write(directory, "c.json", json.dumps(_bioc_json_document("d1", title="Another title.")))
    result = read_bioc_json(directory, source="s", split="t")
    assert [(doc.id, doc.text) for doc in result.documents] == [
        ("d1", "BRCA1 binds NFKB1 in mice.")
    ]
    assert result.skipped == [
        SkippedRecord(
            str(directory / "b.json"),
            "d1",
            "duplicate document id; identical to the first occurrence (in a.json), which is kept",
        ),
        SkippedRecord(
            str(directory / "c.json"),
            "d1",
            "duplicate document id; differs from the first occurrence (in a.json), which is kept",
        ),
    ]


def test_place_passages():
    assert place_passages([(6, "b"), (0, "a")]) == "a     b"
    assert place_passages([(0, "abc"), (2, "cd")]) == "abcd"
    with pytest.raises(ValueError, match="overlaps"):
        place_passages([(0, "abc"), (2, "xd")])


# --------------------------------------------------------------------------------------------
# Malformed input
# --------------------------------------------------------------------------------------------


def test_truncated_xml_names_file_and_line(tmp_path):
    truncated = BC5CDR_XML[: BC5CDR_XML.index("<annotation id='3'>")]
    path = _write(tmp_path, "truncated.xml", truncated)
    expected_line = truncated.count("\n") + 1
    with pytest.raises(
        CorpusFormatError, match=rf"truncated\.xml, line {expected_line}: malformed XML"
    ) as info:
        read_bioc_xml(path, source="s", split="t")
    assert info.value.line == expected_line


def test_mismatched_xml_tag_names_the_line(tmp_path):
    path = _write(
        tmp_path, "bad.xml", "<collection>\n<document>\n<id>1</id>\n</passage>\n</collection>"
    )
    with pytest.raises(CorpusFormatError, match=r"bad\.xml, line 4: malformed XML: mismatched tag"):
        read_bioc_xml(path, source="s", split="t")


def test_truncated_json_names_file_and_line(tmp_path):
    text = json.dumps(_bioc_json_document(), indent=1)
    path = _write(tmp_path, "truncated.json", text[: len(text) // 2])
    with pytest.raises(CorpusFormatError, match=r"truncated\.json, line \d+: invalid JSON") as info:
        read_bioc_json(path, source="s", split="t")
    assert info.value.line is not None and info.value.line > 1


def test_json_without_document_shape(tmp_path):
    path = _write(tmp_path, "other.json", json.dumps({"text": "not BioC"}))
    with pytest.raises(CorpusFormatError, match=r"other\.json: expected a BioC document"):
        read_bioc_json(path, source="s", split="t")


def test_xml_offsets_beyond_the_text_name_document_and_annotation(tmp_path):
    xml = BC5CDR_XML.replace(
        "<location offset='65' length='11' />", "<location offset='70' length='11' />"
    )
    path = _write(tmp_path, "beyond.xml", xml)
    with pytest.raises(
        CorpusFormatError,
        match=r"beyond\.xml, record 1000: annotation '4' \(Disease\): span \[70, 81\)",
    ):
        read_bioc_xml(path, source="s", split="t")


def test_json_offsets_beyond_the_text_name_document_and_annotation(tmp_path):
    annotation = _annotation("9", {"type": "Gene"}, 20, "BRCA1 binds NFKB1 in mice.")
    path = _write(tmp_path, "beyond.json", json.dumps(_bioc_json_document("d9", [annotation])))
    with pytest.raises(
        CorpusFormatError, match=r"beyond\.json, record d9: annotation '9' \(Gene\).*beyond"
    ):
        read_bioc_json(path, source="s", split="t")


def test_annotation_text_differing_from_the_document_text(tmp_path):
    xml = BC5CDR_XML.replace("<text>hypotension</text>", "<text>hypertension</text>")
    path = _write(tmp_path, "text.xml", xml)
    with pytest.raises(
        CorpusFormatError, match=r"text\.xml, record 1000: annotation '4'.*'hypertension'"
    ):
        read_bioc_xml(path, source="s", split="t")


def test_cid_relation_to_an_unknown_concept(tmp_path):
    xml = BC5CDR_XML.replace(
        '<infon key="Disease">D014786</infon>', '<infon key="Disease">D999999</infon>'
    )
    path = _write(tmp_path, "cid.xml", xml)
    with pytest.raises(
        CorpusFormatError,
        match=r"cid\.xml, record 1000: relation 'R0' .*'MESH:D999999' is not the normalization",
    ):
        read_bioc_xml(path, source="s", split="t")


def test_pubtator3_relation_role_that_does_not_resolve(tmp_path):
    document = _pubtator3_document()
    document["relations"][0]["infons"]["role2"] = "@GENE_TP53"
    path = _write(tmp_path, "role.json", json.dumps(document))
    with pytest.raises(
        CorpusFormatError,
        match=r"role\.json, record pmc-1: relation 'R1': role2 '@GENE_TP53' does not resolve",
    ):
        read_bioc_json(path, source="s", split="t")


def test_relation_that_cannot_be_interpreted(tmp_path):
    document = _bioc_json_document(
        "d2", relations=[{"id": "R7", "infons": {"type": "x"}, "nodes": []}]
    )
    path = _write(tmp_path, "rel.json", json.dumps(document))
    with pytest.raises(CorpusFormatError, match=r"record d2: relation 'R7': cannot interpret it"):
        read_bioc_json(path, source="s", split="t")


def test_schema_violation_becomes_a_corpus_format_error(tmp_path):
    annotation = {
        "id": "1",
        "infons": {"type": "Gene"},
        "text": "BRCA1 CA1",
        "locations": [{"offset": 0, "length": 5}, {"offset": 2, "length": 3}],
    }
    path = _write(tmp_path, "overlap.json", json.dumps(_bioc_json_document("d3", [annotation])))
    with pytest.raises(
        CorpusFormatError,
        match=r"overlap\.json, record d3: schema violation: .*not sorted and disjoint",
    ):
        read_bioc_json(path, source="s", split="t")


def test_annotation_without_type(tmp_path):
    path = _write(
        tmp_path,
        "t.json",
        json.dumps(_bioc_json_document("d4", [_annotation("1", {}, 0, "BRCA1")])),
    )
    with pytest.raises(CorpusFormatError, match=r"record d4: annotation '1': no 'type' infon"):
        read_bioc_json(path, source="s", split="t")


@pytest.mark.parametrize("reader", [read_bioc_xml, read_bioc_json])
def test_empty_file(tmp_path, reader):
    path = _write(tmp_path, "empty.data", " \n")
    with pytest.raises(CorpusFormatError, match=r"empty\.data: file is empty"):
        reader(path, source="s", split="t")


@pytest.mark.parametrize("reader", [read_bioc_xml, read_bioc_json])
def test_invalid_utf8(tmp_path, reader):
    path = _write(tmp_path, "latin1.data", b'{"a":\n"caf\xe9"}')
    with pytest.raises(CorpusFormatError, match=r"latin1\.data, line 2: invalid UTF-8"):
        reader(path, source="s", split="t")


def test_xml_without_documents(tmp_path):
    path = _write(tmp_path, "none.xml", "<collection><source>x</source></collection>")
    with pytest.raises(CorpusFormatError, match=r"none\.xml: no <document> element"):
        read_bioc_xml(path, source="s", split="t")


def test_empty_json_directory(tmp_path):
    with pytest.raises(CorpusFormatError, match="holds no"):
        read_bioc_json(tmp_path, source="s", split="t")


# --------------------------------------------------------------------------------------------
# Real corpora (../shared/data)
# --------------------------------------------------------------------------------------------

BC5CDR_SPLITS = {
    # split: (file stem, documents, Chemical, Disease, CID, IndividualMention skipped)
    "train": ("CDR_TrainingSet", 500, 5203, 4182, 1038, 185),
    "dev": ("CDR_DevelopmentSet", 500, 5347, 4244, 1012, 182),
    "test": ("CDR_TestSet", 500, 5385, 4424, 1066, 119),
}


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real corpus not available: {path} is absent (see ../shared/data/SOURCES.md)")
    return path


def _pubtator_file(path: Path) -> dict[str, dict]:
    """A minimal parse of a BC5CDR PubTator file, to cross-check the BioC reader."""
    documents: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, kind, text = line.split("|", 2)
            documents.setdefault(pmid, {"mentions": [], "cid": []})[kind] = text
        elif line:
            fields = line.split("\t")
            if fields[1] == "CID":
                documents[fields[0]]["cid"].append((f"MESH:{fields[2]}", f"MESH:{fields[3]}"))
            else:
                ids = [f"MESH:{c}" for c in fields[5].split("|") if c != "-1"]
                documents[fields[0]]["mentions"].append(
                    ((int(fields[1]), int(fields[2])), fields[3], fields[4], ids)
                )
    return documents


@pytest.mark.real_data
@pytest.mark.parametrize("split", list(BC5CDR_SPLITS))
def test_real_bc5cdr_bioc_xml(split):
    stem, n_docs, n_chemical, n_disease, n_cid, n_individual = BC5CDR_SPLITS[split]
    path = _require(SHARED_DATA / "bc5cdr" / f"{stem}.BioC.xml")
    result = read_bioc_xml(path, source="bc5cdr", split=split)

    assert len(result.documents) == n_docs
    types = Counter(e.type for doc in result.documents for e in doc.entities)
    assert types == {"Chemical": n_chemical, "Disease": n_disease}
    assert Counter(r.type for doc in result.documents for r in doc.relations) == {"CID": n_cid}
    assert Counter(s.reason for s in result.skipped) == {INDIVIDUAL_MENTION_REASON: n_individual}

    pubtator = _pubtator_file(_require(SHARED_DATA / "bc5cdr" / f"{stem}.PubTator.txt"))
    assert [doc.id for doc in result.documents] == list(pubtator)
    for doc in result.documents:
        expected = pubtator[doc.id]
        assert doc.text == expected["t"] + " " + expected["a"]
        mentions = [
            ((e.start, e.end), e.text, e.type, [n.curie for n in e.normalized])
            for e in doc.entities
        ]
        assert mentions == expected["mentions"], doc.id
        assert [(r.arg1_id, r.arg2_id) for r in doc.relations] == expected["cid"], doc.id
        assert all(r.level == "concept" for r in doc.relations)


@pytest.mark.real_data
def test_real_pubtator3_bioc_json():
    directory = _require(SHARED_DATA / "pubtator3_sample" / "factoid_biocjson")
    result = read_bioc_json(directory, source="pubtator3", split="sample")

    assert len(result.documents) == 8
    assert result.skipped == []
    assert sum(len(doc.entities) for doc in result.documents) == 170
    assert sum(len(doc.relations) for doc in result.documents) == 34
    assert Counter(e.type for doc in result.documents for e in doc.entities) == {
        "Gene": 103,
        "Species": 33,
        "Disease": 28,
        "Chemical": 3,
        "Variant": 2,
        "CellLine": 1,
    }
    assert Counter(r.type for doc in result.documents for r in doc.relations) == {
        "Association": 26,
        "Bind": 3,
        "Positive_Correlation": 3,
        "Negative_Correlation": 2,
    }
    first = result.documents[0]
    assert first.id == "10.1016/j.molcel.2016.11.034"
    assert first.attributes["pmid"] == "28041912"
    assert (first.relations[0].arg1_id, first.relations[0].arg2_id) == (
        "MESH:D064129",
        "NCBIGene:4792",
    )
    assert first.relations[0].attributes["score"] == "0.9996"
    # Annotations PubTator3 could not normalize (no identifier, or "-") carry no concept.
    unnormalized = [e for doc in result.documents for e in doc.entities if not e.normalized]
    assert [(e.type, e.text) for e in unnormalized] == [
        ("Chemical", "H1A"),
        ("Disease", "proinflammatory"),
        ("CellLine", "MITRG"),
    ]
