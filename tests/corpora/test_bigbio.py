"""Tests for the BigBio KB converter: the hand-written BC5CDR sample, inline records, errors, hub call."""

from __future__ import annotations

import copy
import json
import sys
import types
from pathlib import Path

import pytest

from bioie_kedro.corpora.base import CorpusFormatError, SkippedRecord
from bioie_kedro.corpora.bigbio import (
    INSTALL_HINT,
    documents_from_bigbio,
    read_bigbio_hub,
    read_bigbio_jsonl,
)
from bioie_kedro.schema import Entity, Normalization, Passage, Relation

SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "bigbio" / "bc5cdr_bigbio_kb_sample.jsonl"
)


def _record(**overrides) -> dict:
    """A small BigBio KB record: title + abstract, two entities, one relation."""
    record = {
        "id": "0",
        "document_id": "42",
        "passages": [
            {"id": "1", "type": "title", "text": ["Lithium toxicity."], "offsets": [[0, 17]]},
            {"id": "2", "type": "abstract", "text": ["Tremor was seen."], "offsets": [[18, 34]]},
        ],
        "entities": [
            {
                "id": "3",
                "type": "Chemical",
                "text": ["Lithium"],
                "offsets": [[0, 7]],
                "normalized": [{"db_name": "MESH", "db_id": "D008094"}],
            },
            {
                "id": "4",
                "type": "Disease",
                "text": ["Tremor"],
                "offsets": [[18, 24]],
                "normalized": [],
            },
        ],
        "events": [],
        "coreferences": [],
        "relations": [{"id": "5", "type": "CID", "arg1_id": "3", "arg2_id": "4", "normalized": []}],
    }
    record.update(overrides)
    return record


# --------------------------------------------------------------------------------------------
# The hand-written bigbio/bc5cdr (bc5cdr_bigbio_kb) sample
# --------------------------------------------------------------------------------------------


def test_bc5cdr_bigbio_kb_sample():
    result = read_bigbio_jsonl(SAMPLE, source="bc5cdr", split="train")
    assert result.skipped == []
    assert [doc.id for doc in result.documents] == ["90000001", "90000002", "90000003"]
    assert [doc.attributes for doc in result.documents] == [
        {"bigbio_id": "0"},
        {"bigbio_id": "18"},
        {"bigbio_id": "30"},
    ]
    assert all(doc.source == "bc5cdr" and doc.split == "train" for doc in result.documents)

    first = result.documents[0]
    title = "Haloperidol-induced catalepsy in rats."
    assert first.text.startswith(title + " Catalepsy developed")
    assert first.passages[0] == Passage("1", "title", title, [(0, 38)])
    assert first.passages[1].offsets == [(39, 186)]
    assert first.entities[0] == Entity(
        "3", "Chemical", "Haloperidol", [(0, 11)], [Normalization("MESH", "D006220")]
    )
    # BigBio keeps the composite mention and its (discontinuous) individual mentions.
    composite, ocular, renal = first.entities[4:7]
    assert composite.text == "Ocular and renal toxicity"
    assert [n.curie for n in composite.normalized] == ["MESH:D014786", "MESH:D007674"]
    assert (ocular.text, ocular.offsets) == ("Ocular toxicity", [(94, 100), (111, 119)])
    assert (renal.text, renal.offsets) == ("renal toxicity", [(105, 119)])
    # The document-level CID pair (haloperidol, catalepsy) is expanded to all 2 x 3 mention pairs.
    assert [(r.arg1_id, r.arg2_id) for r in first.relations] == [
        ("3", "4"),
        ("3", "5"),
        ("3", "11"),
        ("6", "4"),
        ("6", "5"),
        ("6", "11"),
    ]
    assert first.relations[0] == Relation("12", "CID", "3", "4", level="mention")

    second = result.documents[1]
    unlinked = second.entities[4]
    assert (unlinked.text, unlinked.normalized) == ("XR-17", [])
    assert len(second.relations) == 4
    assert result.documents[2].relations == []


# --------------------------------------------------------------------------------------------
# Inline records
# --------------------------------------------------------------------------------------------


