"""Tests for the IOB/CoNLL reader: inline files, malformed inputs and the real NCBI/BC5CDR files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bioie_kedro.corpora.base import CorpusFormatError
from bioie_kedro.corpora.conll import REPAIRED_E_TAG, REPAIRED_I_TAG, read_conll
from bioie_kedro.schema import validate_documents

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared corpora not found at {SHARED_DATA}"
)


def write(tmp_path: Path, content: str, name: str = "sample.tsv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def spans(doc):
    return [(e.type, e.offsets, e.text) for e in doc.entities]


# ------------------------------------------------------------------ well-formed inputs


def test_sentences_without_docstart_become_documents(tmp_path):
    path = write(
        tmp_path,
        "Familial\tB-Disease\nbreast\tI-Disease\ncancer\tI-Disease\n.\tO\n\n"
        "No\tO\ndisease\tO\n\n\n"
        "APC\tB-Disease\n",  # last sentence without a trailing blank line, entity at the very end
    )
    result = read_conll(path, source="toy", split="train")

    assert [d.id for d in result.documents] == ["sample-1", "sample-2", "sample-3"]
    first, second, third = result.documents
    assert first.text == "Familial breast cancer ."
    assert spans(first) == [("Disease", [(0, 22)], "Familial breast cancer")]
    assert [e.id for e in first.entities] == ["T1"]
    assert first.sentences[0].tokens == [(0, 8), (9, 15), (16, 22), (23, 24)]
    assert [(p.type, p.text, p.offsets) for p in first.passages] == [
        ("sentence", "Familial breast cancer .", [(0, 24)])
    ]
    assert second.entities == []
    assert spans(third) == [("Disease", [(0, 3)], "APC")]
    assert {(d.source, d.split) for d in result.documents} == {("toy", "train")}
    assert result.skipped == result.corrections == []
    validate_documents(result.documents)


def test_docstart_blocks_group_sentences(tmp_path):
    path = write(
        tmp_path,
        "-DOCSTART- -X- -X- O\n\n"
        "Aspirin NNP B-NP B-Chemical\ncauses VBZ B-VP O\nulcers NNS B-NP B-Disease\n\n"
        "Twice RB B-ADVP O\n\n"
        "-DOCSTART-\tO\n\n"
        "lithium\tB-Chemical\ntoxicity\tB-Disease\n",
    )
    result = read_conll(path, source="toy", split="dev")

    assert [d.id for d in result.documents] == ["sample-1", "sample-2"]
    first, second = result.documents
    assert first.text == "Aspirin causes ulcers Twice"
    assert [(s.start, s.end) for s in first.sentences] == [(0, 21), (22, 27)]
    assert first.sentences[1].tokens == [(22, 27)]
    assert [p.id for p in first.passages] == ["S1", "S2"]
    assert spans(first) == [("Chemical", [(0, 7)], "Aspirin"), ("Disease", [(15, 21)], "ulcers")]
    assert spans(second) == [("Chemical", [(0, 7)], "lithium"), ("Disease", [(8, 16)], "toxicity")]
    validate_documents(result.documents)


def test_empty_docstart_block_is_skipped_and_reported(tmp_path):
    path = write(tmp_path, "-DOCSTART-\tO\n\n-DOCSTART-\tO\n\nx\tO\n")
    result = read_conll(path, source="toy", split="dev")
    assert [d.id for d in result.documents] == ["sample-2"]
    assert [(s.record, s.reason) for s in result.skipped] == [
        ("document sample-1, line 1", "-DOCSTART- block without tokens")
    ]


def test_i_without_b_is_repaired_and_listed_as_a_correction(tmp_path):
    path = write(
        tmp_path,
        "a\tO\nb\tI-Disease\nc\tI-Chemical\nd\tB-Disease\ne\tI-Disease\n",
    )
    result = read_conll(path, source="toy", split="train")
    (doc,) = result.documents
    assert spans(doc) == [
        ("Disease", [(2, 3)], "b"),
        ("Chemical", [(4, 5)], "c"),
        ("Disease", [(6, 9)], "d e"),
    ]
    assert result.skipped == []
    assert [(c.record, c.reason) for c in result.corrections] == [
        ("document sample-1, line 2", REPAIRED_I_TAG),
        ("document sample-1, line 3", REPAIRED_I_TAG),
    ]


def test_iob1_starts_entities_with_i_without_reporting(tmp_path):
    path = write(tmp_path, "a\tI-Gene\nb\tI-Gene\nc\tB-Gene\nd\tO\ne\tI-Gene\n")
    result = read_conll(path, source="toy", split="train", scheme="iob1")
    (doc,) = result.documents
    assert spans(doc) == [
        ("Gene", [(0, 3)], "a b"),
        ("Gene", [(4, 5)], "c"),
        ("Gene", [(8, 9)], "e"),
    ]
    assert result.skipped == result.corrections == []


@pytest.mark.parametrize("scheme", ["auto", "bioes", "iobes"])
def test_bioes_tags(tmp_path, scheme):
    path = write(
        tmp_path,
        "a\tS-Chemical\nb\tB-Disease\nc\tI-Disease\nd\tE-Disease\ne\tO\nf\tE-Disease\ng\tB-Gene\n",
    )
    result = read_conll(path, source="toy", split="train", scheme=scheme)
    (doc,) = result.documents
    assert spans(doc) == [
        ("Chemical", [(0, 1)], "a"),
        ("Disease", [(2, 7)], "b c d"),
        ("Disease", [(10, 11)], "f"),
        ("Gene", [(12, 13)], "g"),  # an unclosed B- still ends at the sentence end
    ]
    assert [c.reason for c in result.corrections] == [REPAIRED_E_TAG]


def test_crlf_and_bom_are_accepted(tmp_path):
    path = tmp_path / "crlf.tsv"
    path.write_bytes("\ufeffx\tB-Disease\r\ny\tO\r\n\r\n".encode())
    (doc,) = read_conll(path, source="toy", split="train").documents
    assert doc.text == "x y"
    assert spans(doc) == [("Disease", [(0, 1)], "x")]


def test_unknown_scheme_is_a_value_error(tmp_path):
    path = write(tmp_path, "x\tO\n")
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        read_conll(path, source="toy", split="train", scheme="bilou")


# ------------------------------------------------------------------ malformed inputs


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("a\tO\nadenomatous\n", 2, "no tag column"),  # truncated line
        ("a\tO\n\nb\t\n", 3, "no tag column"),
        ("a\tO\nb\tX-Disease\n", 2, "unknown tag 'X-Disease'"),
        ("a\tB-\n", 1, "unknown tag 'B-'"),
        ("a\to\n", 1, "unknown tag 'o'"),
        ("\tO\n", 1, "empty token"),
        ("a b\tO\n", 1, "contains whitespace"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, content, line, problem):
    path = write(tmp_path, content, name="bad.tsv")
    with pytest.raises(CorpusFormatError, match=problem) as info:
        read_conll(path, source="toy", split="train")
    assert info.value.line == line
    assert str(path) in str(info.value) and f"line {line}" in str(info.value)


def test_tag_outside_explicit_scheme(tmp_path):
    path = write(tmp_path, "a\tO\nb\tS-Disease\n", name="bad.tsv")
    with pytest.raises(CorpusFormatError, match="not part of the iob2 scheme") as info:
        read_conll(path, source="toy", split="train", scheme="iob2")
    assert info.value.line == 2 and str(path) in str(info.value)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, content, name="empty.tsv")
    with pytest.raises(CorpusFormatError, match="file is empty") as info:
        read_conll(path, source="toy", split="train")
    assert str(path) in str(info.value)


def test_file_with_only_docstart(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\n", name="hollow.tsv")
    with pytest.raises(CorpusFormatError, match="no token lines") as info:
        read_conll(path, source="toy", split="train")
    assert str(path) in str(info.value)


def test_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"a\tO\n\nna\xefve\tO\n")
    with pytest.raises(CorpusFormatError, match="invalid UTF-8") as info:
        read_conll(path, source="toy", split="train")
    assert info.value.line == 3
    assert str(path) in str(info.value) and "line 3" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CorpusFormatError, match="file not found"):
        read_conll(tmp_path / "nope.tsv", source="toy", split="train")


# ------------------------------------------------------------------ real corpora


def _counts(result):
    docs = result.documents
    return (
        sum(len(d.sentences) for d in docs),
        sum(len(s.tokens) for d in docs for s in d.sentences),
        Counter(e.type for d in docs for e in d.entities),
    )


@pytest.mark.real_data
@needs_shared_data
@pytest.mark.parametrize(
    ("split", "sentences", "tokens", "mentions"),
    [("train", 5432, 136086, 5145), ("devel", 923, 23969, 787), ("test", 940, 24497, 960)],
)
def test_ncbi_conll_counts(split, sentences, tokens, mentions):
    path = SHARED_DATA / "ncbi_disease" / "conll" / f"{split}.tsv"
    result = read_conll(path, source="ncbi_disease", split=split)
    assert _counts(result) == (sentences, tokens, Counter({"Disease": mentions}))
    assert len(result.documents) == sentences  # no -DOCSTART-: one document per sentence
    assert result.skipped == result.corrections == []
    validate_documents(result.documents)


@pytest.mark.real_data
@needs_shared_data
@pytest.mark.parametrize(
    ("split", "sentences", "tokens", "chemical", "disease"),
    [
        ("train", 4560, 118170, 5203, 4182),
        ("devel", 4581, 117453, 5347, 4246),
        ("test", 4797, 124750, 5385, 4424),
    ],
)
def test_bc5cdr_iob_counts(split, sentences, tokens, chemical, disease):
    path = SHARED_DATA / "bc5cdr" / "iob" / "BC5CDR-IOB" / f"{split}.tsv"
    result = read_conll(path, source="bc5cdr", split=split)
    assert _counts(result) == (
        sentences,
        tokens,
        Counter({"Chemical": chemical, "Disease": disease}),
    )
    assert result.skipped == result.corrections == []
    validate_documents(result.documents)
