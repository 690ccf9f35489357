"""Sentences and tokens with character offsets, tuned for biomedical abstracts.

A blank spaCy English pipeline with its sentencizer splits after every full stop, so it cuts
"e.g. the", "i.v. injection", "approx. 20 mg", "Fig. 2" and "vs. placebo" into two sentences and,
with them, the entities around them. :class:`SentenceSplitter` splits at ``.``, ``!`` or ``?``
(plus closing quotes or brackets) followed by white space only when

* the next sentence starts with an upper-case letter, a digit or an opening bracket or quote,
* the word before the stop is not a known abbreviation (``e.g.``, ``i.v.``, ``approx.``, ``Fig.``,
  ``vs.``, ``et al.``, ``Dr.`` …) and does not itself contain inner full stops (``i.p.``, ``U.S.``),
* the stop is not inside parentheses or brackets that close shortly after.

Passage boundaries (title / abstract) are always sentence boundaries, as are line breaks.
Tokens are maximal runs of word characters or single punctuation marks (``\\w+|[^\\w\\s]``), the
granularity of the CoNLL versions of NCBI-disease and BC5CDR, so that entity boundaries almost
always fall between tokens. :func:`segmentation_stats` counts what does not (entities cut by a
sentence boundary, entity boundaries inside a token) for the ingestion report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from bioie_kedro.schema import Document, Sentence, Span

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# A sentence-final mark, any closing quotes/brackets, then white space.
_CANDIDATE = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_WORD_BEFORE = re.compile(r"(\S+)$")
_NEXT_START = re.compile(r"\s+(\S)")
# Letters with inner stops: i.p, U.S.A, e.g, b.i.d, i.c.v (but not 0.05 or E18.5).
_DOTTED_ABBREVIATION = re.compile(r"^(?:[a-z]{1,3}\.)+[a-z]{1,3}$")

#: Abbreviations after which a full stop does not end a sentence (compared lower-cased,
#: without the final stop). Sentence-final uses of these ("… and others, etc.") followed by an
#: upper-case word are rare in abstracts compared with the mid-sentence ones.
DEFAULT_ABBREVIATIONS: frozenset[str] = frozenset(
    {
        # Latin and general
        "e.g",
        "i.e",
        "eg",
        "ie",
        "cf",
        "viz",
        "vs",
        "v",
        "al",
        "et al",
        "approx",
        "ca",
        "resp",
        "incl",
        "excl",
        "esp",
        "etc",
        "no",
        "nos",
        "vol",
        "vols",
        "pp",
        "p",
        "ed",
        "eds",
        "ref",
        "refs",
        "fig",
        "figs",
        "tab",
        "tbl",
        "eq",
        "eqs",
        "suppl",
        "sect",
        "ch",
        "chap",
        "dept",
        "univ",
        "inc",
        "ltd",
        "co",
        "corp",
        "jr",
        "sr",
        "st",
        "mt",
        # Titles
        "dr",
        "drs",
        "mr",
        "mrs",
        "ms",
        "prof",
        "profs",
        # Routes and dosing
        "i.v",
        "iv",
        "i.p",
        "ip",
        "i.m",
        "im",
        "s.c",
        "sc",
        "p.o",
        "po",
        "i.c.v",
        "i.t",
        "i.d",
        "b.i.d",
        "t.i.d",
        "q.i.d",
        "q.d",
        "o.d",
        "p.r.n",
        "h.s",
        "a.m",
        "p.m",
        "q",
        # Abbreviations with a stop that rarely end a sentence (units such as "min." or "h." do
        # end sentences often, so they are not listed)
        "wt",
        "conc",
        "avg",
        "temp",
        "sp",
        "spp",
        "var",
        "subsp",
        "nov",
        # Months
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)

_OPENING = "([{\"'“‘"
_CLOSING = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class SentenceSplitter:
    """Rule-based sentence splitter for biomedical text; see the module docstring.

    Args:
        abbreviations: words (lower-case, no final stop) after which a stop never ends a sentence.
        max_bracket_span: a stop inside brackets is not a boundary when the bracket closes within
            this many characters (protects "(Fig. 2. Data not shown)"-style asides without letting
            an unbalanced bracket block every later boundary).
    """

    abbreviations: frozenset[str] = DEFAULT_ABBREVIATIONS
    max_bracket_span: int = 200

    def split(self, text: str, start: int = 0, end: int | None = None) -> list[Span]:
        """Sentence spans of ``text[start:end]`` in ``text`` coordinates, stripped of white space."""
        end = len(text) if end is None else end
        spans: list[Span] = []
        for line_start, line_end in _lines(text, start, end):
            spans.extend(self._split_line(text, line_start, line_end))
        return spans

    def _split_line(self, text: str, start: int, end: int) -> list[Span]:
        spans = []
        sentence_start = start
        segment = text[start:end]
        for match in _CANDIDATE.finditer(segment):
            boundary = start + match.end()
            if self._is_boundary(text, start + match.start(), boundary, start, end):
                spans.append((sentence_start, boundary))
                next_start = _NEXT_START.match(text, boundary, end)
                sentence_start = next_start.start(1) if next_start else end
        if sentence_start < end:
            spans.append((sentence_start, end))
        return [span for span in spans if span[0] < span[1]]

    def _is_boundary(self, text: str, mark: int, boundary: int, start: int, end: int) -> bool:
        following = _NEXT_START.match(text, boundary, end)
        if following is None:
            return False  # end of the line: the line end is the boundary anyway
        first = following.group(1)
        if not (first.isupper() or first.isdigit() or first in _OPENING):
            return False
        if text[mark] == ".":
            word_match = _WORD_BEFORE.search(text, start, mark)
            word = word_match.group(1) if word_match else ""
            bare = word.strip(_OPENING + "".join(_CLOSING)).lower()
            if bare in self.abbreviations or _DOTTED_ABBREVIATION.match(bare):
                return False
        return not self._inside_brackets(text, mark, start, end)

    def _inside_brackets(self, text: str, position: int, start: int, end: int) -> bool:
        depth = 0
        for char in text[start:position]:
            if char in "([{":
                depth += 1
            elif char in _CLOSING and depth:
                depth -= 1
        if depth == 0:
            return False
        closes_at = min((i for c in ")]}" if (i := text.find(c, position, end)) != -1), default=-1)
        return closes_at != -1 and closes_at - position <= self.max_bracket_span


def _lines(text: str, start: int, end: int) -> Iterable[Span]:
    """Non-blank lines of ``text[start:end]``, stripped."""
    for piece in re.finditer(r"[^\n]+", text[start:end]):
        line_start, line_end = start + piece.start(), start + piece.end()
        while line_start < line_end and text[line_start].isspace():
            line_start += 1
        while line_end > line_start and text[line_end - 1].isspace():
            line_end -= 1
        if line_start < line_end:
            yield (line_start, line_end)


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Token spans of ``text[start:end]`` in ``text`` coordinates."""
    end = len(text) if end is None else end
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]