def test_record_is_converted_exactly():
    result = documents_from_bigbio([_record()], source="s", split="t")
    (doc,) = result.documents
    assert doc.id == "42"
    assert doc.text == "Lithium toxicity. Tremor was seen."
    assert doc.passages == [
        Passage("1", "title", "Lithium toxicity.", [(0, 17)]),
        Passage("2", "abstract", "Tremor was seen.", [(18, 34)]),
    ]
    assert doc.entities == [
        Entity("3", "Chemical", "Lithium", [(0, 7)], [Normalization("MESH", "D008094")]),
        Entity("4", "Disease", "Tremor", [(18, 24)], []),
    ]
    assert doc.relations == [Relation("5", "CID", "3", "4", level="mention")]


def test_passage_gaps_become_spaces_and_multi_span_passages_are_split():
    record = _record(
        passages=[
            {
                "id": "p",
                "type": "text",
                "text": ["Lithium toxicity.", "Tremor was seen."],
                "offsets": [[0, 17], [20, 36]],
            }
        ],
        entities=[
            {
                "id": "4",
                "type": "Disease",
                "text": ["Tremor"],
                "offsets": [[20, 26]],
                "normalized": [],
            }
        ],
        relations=[],
    )
    (doc,) = documents_from_bigbio([record], source="s", split="t").documents
    assert doc.text == "Lithium toxicity.   Tremor was seen."
    assert [(p.id, p.offsets) for p in doc.passages] == [("p-1", [(0, 17)]), ("p-2", [(20, 36)])]


def test_events_and_coreferences_are_skipped_with_a_reason():
    record = _record(
        events=[{"id": "E1", "type": "Regulation", "trigger": {}, "arguments": []}],
        coreferences=[{"id": "C1", "entity_ids": ["3", "4"]}, {"id": "C2", "entity_ids": ["3"]}],
    )
    result = documents_from_bigbio([record], source="s", split="t", origin="unit")
    assert result.skipped == [
        SkippedRecord("unit", "0/E1", "event: the document schema has no events"),
        SkippedRecord("unit", "0/C1", "coreference: the document schema has no coreferences"),
        SkippedRecord("unit", "0/C2", "coreference: the document schema has no coreferences"),
    ]
    assert len(result.documents) == 1


def test_discontinuous_text_split_heuristically_is_accepted():
    record = _record(
        entities=[
            {
                "id": "3",
                "type": "Disease",
                "text": ["Lithium toxicity"],  # one text for two spans
                "offsets": [[8, 16], [0, 7]],
                "normalized": [],
            }
        ],
        relations=[],
    )
    (doc,) = documents_from_bigbio([record], source="s", split="t").documents
    assert doc.entities[0].offsets == [(0, 7), (8, 16)]
    assert doc.entities[0].text == "Lithium toxicity"


def test_repeated_document_id_is_skipped_keeping_the_first():
    other = _record(id="9")
    other["passages"][1]["text"] = ["Tremor was rare."]
    records = [_record(), _record(id="5"), other]
    result = documents_from_bigbio(records, source="s", split="t", origin="unit")
    assert [(doc.id, doc.attributes["bigbio_id"]) for doc in result.documents] == [("42", "0")]
    assert result.skipped == [
        SkippedRecord(
            "unit",
            "5",
            "duplicate document_id 42; identical to the first occurrence (record 0), which is kept",
        ),
        SkippedRecord(
            "unit",
            "9",
            "duplicate document_id 42; differs from the first occurrence (record 0), which is kept",
        ),
    ]


