"""The dictionary baseline: building from training mentions, tagging, the JSON form, real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bioie_kedro.baselines.dictionary import (
    MentionDictionary,
    build_dictionary,
    mention_key,
    tag_documents,
)
from bioie_kedro.schema import (
    Document,
    Entity,
    Passage,
    Relation,
    Sentence,
    validate_document,
    validate_documents,
)

# The real corpora: <project root>/../shared/data, or $BIOIE_SHARED_DATA as in tests/conftest.py.
SHARED_DATA = Path(
    os.environ.get(
        "BIOIE_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)


def make_doc(doc_id: str, text: str, mentions: list[tuple[str, str]] = ()) -> Document:
    """A document whose entities are the first occurrence of each ``(type, string)``."""
    entities = []
    for index, (etype, string) in enumerate(mentions, start=1):
        start = text.index(string)
        entities.append(Entity(f"T{index}", etype, string, [(start, start + len(string))]))
    return validate_document(Document(doc_id, "demo", "train", text, entities=entities))


TRAIN = [
    make_doc(
        "1",
        "Cold and breast cancer were seen; cold agglutinin disease too.",
        [
            ("Disease", "Cold"),
            ("Disease", "breast cancer"),
            ("Disease", "cold agglutinin disease"),
        ],
    ),
    make_doc("2", "A cold was treated with 5-FU.", [("Chemical", "cold"), ("Chemical", "5-FU")]),
    make_doc("3", "The cold came back.", [("Disease", "cold")]),
    make_doc("4", "ACE and A were noted.", [("Gene", "ACE"), ("Gene", "A")]),
]


def test_mention_key_joins_tokens_with_one_space():
    assert mention_key("5-FU", case_insensitive=False) == "5 - FU"
    assert mention_key("  Breast   Cancer ", case_insensitive=True) == "breast cancer"
    assert mention_key("Alzheimer's", case_insensitive=False) == "Alzheimer ' s"
    assert mention_key("   ", case_insensitive=True) == ""


def test_build_counts_types_and_resolves_conflicts_by_frequency():
    dictionary = build_dictionary(TRAIN, case_insensitive=True)
    # "cold": Disease twice ("Cold", "cold"), Chemical once -> Disease.
    assert dictionary.entries == {
        "cold": "Disease",
        "breast cancer": "Disease",
        "cold agglutinin disease": "Disease",
        "5 - fu": "Chemical",
        "ace": "Gene",
    }
    assert dictionary.stats == {
        "mentions": 8,
        "skipped_short": 1,  # "A"
        "skipped_stopword": 0,
        "skipped_no_token": 0,
        "entries": 5,
        "conflicts": 1,
        "mentions_overruled": 1,
        "entries_by_type": {"Chemical": 1, "Disease": 3, "Gene": 1},
    }


def test_case_sensitive_keys_split_by_case():
    dictionary = build_dictionary(TRAIN, case_insensitive=False)
    # "cold": Chemical once and Disease once -> a tie, the alphabetically first type wins.
    assert dictionary.entries["cold"] == "Chemical"
    assert dictionary.entries["Cold"] == "Disease"
    assert dictionary.stats["conflicts"] == 1


def test_type_map_min_length_and_stopwords():
    dictionary = build_dictionary(
        TRAIN,
        case_insensitive=True,
        min_length=4,
        type_map={"Chemical": "Drug"},
        stopwords=["COLD"],
    )
    assert dictionary.entries == {
        "breast cancer": "Disease",
        "cold agglutinin disease": "Disease",
        "5 - fu": "Drug",
    }
    assert dictionary.stats["skipped_short"] == 2  # "A", "ACE"
    assert dictionary.stats["skipped_stopword"] == 3  # "Cold", "cold", "cold"
    assert dictionary.min_length == 4


def test_build_from_no_documents():
    dictionary = build_dictionary([])
    assert len(dictionary) == 0
    assert tag_documents(dictionary, [make_doc("x", "Cold.")])[0].entities == []


def tagged(dictionary: MentionDictionary, text: str) -> list[tuple[int, int, str, str]]:
    doc = Document("t", "demo", "test", text)
    return [(e.start, e.end, e.type, e.text) for e in tag_documents(dictionary, [doc])[0].entities]


def test_tagging_prefers_the_longest_match_and_never_overlaps():
    dictionary = MentionDictionary(
        {"breast cancer": "Disease", "cancer": "Disease", "breast": "Anatomy"},
        case_insensitive=False,
    )
    assert tagged(dictionary, "breast cancer, cancer and breast") == [
        (0, 13, "Disease", "breast cancer"),
        (15, 21, "Disease", "cancer"),
        (26, 32, "Anatomy", "breast"),
    ]


def test_overlapping_keys_longer_in_characters_wins_then_earliest():
    # Length counts characters, not tokens: "c dddddd" (8) beats "a b c" (5, three tokens).
    dictionary = MentionDictionary({"a b c": "X", "c dddddd": "Y"})
    assert tagged(dictionary, "a b c dddddd") == [(4, 12, "Y", "c dddddd")]
    # Equal lengths: the earliest start wins, and what overlaps it is dropped.
    dictionary = MentionDictionary({"a b": "X", "b ccc": "Y", "ccc d": "Z"})
    assert tagged(dictionary, "a b ccc d") == [(2, 7, "Y", "b ccc")]
    assert tagged(dictionary, "a b ccc d a b") == [(2, 7, "Y", "b ccc"), (10, 13, "X", "a b")]


def test_tagging_covers_whole_tokens_only():
    dictionary = MentionDictionary({"ACE": "Gene", "5 - FU": "Chemical"})
    assert tagged(dictionary, "ACEi, ACE and (5-FU) or 5 - FU; 5-FUra") == [
        (6, 9, "Gene", "ACE"),
        (15, 19, "Chemical", "5-FU"),
        (24, 30, "Chemical", "5 - FU"),
    ]


def test_tagging_case_insensitive_compares_lower_cased_tokens():
    dictionary = build_dictionary(TRAIN, case_insensitive=True)
    assert tagged(dictionary, "COLD AGGLUTININ disease and a Cold") == [
        (0, 23, "Disease", "COLD AGGLUTININ disease"),
        (30, 34, "Disease", "Cold"),
    ]
    case_sensitive = build_dictionary(TRAIN, case_insensitive=False)
    assert tagged(case_sensitive, "COLD AGGLUTININ disease and a Cold") == [
        (30, 34, "Disease", "Cold")
    ]


def test_tagging_unicode_tokens():
    dictionary = MentionDictionary(
        {"β - thalassemia": "Disease", "Sjögren ' s syndrome": "Disease"}
    )
    assert tagged(dictionary, "β-thalassemia; Sjögren's syndrome") == [
        (0, 13, "Disease", "β-thalassemia"),
        (15, 33, "Disease", "Sjögren's syndrome"),
    ]


def test_tag_documents_returns_copies_with_new_entities_only():
    text = "Cold and cold agglutinin disease."
    gold = Document(
        "9",
        "demo",
        "test",
        text,
        passages=[Passage("9-title", "title", text, [(0, len(text))])],
        entities=[Entity("T1", "Disease", "Cold", [(0, 4)])],
        relations=[Relation("R1", "CID", "T1", "T1")],
        sentences=[Sentence(0, len(text))],
        attributes={"pmid": "9"},
    )
    (out,) = tag_documents(build_dictionary(TRAIN, case_insensitive=True), [gold], id_prefix="X")
    assert [(e.id, e.text, e.offsets) for e in out.entities] == [
        ("X1", "Cold", [(0, 4)]),
        ("X2", "cold agglutinin disease", [(9, 32)]),
    ]
    assert out.relations == []
    assert (out.id, out.source, out.split, out.text) == (gold.id, gold.source, gold.split, text)
    assert out.passages == gold.passages and out.sentences == gold.sentences
    assert out.attributes == {"pmid": "9"}
    assert [e.id for e in gold.entities] == ["T1"] and len(gold.relations) == 1  # not modified
    validate_document(out)


def test_empty_document_and_no_documents():
    dictionary = build_dictionary(TRAIN)
    assert tagged(dictionary, "") == []
    assert tag_documents(dictionary, []) == []


def test_json_round_trip():
    dictionary = build_dictionary(TRAIN, case_insensitive=True, min_length=3)
    data = json.loads(json.dumps(dictionary.to_dict()))
    assert data["format"] == "bioie-mention-dictionary"
    assert list(data["entries"]) == sorted(data["entries"])
    restored = MentionDictionary.from_dict(data)
    assert restored == dictionary
    text = "cold agglutinin disease and 5-FU"
    assert tagged(restored, text) == tagged(dictionary, text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"entries": {}}, "not a mention dictionary"),
        ([], "not a mention dictionary"),
        ({"format": "bioie-mention-dictionary", "version": 99}, "version 99"),
        (
            {"format": "bioie-mention-dictionary", "version": 1, "entries": {"a": 1}},
            "entries must map",
        ),
        (
            {
                "format": "bioie-mention-dictionary",
                "version": 1,
                "entries": {},
                "case_insensitive": "yes",
                "min_length": 2,
            },
            "boolean 'case_insensitive'",
        ),
    ],
)
def test_from_dict_rejects_other_data(data, message):
    with pytest.raises(ValueError, match=message):
        MentionDictionary.from_dict(data)


NCBI_TYPES = {
    t: "Disease" for t in ("SpecificDisease", "DiseaseClass", "CompositeMention", "Modifier")
}


@pytest.mark.real_data
def test_real_ncbi_disease_train_to_test():
    folder = SHARED_DATA / "ncbi_disease"
    if not folder.is_dir():
        pytest.skip(
            f"NCBI-disease not found at {folder} (set BIOIE_SHARED_DATA or place ../shared/data)"
        )
    from bioie_kedro.corpora.pubtator import read_pubtator

    train = read_pubtator(folder / "NCBItrainset_corpus.txt", source="ncbi_disease", split="train")
    test = read_pubtator(folder / "NCBItestset_corpus.txt", source="ncbi_disease", split="test")
    dictionary = build_dictionary(train.documents, type_map=NCBI_TYPES)
    predicted = validate_documents(tag_documents(dictionary, test.documents))

    gold = {(doc.id, e.start, e.end) for doc in test.documents for e in doc.entities}
    spans = [(doc.id, e.start, e.end) for doc in predicted for e in doc.entities]
    exact = sum(span in gold for span in spans)
    # Measured with the defaults (case-sensitive, min_length 2): 1,690 entries, 741 entities
    # tagged, 589 with a gold span (79.5 %); strict / partial F1 69.3 / 74.8.
    assert len(spans) >= 650
    assert exact / len(spans) >= 0.72
    assert {e.type for doc in predicted for e in doc.entities} == {"Disease"}
