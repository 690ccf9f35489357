"""Tests for the ChemProt (BioCreative VI) TSV reader: inline files, malformed inputs, real corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bioie_kedro.corpora.base import CorpusFormatError
from bioie_kedro.corpora.chemprot import read_chemprot, resolve_chemprot_files
from bioie_kedro.schema import validate_documents

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CHEMPROT_ROOT = SHARED_DATA / "chemprot"

needs_shared_data = pytest.mark.skipif(
    not CHEMPROT_ROOT.is_dir(), reason=f"shared ChemProt corpus not found at {CHEMPROT_ROOT}"
)

TITLE = "Aspirin inhibits COX-1."
ABSTRACT = "Ibuprofen binds COX-2 and PPARG."

ABSTRACTS = f"100\t{TITLE}\t{ABSTRACT}\n200\tNo relations here.\tJust caffeine.\n"
ENTITIES = (
    "100\tT1\tCHEMICAL\t0\t7\tAspirin\n"
    "100\tT2\tGENE-Y\t17\t22\tCOX-1\n"
    "100\tT3\tCHEMICAL\t24\t33\tIbuprofen\n"
    "100\tT4\tGENE-N\t40\t45\tCOX-2\n"
    "100\tT5\tGENE-Y\t50\t55\tPPARG\n"
    "200\tT1\tCHEMICAL\t24\t32\tcaffeine\n"
)
RELATIONS = (
    "100\tCPR:4\tY \tINHIBITOR\tArg1:T1\tArg2:T2\n"
    "100\tCPR:4\tY \tINDIRECT-DOWNREGULATOR\tArg1:T1\tArg2:T2\n"
    "100\tCPR:2\tN \tDIRECT-REGULATOR\tArg1:T3\tArg2:T4\n"
    "100\tCPR:9\tY \tSUBSTRATE\tArg1:T3\tArg2:T5\n"
    "100\tCPR:10\tN \tNOT\tArg1:T3\tArg2:T5\n"
)
GOLD = "100\tCPR:4\tArg1:T1\tArg2:T2\n100\tCPR:9\tArg1:T3\tArg2:T5\n100\tCPR:4\tArg1:T1\tArg2:T2\n"


def write_split(directory: Path, **overrides: str | bytes | None) -> Path:
    """Write the four files of a toy split named like the real ones; ``None`` leaves one out."""
    contents = {
        "abstracts": ABSTRACTS,
        "entities": ENTITIES,
        "relations": RELATIONS,
        "gold_standard": GOLD,
    } | overrides
    directory.mkdir(parents=True, exist_ok=True)
    for key, content in contents.items():
        if content is None:
            continue
        path = directory / f"chemprot_toy_{key}.tsv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


def relations(doc):
    return [(r.id, r.type, r.arg1_id, r.arg2_id, r.level, r.attributes) for r in doc.relations]


# ------------------------------------------------------------------ well-formed inputs


def test_toy_split_is_read_exactly(tmp_path):
    result = read_chemprot(write_split(tmp_path), source="chemprot", split="train")

    first, second = result.documents
    assert first.id == "100"
    assert (first.source, first.split) == ("chemprot", "train")
    assert first.text == TITLE + " " + ABSTRACT
    assert [(p.id, p.type, p.text, p.offsets) for p in first.passages] == [
        ("100-title", "title", TITLE, [(0, 23)]),
        ("100-abstract", "abstract", ABSTRACT, [(24, 56)]),
    ]
    assert [(e.id, e.type, e.offsets, e.text) for e in first.entities] == [
        ("T1", "CHEMICAL", [(0, 7)], "Aspirin"),
        ("T2", "GENE-Y", [(17, 22)], "COX-1"),
        ("T3", "CHEMICAL", [(24, 33)], "Ibuprofen"),
        ("T4", "GENE-N", [(40, 45)], "COX-2"),
        ("T5", "GENE-Y", [(50, 55)], "PPARG"),
    ]
    assert relations(first) == [
        (
            "R1",
            "CPR:4",
            "T1",
            "T2",
            "mention",
            {"label": "INHIBITOR|INDIRECT-DOWNREGULATOR", "eval": "Y"},
        ),
        ("R2", "CPR:9", "T3", "T5", "mention", {"label": "SUBSTRATE", "eval": "Y"}),
    ]
    assert second.text == "No relations here. Just caffeine."
    assert second.relations == []
    assert [(e.id, e.text) for e in second.entities] == [("T1", "caffeine")]

    relations_file = str(tmp_path / "chemprot_toy_relations.tsv")
    gold_file = str(tmp_path / "chemprot_toy_gold_standard.tsv")
    assert [s.as_dict() for s in result.skipped] == [
        {
            "file": gold_file,
            "record": "PMID 100 CPR:4 Arg1:T1 Arg2:T2 (line 3)",
            "reason": "repeats gold-standard line 1",
        },
        {
            "file": relations_file,
            "record": "PMID 100 CPR:2 Arg1:T3 Arg2:T4 (line 3)",
            "reason": "CPR:2 not evaluated (eval=N)",
        },
        {
            "file": relations_file,
            "record": "PMID 100 CPR:10 Arg1:T3 Arg2:T5 (line 5)",
            "reason": "CPR:10 not evaluated (eval=N)",
        },
    ]
    (merged,) = result.corrections
    assert merged.file == relations_file
    assert merged.record == "PMID 100 CPR:4 Arg1:T1 Arg2:T2 (line 2)"
    assert "line 1" in merged.reason and "'INHIBITOR|INDIRECT-DOWNREGULATOR'" in merged.reason
    validate_documents(result.documents)


def test_mapping_gives_the_same_documents_as_the_directory(tmp_path):
    directory = write_split(tmp_path)
    mapping = {
        key: directory / f"chemprot_toy_{key}.tsv"
        for key in ("abstracts", "entities", "relations", "gold_standard")
    }
    assert read_chemprot(mapping, source="c", split="s") == read_chemprot(
        directory, source="c", split="s"
    )


def test_without_gold_standard_the_evaluated_relations_are_used(tmp_path):
    result = read_chemprot(write_split(tmp_path, gold_standard=None), source="c", split="s")
    assert [(r.id, r.type, r.arg1_id, r.arg2_id) for r in result.documents[0].relations] == [
        ("R1", "CPR:4", "T1", "T2"),
        ("R2", "CPR:9", "T3", "T5"),
    ]
    assert [s.reason for s in result.skipped] == [
        "CPR:2 not evaluated (eval=N)",
        "CPR:10 not evaluated (eval=N)",
    ]


def test_gold_standard_alone_has_no_labels(tmp_path):
    result = read_chemprot(write_split(tmp_path, relations=None), source="c", split="s")
    assert [(r.type, r.attributes) for r in result.documents[0].relations] == [
        ("CPR:4", {}),
        ("CPR:9", {}),
    ]


def test_entities_only(tmp_path):
    result = read_chemprot(
        write_split(tmp_path, relations=None, gold_standard=None), source="c", split="s"
    )
    assert [len(d.entities) for d in result.documents] == [5, 1]
    assert all(d.relations == [] for d in result.documents)
    assert result.skipped == [] and result.corrections == []


def test_evaluated_relation_missing_from_gold_standard_is_listed(tmp_path):
    gold = "100\tCPR:4\tArg1:T1\tArg2:T2\n"
    result = read_chemprot(write_split(tmp_path, gold_standard=gold), source="c", split="s")
    assert [r.type for r in result.documents[0].relations] == ["CPR:4"]
    assert "CPR:9 marked evaluated (eval=Y) but not in the gold standard" in [
        s.reason for s in result.skipped
    ]


def test_crlf_line_endings(tmp_path):
    directory = write_split(
        tmp_path,
        abstracts=ABSTRACTS.replace("\n", "\r\n"),
        entities=ENTITIES.replace("\n", "\r\n"),
        relations=RELATIONS.replace("\n", "\r\n"),
        gold_standard=GOLD.replace("\n", "\r\n"),
    )
    result = read_chemprot(directory, source="c", split="s")
    assert result.documents[0].text == TITLE + " " + ABSTRACT
    assert len(result.documents[0].relations) == 2


def test_missing_required_file_or_unknown_key():
    with pytest.raises(ValueError, match="entities"):
        resolve_chemprot_files({"abstracts": "a.tsv"})
    with pytest.raises(ValueError, match="unknown ChemProt file keys"):
        resolve_chemprot_files({"abstracts": "a.tsv", "entities": "e.tsv", "gold": "g.tsv"})


# ------------------------------------------------------------------ malformed inputs


def assert_error(directory: Path, key: str, *parts: str) -> CorpusFormatError:
    with pytest.raises(CorpusFormatError) as info:
        read_chemprot(directory, source="c", split="s")
    message = str(info.value)
    assert f"chemprot_toy_{key}.tsv" in message, message
    for part in parts:
        assert part in message, message
    return info.value


def test_truncated_entity_line(tmp_path):
    truncated = ENTITIES[: ENTITIES.index("\tAspirin")] + "\n" + ENTITIES.split("\n", 1)[1]
    error = assert_error(write_split(tmp_path, entities=truncated), "entities", "line 1", "found 5")
    assert error.line == 1


def test_truncated_last_abstract_line(tmp_path):
    truncated = ABSTRACTS[: ABSTRACTS.index("\tJust caffeine.")]
    assert_error(write_split(tmp_path, abstracts=truncated), "abstracts", "line 2", "expected 3")


def test_truncated_relation_line(tmp_path):
    truncated = RELATIONS.replace("\tArg2:T4", "")
    assert_error(write_split(tmp_path, relations=truncated), "relations", "line 3")


def test_offsets_beyond_the_text(tmp_path):
    entities = ENTITIES.replace("200\tT1\tCHEMICAL\t24\t32", "200\tT1\tCHEMICAL\t24\t99")
    assert_error(write_split(tmp_path, entities=entities), "entities", "line 6", "beyond the text")


def test_entity_text_differs_from_offsets(tmp_path):
    entities = ENTITIES.replace("\t17\t22\tCOX-1", "\t17\t22\tCOX-2")
    assert_error(write_split(tmp_path, entities=entities), "entities", "line 2", "'COX-1'")


def test_non_integer_offset(tmp_path):
    entities = ENTITIES.replace("\t0\t7\t", "\t0\tseven\t")
    assert_error(write_split(tmp_path, entities=entities), "entities", "line 1", "not integers")


def test_entity_for_unknown_pmid(tmp_path):
    entities = ENTITIES + "300\tT1\tCHEMICAL\t0\t3\tfoo\n"
    assert_error(write_split(tmp_path, entities=entities), "entities", "line 7", "PMID 300")


def test_gold_relation_to_unknown_entity(tmp_path):
    gold = "100\tCPR:4\tArg1:T1\tArg2:T2\n100\tCPR:9\tArg1:T3\tArg2:T9\n"
    assert_error(write_split(tmp_path, gold_standard=gold), "gold_standard", "line 2", "T9")


def test_relation_to_unknown_entity(tmp_path):
    relations = RELATIONS + "200\tCPR:3\tY \tACTIVATOR\tArg1:T1\tArg2:T2\n"
    assert_error(write_split(tmp_path, relations=relations), "relations", "line 6", "T2")


def test_relation_with_bad_eval_or_argument(tmp_path):
    assert_error(
        write_split(tmp_path / "a", relations=RELATIONS.replace("N \tNOT", "maybe\tNOT")),
        "relations",
        "line 5",
        "maybe",
    )
    assert_error(
        write_split(tmp_path / "b", gold_standard=GOLD.replace("Arg1:T3", "T3")),
        "gold_standard",
        "line 2",
        "Arg1:",
    )


def test_empty_file(tmp_path):
    assert_error(write_split(tmp_path, relations=""), "relations", "empty")


def test_invalid_utf8(tmp_path):
    data = ABSTRACTS.encode("utf-8").replace(b"Just", b"J\xc3st")
    error = assert_error(
        write_split(tmp_path, abstracts=data), "abstracts", "invalid UTF-8", "line 2"
    )
    assert error.line == 2


def test_duplicate_pmid_or_entity(tmp_path):
    assert_error(
        write_split(tmp_path / "a", abstracts=ABSTRACTS + ABSTRACTS),
        "abstracts",
        "line 3",
        "PMID 100",
    )
    assert_error(
        write_split(tmp_path / "b", entities=ENTITIES + ENTITIES.split("\n")[0] + "\n"),
        "entities",
        "line 7",
        "T1",
    )


# ------------------------------------------------------------------ real corpus

REAL_SPLITS = {
    # split: (abstracts, entities, gold relations by group, relations-file lines, eval=Y lines)
    "training": (
        1020,
        25752,
        {"CPR:3": 768, "CPR:4": 2254, "CPR:5": 173, "CPR:6": 235, "CPR:9": 727},
        6437,
        4172,
    ),
    "development": (
        612,
        15567,
        {"CPR:3": 550, "CPR:4": 1094, "CPR:5": 116, "CPR:6": 199, "CPR:9": 457},
        3558,
        2427,
    ),
    "test_gs": (
        800,
        20828,
        {"CPR:3": 665, "CPR:4": 1661, "CPR:5": 195, "CPR:6": 293, "CPR:9": 644},
        5744,
        3469,
    ),
}
ENTITY_TYPES = {
    "training": {"CHEMICAL": 13017, "GENE-Y": 8348, "GENE-N": 4387},
    "development": {"CHEMICAL": 8004, "GENE-Y": 5151, "GENE-N": 2412},
    "test_gs": {"CHEMICAL": 10810, "GENE-Y": 6658, "GENE-N": 3360},
}
GOLD_TOTALS = {"training": 4157, "development": 2416, "test_gs": 3458}


@pytest.mark.real_data
@needs_shared_data
@pytest.mark.parametrize("split", sorted(REAL_SPLITS))
def test_real_split(split):
    abstracts, entities, by_group, relation_lines, evaluated_lines = REAL_SPLITS[split]
    result = read_chemprot(CHEMPROT_ROOT / f"chemprot_{split}", source="chemprot", split=split)
    validate_documents(result.documents)
    docs = result.documents
    gold = [r for d in docs for r in d.relations]

    assert len(docs) == abstracts
    assert sum(len(d.entities) for d in docs) == entities
    assert Counter(e.type for d in docs for e in d.entities) == ENTITY_TYPES[split]
    assert len(gold) == GOLD_TOTALS[split]
    assert Counter(r.type for r in gold) == by_group
    # Every gold relation is in the relations file, marked evaluated, with a fine-grained label.
    assert all(r.attributes["eval"] == "Y" and r.attributes["label"] for r in gold)
    # No gold line is repeated; every relations-file line is a gold relation, a merged repeat
    # (another label for the same group and arguments) or a group that is not evaluated.
    assert not [s for s in result.skipped if "gold-standard" in s.reason]
    assert len(gold) + len(result.corrections) == evaluated_lines
    assert len(gold) + len(result.corrections) + len(result.skipped) == relation_lines
    assert all(s.reason.endswith("not evaluated (eval=N)") for s in result.skipped)
    assert {s.reason.split()[0] for s in result.skipped} <= {
        f"CPR:{n}" for n in (0, 1, 2, 7, 8, 10)
    }
    merged = [r for r in gold if "|" in r.attributes["label"]]
    assert len(merged) == len(result.corrections)
