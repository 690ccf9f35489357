"""DocumentsDataset (Parquet, atomic, versioned) and CorpusCollectionDataset (raw corpora)."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError, Version

from bioie_kedro.datasets import CorpusCollectionDataset, DocumentsDataset
from bioie_kedro.schema import Document, Entity

PUBTATOR = "1|t|Lithium toxicity.\n1|a|Seen in rats.\n1\t0\t7\tLithium\tChemical\tD008094\n\n"


def docs() -> list[Document]:
    return [
        Document(
            "1",
            "demo",
            "train",
            "Lithium toxicity.",
            entities=[Entity("T1", "Chemical", "Lithium", [(0, 7)])],
        ),
        Document("2", "demo", "train", "Nothing here."),
    ]


def test_documents_dataset_round_trip(tmp_path):
    dataset = DocumentsDataset(filepath=str(tmp_path / "sub" / "docs.parquet"))
    assert not dataset.exists()
    dataset.save(docs())
    assert dataset.exists()
    assert dataset.load() == docs()
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["docs.parquet"]  # no temp file left


def test_documents_dataset_refuses_invalid_documents_and_leaves_nothing(tmp_path):
    path = tmp_path / "docs.parquet"
    dataset = DocumentsDataset(filepath=str(path))
    bad = [Document("1", "demo", "train", "abc", entities=[Entity("T1", "X", "zzz", [(0, 3)])])]
    with pytest.raises(DatasetError, match="'demo', document '1', entity 'T1'"):
        dataset.save(bad)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(DatasetError, match="saves a list"):
        dataset.save({"not": "documents"})


def test_documents_dataset_versioned(tmp_path):
    path = str(tmp_path / "docs.parquet")
    DocumentsDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(docs())
    DocumentsDataset(filepath=path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(
        docs()[:1]
    )
    assert len(DocumentsDataset(filepath=path, version=Version(None, None)).load()) == 1
    assert (
        len(
            DocumentsDataset(
                filepath=path, version=Version("2026-01-01T00.00.00.000Z", None)
            ).load()
        )
        == 2
    )


def test_documents_dataset_reports_unreadable_file(tmp_path):
    path = tmp_path / "docs.parquet"
    path.write_text("not parquet")
    with pytest.raises(DatasetError, match="cannot read documents from"):
        DocumentsDataset(filepath=str(path)).load()


def test_corpus_collection_reads_relative_to_root(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "train.txt").write_text(PUBTATOR)
    dataset = CorpusCollectionDataset(
        root=str(tmp_path),
        corpora={"demo": {"format": "pubtator", "splits": {"train": "demo/train.txt"}}},
    )
    loaded = dataset.load()
    assert list(loaded) == ["demo"] and len(loaded["demo"]["train"].documents) == 1
    assert loaded["demo"]["train"].documents[0].source == "demo"
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save({})


def test_corpus_collection_errors_name_corpus_split_and_file(tmp_path):
    (tmp_path / "bad.txt").write_text("1|t|Short.\n1\t0\t50\tShort\tChemical\tD1\n")
    dataset = CorpusCollectionDataset(
        corpora={"demo": {"format": "pubtator", "splits": {"dev": str(tmp_path / "bad.txt")}}}
    )
    with pytest.raises(DatasetError, match=r"corpus 'demo', split 'dev': .*bad.txt, line 2"):
        dataset.load()
    with pytest.raises(DatasetError, match="format 'brat' is not one of"):
        CorpusCollectionDataset(corpora={"x": {"format": "brat", "splits": {"train": "x"}}})
    missing = CorpusCollectionDataset(
        root=str(tmp_path / "nope"), corpora={"x": {"format": "pubtator", "splits": {"t": "a"}}}
    )
    with pytest.raises(DatasetError, match="set BIOIE_CORPORA"):
        missing.load()
