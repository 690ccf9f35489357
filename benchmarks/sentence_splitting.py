"""Sentence splitting on real abstracts: bioie-kedro's splitter against a blank spaCy sentencizer.

Counts, per corpus split, the sentences each produces and the gold entities that a sentence
boundary cuts (an entity not inside one sentence), and times both in the same run.

    python benchmarks/sentence_splitting.py [--corpora ../shared/data]
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from pathlib import Path

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.schema import Document, Sentence
from bioie_kedro.segmentation import SentenceSplitter, segment_document, segmentation_stats

FILES = {
    "ncbi_disease/train": "ncbi_disease/NCBItrainset_corpus.txt",
    "ncbi_disease/dev": "ncbi_disease/NCBIdevelopset_corpus.txt",
    "ncbi_disease/test": "ncbi_disease/NCBItestset_corpus.txt",
    "bc5cdr/train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
    "bc5cdr/dev": "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
    "bc5cdr/test": "bc5cdr/CDR_TestSet.PubTator.txt",
}


def spacy_segment(docs: list[Document]) -> list[Document]:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    out = []
    for doc in docs:
        sentences = []
        for passage in doc.passages:
            offset = passage.offsets[0][0]
            for sent in nlp(passage.text).sents:
                sentences.append(Sentence(offset + sent.start_char, offset + sent.end_char))
        out.append(replace(doc, sentences=sentences))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    args = parser.parse_args()
    splitter = SentenceSplitter()
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        "| split | docs | entities | sentences (ours / spaCy) | entities cut (ours / spaCy) | time s (ours / spaCy) |"
    )
    print("|---|---|---|---|---|---|")
    totals = [0, 0]
    for name, relative in FILES.items():
        docs = read_pubtator(args.corpora / relative, source=name, split="x").documents
        start = time.perf_counter()
        ours = [segment_document(doc, splitter) for doc in docs]
        ours_time = time.perf_counter() - start
        start = time.perf_counter()
        theirs = spacy_segment(docs)
        spacy_time = time.perf_counter() - start
        a, b = segmentation_stats(ours), segmentation_stats(theirs)
        totals[0] += a.entities_cut_by_sentence_boundary
        totals[1] += b.entities_cut_by_sentence_boundary
        print(
            f"| {name} | {len(docs)} | {a.entities} | {a.sentences} / {b.sentences} | "
            f"{a.entities_cut_by_sentence_boundary} / {b.entities_cut_by_sentence_boundary} | "
            f"{ours_time:.2f} / {spacy_time:.2f} |"
        )
    print(f"\nentities cut in total: ours {totals[0]}, spaCy sentencizer {totals[1]}")
    print("(our time includes tokenization; spaCy's includes its tokenizer)")


if __name__ == "__main__":
    main()