def segment_document(doc: Document, splitter: SentenceSplitter | None = None) -> Document:
    """A copy of ``doc`` with ``sentences`` filled (sentences and tokens).

    Sentences the corpus provides (``doc.sentences`` already set, e.g. DDI) are kept and only
    tokenized; otherwise each title/abstract/paragraph passage (or the whole text when there are
    no passages) is split with ``splitter``.
    """
    splitter = splitter or SentenceSplitter()
    if doc.sentences:
        spans = [(s.start, s.end) for s in doc.sentences]
    else:
        regions = [p.offsets[0] for p in doc.passages if p.type != "sentence"] or [
            (0, len(doc.text))
        ]
        spans = [span for region in sorted(regions) for span in splitter.split(doc.text, *region)]
    sentences = [Sentence(s, e, tokenize(doc.text, s, e)) for s, e in spans]
    return replace(doc, sentences=sentences)


@dataclass
class SegmentationStats:
    """What the sentence and token boundaries do to the entities of a set of documents."""

    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    entities_cut_by_sentence_boundary: int = 0
    entity_boundaries_inside_token: int = 0
    examples_cut: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "entities": self.entities,
            "entities_cut_by_sentence_boundary": self.entities_cut_by_sentence_boundary,
            "entity_boundaries_inside_token": self.entity_boundaries_inside_token,
            "examples_cut": self.examples_cut,
        }


def segmentation_stats(docs: Sequence[Document], max_examples: int = 20) -> SegmentationStats:
    """Count sentences, tokens and the entities the segmentation does not respect."""
    stats = SegmentationStats()
    for doc in docs:
        stats.sentences += len(doc.sentences)
        starts, ends = set(), set()
        for sentence in doc.sentences:
            stats.tokens += len(sentence.tokens)
            starts.update(t[0] for t in sentence.tokens)
            ends.update(t[1] for t in sentence.tokens)
        sentence_spans = [(s.start, s.end) for s in doc.sentences]
        for entity in doc.entities:
            stats.entities += 1
            if not any(s <= entity.start and entity.end <= e for s, e in sentence_spans):
                stats.entities_cut_by_sentence_boundary += 1
                if len(stats.examples_cut) < max_examples:
                    stats.examples_cut.append(f"{doc.source}/{doc.id} {entity.id} {entity.text!r}")
            for span_start, span_end in entity.offsets:
                if span_start not in starts:
                    stats.entity_boundaries_inside_token += 1
                if span_end not in ends:
                    stats.entity_boundaries_inside_token += 1
    return stats
