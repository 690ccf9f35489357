"""The document model: validation errors name corpus, document and entity; Parquet is loss-free."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from bioie_kedro.schema import (
    Document,
    DocumentValidationError,
    Entity,
    Normalization,
    Passage,
    Relation,
    Sentence,
    documents_from_table,
    documents_to_table,
    validate_document,
    validate_documents,
)

TITLE = "Cisplatin causes nephrotoxicity."
ABSTRACT = "Renal and hepatic damage followed."
TEXT = f"{TITLE} {ABSTRACT}"


def make_doc(**overrides) -> Document:
    fields = {
        "id": "9000001",
        "source": "demo",
        "split": "train",
        "text": TEXT,
        "passages": [
            Passage("9000001-title", "title", TITLE, [(0, len(TITLE))]),
            Passage("9000001-abstract", "abstract", ABSTRACT, [(len(TITLE) + 1, len(TEXT))]),
        ],
        "entities": [
            Entity("T1", "Chemical", "Cisplatin", [(0, 9)], [Normalization("MESH", "D002945")]),
            Entity(
                "T2", "Disease", "nephrotoxicity", [(17, 31)], [Normalization("MESH", "D007674")]
            ),
            # discontinuous: "Renal … damage"
            Entity(
                "T3", "Disease", "Renal damage", [(33, 38), (51, 57)], [], {"note": "discontinuous"}
            ),
        ],
        "relations": [
            Relation("R1", "CID", "MESH:D002945", "MESH:D007674", "concept"),
            Relation(
                "R2", "causes", "T1", "T3", "mention", [Normalization("X", "1")], {"score": "0.9"}
            ),
        ],
        "sentences": [Sentence(0, 32, [(0, 9), (10, 16), (17, 31), (31, 32)])],
        "attributes": {"journal": "Demo J"},
    }
    fields.update(overrides)
    return Document(**fields)


def test_valid_document_passes_and_is_returned():
    doc = make_doc()
    assert validate_document(doc) is doc
    assert doc.entities[2].is_discontinuous
    assert doc.concept_ids() == {"MESH:D002945", "MESH:D007674"}


def test_entity_text_mismatch_names_corpus_document_and_entity():
    doc = make_doc(entities=[Entity("T9", "Chemical", "cisplatin", [(0, 9)])], relations=[])
    with pytest.raises(DocumentValidationError) as info:
        validate_document(doc)
    message = str(info.value)
    assert "'demo'" in message and "'9000001'" in message and "'T9'" in message
    assert info.value.document_id == "9000001"


@pytest.mark.parametrize("span", [(0, 0), (-1, 3), (60, 200), (5, 3)])
def test_spans_outside_the_text_are_rejected(span):
    doc = make_doc(entities=[Entity("T1", "Chemical", "x", [span])], relations=[])
    with pytest.raises(DocumentValidationError, match="outside the text|empty"):
        validate_document(doc)


def test_relation_to_unknown_entity_or_concept_is_rejected():
    with pytest.raises(DocumentValidationError, match="'T7' is not a entity"):
        validate_document(make_doc(relations=[Relation("R1", "x", "T1", "T7")]))
    with pytest.raises(DocumentValidationError, match="'MESH:D0' is not a concept"):
        validate_document(
            make_doc(relations=[Relation("R1", "CID", "MESH:D0", "MESH:D007674", "concept")])
        )


def test_duplicate_ids_and_bad_sentences_are_rejected():
    entity = Entity("T1", "Chemical", "Cisplatin", [(0, 9)])
    with pytest.raises(DocumentValidationError, match="duplicate entity id"):
        validate_document(make_doc(entities=[entity, entity], relations=[]))
    with pytest.raises(DocumentValidationError, match="token"):
        validate_document(make_doc(sentences=[Sentence(0, 10, [(5, 12)])]))
    with pytest.raises(DocumentValidationError, match="duplicate document id"):
        validate_documents([make_doc(), make_doc()])


def test_passage_text_must_match():
    with pytest.raises(DocumentValidationError, match="passage"):
        validate_document(make_doc(passages=[Passage("p", "title", "wrong", [(0, 5)])]))


def test_parquet_round_trip_is_loss_free(tmp_path):
    docs = [
        make_doc(),
        make_doc(id="9000002", entities=[], relations=[], sentences=[], attributes={}),
    ]
    path = tmp_path / "docs.parquet"
    pq.write_table(documents_to_table(docs), path)
    table = pq.read_table(path)
    # nested columns, not JSON strings
    assert str(table.schema.field("entities").type).startswith("list<element: struct<id: string")
    assert documents_from_table(table) == docs


def test_table_without_document_columns_is_rejected():
    import pyarrow as pa

    with pytest.raises(ValueError, match="not a documents table"):
        documents_from_table(pa.table({"id": ["1"]}))
