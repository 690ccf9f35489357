"""Sentence splitting and tokenization with offsets, on biomedical abbreviations and real corpora."""

from __future__ import annotations

import pytest

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.schema import Document, Entity, Passage, Sentence
from bioie_kedro.segmentation import (
    SentenceSplitter,
    segment_document,
    segmentation_stats,
    tokenize,
)


def sentences(text: str, splitter: SentenceSplitter | None = None) -> list[str]:
    return [text[s:e] for s, e in (splitter or SentenceSplitter()).split(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Rats received cisplatin i.v. and developed renal failure.",
        "Several drugs, e.g. haloperidol, cause dyskinesia.",
        "Doses were approx. 20 mg/kg in all groups.",
        "Toxicity was higher vs. placebo in both arms.",
        "As shown in Fig. 2 the effect was dose dependent.",
        "Smith et al. Reported similar findings.",
        "Mice were given 5 mg/kg i.p. The dose was repeated daily.",
        "Patients (see Fig. 3. Left panel) improved.",
        "Treatment with 5-fluorouracil (5-FU) was given b.i.d. Nausea was common.",
    ],
)
def test_abbreviations_do_not_end_sentences(text):
    assert sentences(text) == [text]


def test_real_boundaries_are_found_with_offsets():
    text = "Cisplatin causes nephrotoxicity (P < 0.05). 25 patients were treated! Was it safe? Yes."
    assert sentences(text) == [
        "Cisplatin causes nephrotoxicity (P < 0.05).",
        "25 patients were treated!",
        "Was it safe?",
        "Yes.",
    ]
    spans = SentenceSplitter().split("  A first one.\n\nThen a second one.  ")
    assert spans == [(2, 14), (16, 34)]


def test_extra_abbreviations_and_lowercase_continuation():
    text = "Given as supp. Twice daily it helped."
    assert len(sentences(text)) == 2
    assert sentences(text, SentenceSplitter(abbreviations=frozenset({"supp"}))) == [text]
    # a lower-case start never opens a sentence
    assert sentences("The dose was 5 mg. then it rose.") == ["The dose was 5 mg. then it rose."]


def test_tokenize_keeps_offsets_and_splits_punctuation():
    text = "5-FU (10 mg/kg) caused β-cell loss."
    tokens = [text[s:e] for s, e in tokenize(text)]
    assert tokens == [
        "5",
        "-",
        "FU",
        "(",
        "10",
        "mg",
        "/",
        "kg",
        ")",
        "caused",
        "β",
        "-",
        "cell",
        "loss",
        ".",
    ]
    assert tokenize(text, 6, 15) == [(6, 8), (9, 11), (11, 12), (12, 14), (14, 15)]


def test_segment_document_uses_passages_and_keeps_given_sentences():
    title, abstract = "Lithium toxicity.", "It was seen i.v. in rats. Renal failure followed."
    text = f"{title} {abstract}"
    doc = Document(
        "1",
        "x",
        "train",
        text,
        passages=[
            Passage("1-t", "title", title, [(0, 17)]),
            Passage("1-a", "abstract", abstract, [(18, len(text))]),
        ],
        entities=[Entity("T1", "Disease", "Renal failure", [(44, 57)])],
    )
    segmented = segment_document(doc)
    assert [text[s.start : s.end] for s in segmented.sentences] == [
        "Lithium toxicity.",
        "It was seen i.v. in rats.",
        "Renal failure followed.",
    ]
    assert segmented.sentences[0].tokens == [(0, 7), (8, 16), (16, 17)]
    assert doc.sentences == []  # the input is not modified
    given = Document("2", "x", "train", "One two. Three", sentences=[Sentence(0, 14)])
    assert [(s.start, s.end) for s in segment_document(given).sentences] == [(0, 14)]
    empty = segment_document(Document("3", "x", "train", ""))
    assert empty.sentences == []


def test_stats_count_cut_entities_and_inner_token_boundaries():
    text = "Renal fail. Ure was bad"
    doc = Document(
        "1",
        "x",
        "train",
        text,
        entities=[
            Entity("T1", "Disease", "fail. Ure", [(6, 15)]),
            Entity("T2", "Disease", "ba", [(20, 22)]),
        ],
    )
    stats = segmentation_stats([segment_document(doc)])
    assert stats.sentences == 2 and stats.entities == 2
    assert stats.entities_cut_by_sentence_boundary == 1
    assert stats.entity_boundaries_inside_token == 1  # "ba|d"
    assert stats.examples_cut == ["x/1 T1 'fail. Ure'"]


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name",
    [
        "ncbi_disease/NCBItrainset_corpus.txt",
        "ncbi_disease/NCBIdevelopset_corpus.txt",
        "ncbi_disease/NCBItestset_corpus.txt",
        "bc5cdr/CDR_TrainingSet.PubTator.txt",
        "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
        "bc5cdr/CDR_TestSet.PubTator.txt",
    ],
)
def test_no_sentence_boundary_cuts_an_entity_on_real_corpora(shared_data, name):
    docs = read_pubtator(shared_data / name, source="x", split="x").documents
    stats = segmentation_stats([segment_document(d) for d in docs])
    assert stats.entities_cut_by_sentence_boundary == 0, stats.examples_cut
    # the splitter must still split: about 9 sentences per abstract in both corpora
    assert stats.sentences > 8.5 * len(docs)
