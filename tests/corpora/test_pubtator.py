"""PubTator reader and writer: inline examples, malformed input, real NCBI-disease and BC5CDR."""

from __future__ import annotations

from collections import Counter

import pytest

from bioie_kedro.corpora import CorpusFormatError, read_corpus
from bioie_kedro.corpora.pubtator import format_pubtator, parse_concept_ids, read_pubtator
from bioie_kedro.schema import Normalization

SAMPLE = (
    "100|t|Cisplatin nephrotoxicity.\n"
    "100|a|Renal and hepatic toxicity after cisplatin.\n"
    "100\t0\t9\tCisplatin\tChemical\tD002945\n"
    "100\t10\t24\tnephrotoxicity\tDisease\tD007674\n"
    "100\t26\t52\tRenal and hepatic toxicity\tDisease\tD007674|D056486\tRenal toxicity|hepatic toxicity\n"
    "100\t59\t68\tcisplatin\tChemical\t-1\n"
    "100\tCID\tD002945\tD007674\n"
    "\n"
    "200|t|A second title.\n"
    "200|a|\n"
    "\n"
)


def write(tmp_path, content: str | bytes, name: str = "corpus.PubTator.txt"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_reads_documents_with_offsets_concepts_and_relations(tmp_path):
    result = read_pubtator(write(tmp_path, SAMPLE), source="demo", split="train")
    first, second = result.documents
    assert first.text == "Cisplatin nephrotoxicity. Renal and hepatic toxicity after cisplatin."
    assert [p.offsets for p in first.passages] == [[(0, 25)], [(26, 69)]]
    assert [(e.id, e.text, e.offsets) for e in first.entities] == [
        ("T1", "Cisplatin", [(0, 9)]),
        ("T2", "nephrotoxicity", [(10, 24)]),
        ("T3", "Renal and hepatic toxicity", [(26, 52)]),
        ("T4", "cisplatin", [(59, 68)]),
    ]
    assert first.entities[2].normalized == [
        Normalization("MESH", "D007674"),
        Normalization("MESH", "D056486"),
    ]
    assert first.entities[2].attributes["extra"] == "Renal toxicity|hepatic toxicity"
    assert first.entities[3].normalized == []
    (relation,) = first.relations
    assert (relation.type, relation.arg1_id, relation.arg2_id, relation.level) == (
        "CID",
        "MESH:D002945",
        "MESH:D007674",
        "concept",
    )
    assert second.text == "A second title." and second.entities == []
    assert {d.source for d in result.documents} == {"demo"} and {
        d.split for d in result.documents
    } == {"train"}


def test_write_then_read_gives_the_same_documents(tmp_path):
    docs = read_pubtator(write(tmp_path, SAMPLE), source="demo", split="train").documents
    again = read_pubtator(
        write(tmp_path, format_pubtator(docs), "again.txt"), source="demo", split="train"
    )
    assert again.documents == docs


def test_bioRED_style_relation_lines_with_novelty(tmp_path):
    content = (
        "300|t|BRCA1 variants and breast cancer.\n"
        "300|a|rs80357713 was found.\n"
        "300\t0\t5\tBRCA1\tGeneOrGeneProduct\t672\n"
        "300\t19\t32\tbreast cancer\tDiseaseOrPhenotypicFeature\tD001943\n"
        "300\t34\t44\trs80357713\tSequenceVariant\trs80357713\n"
        "300\tAssociation\t672\tD001943\tNovel\n"
        "300\tAssociation\trs80357713\tD001943\tNo\n"
    )
    doc = read_pubtator(write(tmp_path, content), source="biored", split="train").documents[0]
    assert doc.entities[0].normalized == [Normalization("NCBIGene", "672")]
    assert [(r.arg1_id, r.arg2_id, r.attributes["novelty"]) for r in doc.relations] == [
        ("NCBIGene:672", "MESH:D001943", "Novel"),
        ("dbSNP:rs80357713", "MESH:D001943", "No"),
    ]


def test_duplicate_document_is_skipped_and_reported(tmp_path):
    block = SAMPLE.split("\n\n")[0] + "\n\n"
    result = read_pubtator(write(tmp_path, block + block), source="demo", split="train")
    assert len(result.documents) == 1
    (skipped,) = result.skipped
    assert (
        skipped.record.startswith("100")
        and "duplicate" in skipped.reason
        and "identical" in skipped.reason
    )


def test_stray_whitespace_in_mention_is_corrected_and_reported(tmp_path):
    content = "1|t|Acute pain today.\n1|a|None.\n1\t0\t10\tAcute pain \tDisease\tD1\n"
    result = read_pubtator(write(tmp_path, content), source="x", split="train")
    assert result.documents[0].entities[0].text == "Acute pain"
    assert len(result.corrections) == 1 and "whitespace" in result.corrections[0].reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "100|t|Title\n100|a|Abstract\n100\t0\t5\n",
            r"line 3: expected an annotation",
        ),  # truncated
        (
            "100|t|Title\n100|a|Abstract\n100\t0\t99\tTitle\tDisease\tD1\n",
            r"line 3: offsets \[0, 99\)",
        ),
        (
            "100|t|Title\n100|a|Abstract\n100\t0\t5\tTitle\tDisease\tD1\n100\tCID\tD9\tD1\n",
            r"line 4: .*'D9'",
        ),
        (
            "100|t|Title\n100|a|Abstract\n100\t0\t5\tTitxe\tDisease\tD1\n",
            r"line 3: mention 'Titxe' differs",
        ),
        ("100\t0\t5\tTitle\tDisease\tD1\n", r"line 1: annotation line before any title"),
        ("100|t|Title\n101\t0\t5\tTitle\tDisease\tD1\n", r"line 2: line belongs to document '101'"),
        ("  \n\n", r"file is empty"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(CorpusFormatError, match=expected) as info:
        read_pubtator(path, source="x", split="train")
    assert str(path) in str(info.value)


def test_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path, b"100|t|Title\n100|a|Bad \xff byte\n")
    with pytest.raises(CorpusFormatError, match=r"line 2: invalid UTF-8") as info:
        read_pubtator(path, source="x", split="train")
    assert info.value.path == str(path)


