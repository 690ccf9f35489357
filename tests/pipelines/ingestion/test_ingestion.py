"""Ingestion: node unit tests, a pipeline slice on a catalog, and failure without partial output."""

from __future__ import annotations

import json

import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.partitions import PartitionedDataset

from bioie_kedro.corpora import ReadResult, SkippedRecord
from bioie_kedro.datasets import CorpusCollectionDataset
from bioie_kedro.pipelines.ingestion import create_pipeline
from bioie_kedro.pipelines.ingestion.nodes import build_documents, build_ingestion_report
from bioie_kedro.schema import Document, Entity, Passage, Relation

PARAMS = {
    "sentence_splitter": {"extra_abbreviations": [], "max_bracket_span": 200},
    "max_report_examples": 5,
}

TRAIN = (
    "1|t|Lithium-induced polyuria.\n"
    "1|a|Rats given lithium i.p. developed polyuria. Renal failure was rare.\n"
    "1\t0\t7\tLithium\tChemical\tD008094\n"
    "1\t16\t24\tpolyuria\tDisease\tD011141\n"
    "1\t37\t44\tlithium\tChemical\tD008094\n"
    "1\t60\t68\tpolyuria\tDisease\tD011141\n"
    "1\t70\t83\tRenal failure\tDisease\tD051437\n"
    "1\tCID\tD008094\tD011141\n"
    "\n"
    "1|t|Lithium-induced polyuria.\n"
    "1|a|Rats given lithium i.p. developed polyuria. Renal failure was rare.\n"
    "\n"
)


def one_doc() -> Document:
    text = "Aspirin caused gastric ulcer. Patients recovered."
    return Document(
        "7",
        "toy",
        "dev",
        text,
        passages=[Passage("7-title", "title", text, [(0, len(text))])],
        entities=[
            Entity("T1", "Chemical", "Aspirin", [(0, 7)]),
            Entity("T2", "Disease", "gastric ulcer", [(15, 28)]),
            Entity("T3", "Disease", "ulcer", [(23, 28)]),
        ],
        relations=[Relation("R1", "CID", "T1", "T2"), Relation("R2", "none", "T1", "T3")],
    )


def test_build_documents_segments_and_keys_partitions():
    raw = {"toy": {"dev": ReadResult([one_doc()])}}
    partitions = build_documents(raw, PARAMS)
    assert list(partitions) == ["toy/dev"]
    (doc,) = partitions["toy/dev"]
    assert [doc.text[s.start : s.end] for s in doc.sentences] == [
        "Aspirin caused gastric ulcer.",
        "Patients recovered.",
    ]


def test_report_counts_types_negatives_overlaps_and_skips():
    skipped = SkippedRecord("f.txt", "7 (line 9)", "duplicate document id")
    raw = {"toy": {"dev": ReadResult([one_doc()], [skipped])}}
    report = build_ingestion_report(raw, build_documents(raw, PARAMS), PARAMS)
    split = report["corpora"]["toy"]["dev"]
    assert split["documents"] == 1 and split["sentences"] == 2 and split["tokens"] == 8
    assert split["mentions_per_type"] == {"Chemical": 1, "Disease": 2}
    assert split["relations_per_type"] == {"CID": 1} and split["negative_relations"] == 1
    assert split["overlapping_mention_pairs"] == 1
    # "ulcer" lies inside "gastric ulcer": the IOB2 view keeps the longest and counts the other
    assert (split["iob2_policy"]["tagged"], split["iob2_policy"]["overlapping_dropped"]) == (2, 1)
    assert split["skipped"] == [skipped.as_dict()] and split["skipped_by_reason"] == {
        "duplicate document id": 1
    }
    assert split["entity_text_mismatches"] == 0
    assert report["totals"]["documents"] == 1 and report["totals"]["skipped_records"] == 1


def test_report_needs_every_partition():
    raw = {"toy": {"dev": ReadResult([one_doc()])}}
    with pytest.raises(KeyError, match="toy/dev"):
        build_ingestion_report(raw, {}, PARAMS)


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match="sentence_splitter"):
        build_documents({}, {"sentence_splitter": {"abbreviations": []}})


def make_catalog(tmp_path, train_text: str) -> DataCatalog:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir(exist_ok=True)
    (raw_dir / "train.txt").write_text(train_text)
    catalog = DataCatalog(
        {
            "raw_corpora": CorpusCollectionDataset(
                root=str(raw_dir),
                corpora={"toy": {"format": "pubtator", "splits": {"train": "train.txt"}}},
            ),
            "documents": PartitionedDataset(
                path=str(tmp_path / "out" / "documents"),
                dataset="bioie_kedro.datasets.DocumentsDataset",
                filename_suffix=".parquet",
                overwrite=True,
            ),
            "ingestion_report": JSONDataset(filepath=str(tmp_path / "out" / "report.json")),
        }
    )
    catalog["params:ingestion"] = PARAMS
    return catalog


def test_pipeline_slice_runs_on_a_catalog(tmp_path):
    catalog = make_catalog(tmp_path, TRAIN)
    SequentialRunner().run(create_pipeline(), catalog)
    assert (tmp_path / "out" / "documents" / "toy" / "train.parquet").is_file()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    train = report["corpora"]["toy"]["train"]
    assert train["documents"] == 1 and train["skipped_records"] == 1
    assert train["mentions_per_type"] == {"Chemical": 2, "Disease": 3}
    assert train["relations_per_type"] == {"CID": 1}
    assert train["sentences"] == 3  # "i.p." does not end a sentence
    assert train["entities_cut_by_sentence_boundary"] == 0
    loaded = catalog.load("documents")["toy/train"]()
    assert loaded[0].entities[4].text == "Renal failure"


def test_malformed_corpus_fails_with_location_and_writes_nothing(tmp_path):
    bad = TRAIN.replace("1\t70\t83\tRenal failure", "1\t70\t83\tRenal fai")
    catalog = make_catalog(tmp_path, bad)
    with pytest.raises(
        Exception, match=r"corpus 'toy', split 'train': .*train.txt, line 7: mention 'Renal fai'"
    ):
        SequentialRunner().run(create_pipeline(), catalog)
    assert not (tmp_path / "out").exists()