def test_repeated_document_id_in_jsonl_names_the_line(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(
        json.dumps(_record()) + "\n" + json.dumps(_record(id="1")) + "\n", encoding="utf-8"
    )
    result = read_bigbio_jsonl(path, source="s", split="t")
    assert [(s.file, s.record) for s in result.skipped] == [(str(path), "1 (line 2)")]


# --------------------------------------------------------------------------------------------
# Malformed input
# --------------------------------------------------------------------------------------------


def test_entity_offsets_beyond_the_text():
    record = _record()
    record["entities"][1]["offsets"] = [[30, 40]]
    with pytest.raises(
        CorpusFormatError,
        match=r"unit, record 0: document 42: entity '4' \(Disease\): span \[30, 40\)",
    ):
        documents_from_bigbio([record], source="s", split="t", origin="unit")


def test_entity_text_differing_from_the_document_text():
    record = _record()
    record["entities"][0]["text"] = ["Lithium!"]
    with pytest.raises(
        CorpusFormatError, match=r"record 0: .*entity '3' \(Chemical\): BigBio text \['Lithium!'\]"
    ):
        documents_from_bigbio([record], source="s", split="t", origin="unit")


def test_relation_to_an_unknown_entity():
    record = _record()
    record["relations"][0]["arg2_id"] = "99"
    with pytest.raises(
        CorpusFormatError, match=r"record 0: .*relation '5' .*argument '99' is not an entity"
    ):
        documents_from_bigbio([record], source="s", split="t", origin="unit")


def test_schema_violation_becomes_a_corpus_format_error():
    record = _record()
    record["relations"].append(copy.deepcopy(record["relations"][0]))
    with pytest.raises(
        CorpusFormatError, match=r"record 0: .*schema violation: .*duplicate relation id"
    ):
        documents_from_bigbio([record], source="s", split="t", origin="unit")


def test_malformed_offsets_and_records():
    record = _record()
    record["entities"][0]["offsets"] = [[0]]
    with pytest.raises(
        CorpusFormatError,
        match=r"entity '3' \(Chemical\): offsets \[0\] are not a \[start, end\] pair",
    ):
        documents_from_bigbio([record], source="s", split="t")
    with pytest.raises(CorpusFormatError, match="not an object"):
        documents_from_bigbio(["not a record"], source="s", split="t")
    with pytest.raises(CorpusFormatError, match="neither 'document_id' nor 'id'"):
        documents_from_bigbio([{"passages": []}], source="s", split="t")


def test_jsonl_truncated_line_names_file_and_line(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(
        json.dumps(_record()) + "\n\n" + json.dumps(_record(id="1"))[:50] + "\n", encoding="utf-8"
    )
    with pytest.raises(CorpusFormatError, match=r"kb\.jsonl, line 3: invalid JSON"):
        read_bigbio_jsonl(path, source="s", split="t")


def test_jsonl_record_error_names_file_line_and_record(tmp_path):
    bad = _record(id="7")
    bad["entities"][0]["offsets"] = [[0, 99]]
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps(_record()) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(
        CorpusFormatError, match=r"kb\.jsonl, line 2, record 7: document 42: entity '3'"
    ):
        read_bigbio_jsonl(path, source="s", split="t")


def test_jsonl_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"empty\.jsonl: file is empty"):
        read_bigbio_jsonl(path, source="s", split="t")


def test_jsonl_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(_record()).encode() + b'\n{"id": "caf\xe9"}\n')
    with pytest.raises(CorpusFormatError, match=r"latin1\.jsonl, line 2: invalid UTF-8"):
        read_bigbio_jsonl(path, source="s", split="t")


# --------------------------------------------------------------------------------------------
# Hub loading (datasets is replaced by a stub; no network)
# --------------------------------------------------------------------------------------------


def test_read_bigbio_hub_calls_load_dataset(monkeypatch):
    calls = []

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return [_record()]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    result = read_bigbio_hub(
        "bigbio/bc5cdr",
        config="bc5cdr_bigbio_kb",
        split="validation",
        source="bc5cdr",
        split_name="dev",
        revision="main",
    )
    assert calls == [
        (("bigbio/bc5cdr", "bc5cdr_bigbio_kb"), {"split": "validation", "revision": "main"})
    ]
    assert [(doc.id, doc.source, doc.split) for doc in result.documents] == [
        ("42", "bc5cdr", "dev")
    ]

    read_bigbio_hub("bigbio/bc5cdr", config="c", split="train", source="s", trust_remote_code=True)
    assert calls[-1] == (("bigbio/bc5cdr", "c"), {"split": "train", "trust_remote_code": True})


def test_read_bigbio_hub_names_the_dataset_in_errors(monkeypatch):
    bad = _record()
    bad["relations"][0]["arg1_id"] = "missing"
    monkeypatch.setitem(
        sys.modules, "datasets", types.SimpleNamespace(load_dataset=lambda *a, **k: [bad])
    )
    with pytest.raises(
        CorpusFormatError, match=r"bigbio/bc5cdr \(bc5cdr_bigbio_kb, split train\), record 0"
    ):
        read_bigbio_hub("bigbio/bc5cdr", config="bc5cdr_bigbio_kb", split="train", source="s")


def test_read_bigbio_hub_without_datasets(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match=r"pip install 'bioie_kedro\[bigbio\]'"):
        read_bigbio_hub("bigbio/bc5cdr", config="c", split="train", source="s")
    assert INSTALL_HINT == "pip install 'bioie_kedro[bigbio]'"
