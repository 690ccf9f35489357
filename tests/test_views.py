"""Tests for the views derived from documents: IOB2 tags and back, mention lists, relation pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioie_kedro.corpora.conll import read_conll
from bioie_kedro.schema import (
    Document,
    Entity,
    Normalization,
    Relation,
    Sentence,
    validate_document,
)
from bioie_kedro.views import (
    IobPolicyReport,
    RelationPair,
    TaggedSentence,
    candidate_pairs,
    decode_iob2,
    entities_from_iob2,
    mentions_by_type,
    relation_pairs,
    to_iob2,
)

# tests/test_views.py -> project root is parents[1]; corpora live beside the project.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_doc(
    text: str, entities: list[tuple[str, list[tuple[int, int]]]], *, doc_id: str = "d1"
) -> Document:
    """A document whose sentences end at ' . ' and whose tokens are the whitespace-separated words."""
    sentences: list[Sentence] = []
    tokens: list[tuple[int, int]] = []
    position = 0
    for word in text.split(" "):
        if word:
            tokens.append((position, position + len(word)))
            if word == ".":
                sentences.append(Sentence(tokens[0][0], tokens[-1][1], tokens))
                tokens = []
        position += len(word) + 1
    if tokens:
        sentences.append(Sentence(tokens[0][0], tokens[-1][1], tokens))
    doc = Document(
        id=doc_id,
        source="toy",
        split="train",
        text=text,
        sentences=sentences,
        entities=[
            Entity(f"T{i}", etype, " ".join(text[s:e] for s, e in offsets), offsets)
            for i, (etype, offsets) in enumerate(entities, start=1)
        ],
    )
    return validate_document(doc)


def at(text: str, mention: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(mention, start + 1)
    return (start, start + len(mention))


def triples(entities):
    return [(e.type, e.offsets, e.text) for e in entities]


def round_trip(docs):
    tagged, report = to_iob2(docs)
    by_doc: dict[str, list[list[str]]] = {}
    for sentence in tagged:
        by_doc.setdefault(sentence.document_id, []).append(sentence.tags)
    return {doc.id: entities_from_iob2(doc, by_doc.get(doc.id, [])) for doc in docs}, report


# ------------------------------------------------------------------ IOB2 view

TEXT = "Familial breast cancer and APC mutations . Lithium causes tremor ."


def test_tags_for_a_simple_document():
    doc = make_doc(
        TEXT,
        [
            ("SpecificDisease", [at(TEXT, "Familial breast cancer")]),
            ("Gene", [at(TEXT, "APC")]),
            ("Chemical", [at(TEXT, "Lithium")]),
            ("Modifier", [at(TEXT, "tremor")]),
        ],
    )
    tagged, report = to_iob2([doc])

    assert tagged[0] == TaggedSentence(
        document_id="d1",
        sentence_index=0,
        tokens=["Familial", "breast", "cancer", "and", "APC", "mutations", "."],
        token_spans=doc.sentences[0].tokens,
        tags=[
            "B-SpecificDisease",
            "I-SpecificDisease",
            "I-SpecificDisease",
            "O",
            "B-Gene",
            "O",
            "O",
        ],
    )
    assert tagged[1].tags == ["B-Chemical", "O", "B-Modifier", "O"]
    assert report.tagged == report.seen == 4
    assert report.tagged_by_type == {"Chemical": 1, "Gene": 1, "Modifier": 1, "SpecificDisease": 1}


def test_types_filter_and_type_map():
    doc = make_doc(
        TEXT,
        [
            ("SpecificDisease", [at(TEXT, "Familial breast cancer")]),
            ("Gene", [at(TEXT, "APC")]),
            ("Modifier", [at(TEXT, "tremor")]),
        ],
    )
    tagged, report = to_iob2(
        [doc],
        types={"SpecificDisease", "Modifier"},
        type_map={"SpecificDisease": "Disease", "Modifier": "Disease"},
    )
    assert tagged[0].tags[:5] == ["B-Disease", "I-Disease", "I-Disease", "O", "O"]
    assert tagged[1].tags == ["O", "O", "B-Disease", "O"]
    assert report.excluded_by_type == 1
    assert report.tagged_by_type == {"Disease": 2}


def test_empty_document():
    doc = Document(id="empty", source="toy", split="train", text="")
    tagged, report = to_iob2([doc])
    assert tagged == []
    assert report == IobPolicyReport()
    assert entities_from_iob2(doc, []) == []
    assert mentions_by_type(doc) == {}
    assert mentions_by_type(doc, types=["Disease"]) == {"Disease": []}
    assert relation_pairs(doc) == []
    assert candidate_pairs(doc, None, same_sentence=True) == []


def test_entity_at_the_very_end():
    text = "Mutations cause ataxia"
    doc = make_doc(text, [("Disease", [at(text, "ataxia")])])
    tagged, _ = to_iob2([doc])
    assert tagged[0].tags == ["O", "O", "B-Disease"]
    assert triples(entities_from_iob2(doc, [tagged[0].tags])) == [("Disease", [(16, 22)], "ataxia")]


def test_overlapping_entities_keep_the_longest():
    text = "breast cancer gene mutation ."
    doc = make_doc(
        text,
        [
            ("Disease", [at(text, "breast")]),  # inside the longest: dropped
            ("Disease", [at(text, "breast cancer")]),  # longest: kept
            ("Gene", [at(text, "cancer gene")]),  # same length, later start: dropped
            ("Gene", [at(text, "gene mutation")]),  # overlaps only the dropped one: kept
        ],
    )
    tagged, report = to_iob2([doc])
    assert tagged[0].tags == ["B-Disease", "I-Disease", "B-Gene", "I-Gene", "O"]
    assert (report.tagged, report.overlapping_dropped) == (2, 2)


def test_overlap_tie_goes_to_the_first_in_document_order():
    text = "IL-2 receptor ."
    span = at(text, "IL-2 receptor")
    doc = make_doc(text, [("Protein", [span]), ("Gene", [span])])
    tagged, report = to_iob2([doc])
    assert tagged[0].tags == ["B-Protein", "I-Protein", "O"]
    assert report.overlapping_dropped == 1


def test_discontinuous_entities_are_covered_or_dropped():
    text = "breast and ovarian cancer ; colon and lung tumours ."
    doc = make_doc(
        text,
        [
            # covering extent "breast and ovarian cancer" overlaps the kept "ovarian cancer": dropped
            ("Disease", [at(text, "breast"), at(text, "cancer")]),
            ("Disease", [at(text, "ovarian cancer")]),
            # nothing else there: tagged over "colon and lung tumours"
            ("Disease", [at(text, "colon"), at(text, "tumours")]),
        ],
    )
    tagged, report = to_iob2([doc])
    assert tagged[0].tags == [
        "O", "O", "B-Disease", "I-Disease", "O",
        "B-Disease", "I-Disease", "I-Disease", "I-Disease", "O",
    ]  # fmt: skip
    assert report.discontinuous_covered == 1
    assert report.overlapping_dropped == 1
    assert report.tagged == 2
    back = entities_from_iob2(doc, [tagged[0].tags])
    assert [e.text for e in back] == ["ovarian cancer", "colon and lung tumours"]


def test_entity_crossing_a_sentence_boundary_is_dropped():
    text = "It causes pain . Severe pain follows ."
    doc = make_doc(
        text,
        [
            ("Disease", [(at(text, "pain")[0], at(text, "Severe pain")[1])]),
            ("Disease", [at(text, "pain", 1)]),
        ],
    )
    assert len(doc.sentences) == 2
    tagged, report = to_iob2([doc])
    assert [s.tags for s in tagged] == [["O", "O", "O", "O"], ["O", "B-Disease", "O", "O"]]
    assert (report.seen, report.tagged, report.cross_sentence_dropped) == (2, 1, 1)


def test_boundary_inside_a_token_expands_the_tagged_span():
    text = "anti-TNF therapy ."
    doc = make_doc(text, [("Chemical", [at(text, "TNF")])])
    tagged, report = to_iob2([doc])
    assert tagged[0].tags == ["B-Chemical", "O", "O"]
    assert report.boundary_expanded == 1
    assert triples(entities_from_iob2(doc, [tagged[0].tags])) == [
        ("Chemical", [(0, 8)], "anti-TNF")
    ]


def test_entity_on_untokenized_text_is_dropped():
    doc = Document(
        id="d",
        source="toy",
        split="train",
        text="ab  cd",
        sentences=[Sentence(0, 6, [(0, 2), (4, 6)])],
        entities=[Entity("T1", "X", " ", [(2, 3)])],
    )
    validate_document(doc)
    _, report = to_iob2([doc])
    assert (report.seen, report.no_token_dropped, report.tagged) == (1, 1, 0)


def test_report_as_dict():
    text = "a b ."
    doc = make_doc(text, [("X", [at(text, "a")])])
    _, report = to_iob2([doc])
    assert report.as_dict() == {
        "seen": 1,
        "tagged": 1,
        "overlapping_dropped": 0,
        "discontinuous_covered": 0,
        "cross_sentence_dropped": 0,
        "no_token_dropped": 0,
        "boundary_expanded": 0,
        "excluded_by_type": 0,
        "tagged_by_type": {"X": 1},
    }


# ------------------------------------------------------------------ decoding


def test_decode_iob2_is_lenient():
    tags = ["I-A", "I-A", "B-A", "I-B", "O", "B-A", "I-A", "B-B"]
    assert decode_iob2(tags) == [(0, 2, "A"), (2, 3, "A"), (3, 4, "B"), (5, 7, "A"), (7, 8, "B")]
    assert decode_iob2([]) == []


@pytest.mark.parametrize("tag", ["S-A", "B-", "X-A", "o"])
def test_decode_iob2_rejects_other_tags(tag):
    with pytest.raises(ValueError, match="not an IOB2 tag"):
        decode_iob2(["O", tag])


def test_entities_from_iob2_i_without_b_and_ids():
    text = "a b c . d e ."
    doc = make_doc(text, [])
    entities = entities_from_iob2(doc, [["O", "I-X", "I-Y", "O"], ["B-X", "I-X", "O"]])
    assert [e.id for e in entities] == ["P1", "P2", "P3"]
    assert triples(entities) == [
        ("X", [(2, 3)], "b"),
        ("Y", [(4, 5)], "c"),
        ("X", [(8, 11)], "d e"),
    ]


def test_entities_from_iob2_checks_lengths():
    doc = make_doc("a b . c .", [])
    with pytest.raises(ValueError, match="1 tag sequences for 2 sentences"):
        entities_from_iob2(doc, [["O", "O", "O"]])
    with pytest.raises(ValueError, match="sentence 1: 1 tags for 2 tokens"):
        entities_from_iob2(doc, [["O", "O", "O"], ["O"]])


def test_round_trip_on_aligned_entities():
    text_1 = "Lithium toxicity and renal failure after lithium . Acute renal failure ."
    text_2 = "Cisplatin nephrotoxicity ."
    docs = [
        make_doc(
            text_1,
            [
                ("Chemical", [at(text_1, "Lithium")]),
                ("Disease", [at(text_1, "toxicity")]),  # adjacent, other type
                ("Disease", [at(text_1, "renal failure")]),
                ("Chemical", [at(text_1, "lithium")]),  # right before the sentence end
                ("Disease", [at(text_1, "Acute")]),  # adjacent, same type
                ("Disease", [at(text_1, "renal failure", 1)]),
            ],
        ),
        make_doc(
            text_2,
            [("Chemical", [at(text_2, "Cisplatin")]), ("Disease", [at(text_2, "nephrotoxicity")])],
            doc_id="d2",
        ),
        make_doc("Nothing here .", [], doc_id="d3"),
    ]
    back, report = round_trip(docs)
    assert report.tagged == report.seen == 8
    for doc in docs:
        assert triples(back[doc.id]) == triples(doc.entities)
        validate_document(Document(doc.id, doc.source, doc.split, doc.text, entities=back[doc.id]))


# ------------------------------------------------------------------ mention lists


def test_mentions_by_type_in_text_order():
    text = "aspirin and ibuprofen ; aspirin causes ulcers ."
    doc = make_doc(
        text,
        [
            ("Chemical", [at(text, "aspirin", 1)]),  # listed out of text order on purpose
            ("Chemical", [at(text, "aspirin")]),
            ("Chemical", [at(text, "ibuprofen")]),
            ("Disease", [at(text, "ulcers")]),
        ],
    )
    assert mentions_by_type(doc) == {
        "Chemical": ["aspirin", "ibuprofen", "aspirin"],
        "Disease": ["ulcers"],
    }
    assert mentions_by_type(doc, dedupe=True)["Chemical"] == ["aspirin", "ibuprofen"]
    assert mentions_by_type(doc, types=["Disease", "Gene"]) == {"Disease": ["ulcers"], "Gene": []}


# ------------------------------------------------------------------ relation pairs

RE_TEXT = "Aspirin increases warfarin levels . Warfarin causes bleeding ."


def re_doc() -> Document:
    doc = make_doc(
        RE_TEXT,
        [
            ("drug", [at(RE_TEXT, "Aspirin")]),
            ("drug", [at(RE_TEXT, "warfarin")]),
            ("drug", [at(RE_TEXT, "Warfarin")]),
            ("disease", [at(RE_TEXT, "bleeding")]),
        ],
    )
    doc.entities[1].normalized = [Normalization("MESH", "D014859")]
    doc.entities[2].normalized = [Normalization("MESH", "D014859")]
    doc.entities[3].normalized = [Normalization("MESH", "D006470")]
    doc.relations = [
        Relation("R1", "mechanism", "T1", "T2"),
        Relation("R2", "CID", "MESH:D014859", "MESH:D006470", level="concept"),
    ]
    return validate_document(doc)


def test_relation_pairs_resolve_arguments():
    doc = re_doc()
    mention, concept = relation_pairs(doc)
    assert mention == RelationPair(
        document_id="d1",
        relation_id="R1",
        type="mechanism",
        level="mention",
        head=doc.entities[0],
        tail=doc.entities[1],
        head_mentions=[doc.entities[0]],
        tail_mentions=[doc.entities[1]],
    )
    assert (concept.head, concept.tail) == (None, None)
    assert (concept.head_concept, concept.tail_concept) == ("MESH:D014859", "MESH:D006470")
    assert [e.text for e in concept.head_mentions] == ["warfarin", "Warfarin"]
    assert [e.text for e in concept.tail_mentions] == ["bleeding"]


def test_relation_pairs_unknown_argument():
    doc = re_doc()
    doc.relations.append(Relation("R3", "effect", "T1", "T9"))
    with pytest.raises(ValueError, match="'T9' is not an entity"):
        relation_pairs(doc)


def test_candidate_pairs():
    doc = re_doc()
    ids = lambda pairs: [(h.id, t.id) for h, t in pairs]  # noqa: E731

    everything = candidate_pairs(doc, None, same_sentence=False)
    assert len(everything) == 4 * 3
    assert ids(candidate_pairs(doc, None, same_sentence=True)) == [
        ("T1", "T2"), ("T2", "T1"), ("T3", "T4"), ("T4", "T3"),
    ]  # fmt: skip
    allowed = {("drug", "disease"): ["CID"], ("disease", "drug"): []}
    assert ids(candidate_pairs(doc, allowed, same_sentence=False)) == [
        ("T1", "T4"), ("T2", "T4"), ("T3", "T4"),
    ]  # fmt: skip
    assert ids(candidate_pairs(doc, allowed, same_sentence=True)) == [("T3", "T4")]


def test_candidate_pairs_same_sentence_needs_sentences():
    doc = re_doc()
    doc.sentences = []
    with pytest.raises(ValueError, match="has no sentences"):
        candidate_pairs(doc, None, same_sentence=True)


# ------------------------------------------------------------------ real corpus


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared corpora not found at {SHARED_DATA}")
def test_ncbi_dev_round_trip():
    path = SHARED_DATA / "ncbi_disease" / "conll" / "devel.tsv"
    docs = read_conll(path, source="ncbi_disease", split="dev").documents
    back, report = round_trip(docs)
    assert report.as_dict() | {"tagged_by_type": None} == {
        "seen": 787,
        "tagged": 787,
        "overlapping_dropped": 0,
        "discontinuous_covered": 0,
        "cross_sentence_dropped": 0,
        "no_token_dropped": 0,
        "boundary_expanded": 0,
        "excluded_by_type": 0,
        "tagged_by_type": None,
    }
    assert sum(len(entities) for entities in back.values()) == 787
    for doc in docs:
        assert triples(back[doc.id]) == triples(doc.entities)


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["NCBIdevelopset_corpus.txt"])
def test_ncbi_pubtator_dev_documents_tags_documents(shared_data, name):
    """The ingestion path: PubTator documents -> our sentences/tokens -> IOB2 -> entities."""
    from bioie_kedro.corpora.pubtator import read_pubtator
    from bioie_kedro.segmentation import segment_document

    docs = [
        segment_document(d)
        for d in read_pubtator(
            shared_data / "ncbi_disease" / name, source="n", split="dev"
        ).documents
    ]
    tagged, report = to_iob2(docs)
    # the policy's exceptions on this split, all counted: nothing overlaps, nothing crosses a
    # sentence, no boundary falls inside a token
    assert (
        report.overlapping_dropped,
        report.cross_sentence_dropped,
        report.boundary_expanded,
    ) == (0, 0, 0)
    assert report.tagged == 787
    by_doc: dict[str, list[list[str]]] = {}
    for sentence in tagged:
        by_doc.setdefault(sentence.document_id, []).append(sentence.tags)
    for doc in docs:
        decoded = entities_from_iob2(doc, by_doc[doc.id])
        assert triples(decoded) == triples(doc.entities), doc.id