def test_parse_concept_ids():
    assert parse_concept_ids("OMIM:1+D2", "SpecificDisease") == [
        Normalization("OMIM", "1"),
        Normalization("MESH", "D2"),
    ]
    assert parse_concept_ids("-1", "Chemical") == []
    assert parse_concept_ids(" D3", "Chemical") == [Normalization("MESH", "D3")]


def test_read_corpus_dispatches_and_rejects_unknown_formats(tmp_path):
    path = write(tmp_path, SAMPLE)
    assert len(read_corpus("pubtator", path, source="x", split="dev").documents) == 2
    with pytest.raises(ValueError, match="unknown corpus format 'brat'"):
        read_corpus("brat", path, source="x", split="dev")


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "documents", "mentions", "skipped"),
    [
        ("NCBItrainset_corpus.txt", 592, 5134, 1),
        ("NCBIdevelopset_corpus.txt", 100, 787, 0),
        ("NCBItestset_corpus.txt", 100, 960, 0),
    ],
)
def test_real_ncbi_disease(shared_data, name, documents, mentions, skipped):
    result = read_pubtator(shared_data / "ncbi_disease" / name, source="ncbi_disease", split="x")
    assert len(result.documents) == documents
    assert sum(len(d.entities) for d in result.documents) == mentions
    assert len(result.skipped) == skipped
    if skipped:
        assert result.skipped[0].record.startswith("8528200")


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "chemical", "disease", "cid"),
    [
        ("CDR_TrainingSet.PubTator.txt", 5203, 4182, 1038),
        ("CDR_DevelopmentSet.PubTator.txt", 5347, 4244, 1012),
        ("CDR_TestSet.PubTator.txt", 5385, 4424, 1066),
    ],
)
def test_real_bc5cdr(shared_data, name, chemical, disease, cid):
    result = read_pubtator(shared_data / "bc5cdr" / name, source="bc5cdr", split="x")
    types = Counter(e.type for d in result.documents for e in d.entities)
    assert len(result.documents) == 500
    assert (types["Chemical"], types["Disease"]) == (chemical, disease)
    assert sum(len(d.relations) for d in result.documents) == cid
    assert not result.skipped
