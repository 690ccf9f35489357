"""Sentences with their entities, ordered candidate pairs, and entity markers placed by offsets.

* An entity belongs to a sentence only when it lies fully inside it (every span of a discontinuous
  mention); an entity cut by a sentence boundary belongs to none and is counted.
* A candidate is an ordered pair (head, tail) of two different entities of one sentence whose type
  pair is in the :class:`~bioie_kedro.relation_extraction.specs.RelationSpec`. With
  ``pair_order="text"`` only the pair whose head comes first in the text is kept (DDI annotates
  each unordered pair once, in text order).
* Markers ``[E1]``/``[/E1]`` around the head and ``[E2]``/``[/E2]`` around the tail are inserted at
  the entities' character offsets, never by string replacement, so a name that occurs twice is
  marked only where the entity is. A discontinuous entity is marked over its whole extent
  (first start to last end).

How the two entities may relate in the text, and what :func:`insert_markers` does:

* disjoint or adjacent: each pair of markers around its entity (``[/E1][E2]`` when adjacent);
* nested (one extent inside the other, or both equal): the markers nest, the outer entity's
  outside (``[E1]NF-kB [E2]inhibitor[/E2][/E1]``); for equal extents E1 is the outer one;
* partially overlapping (each has characters outside the other): no well-formed marking exists;
  :func:`insert_markers` raises :class:`OverlappingEntitiesError`, and :func:`candidate_pairs`
  leaves such pairs out and counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bioie_kedro.relation_extraction.specs import RelationSpec
from bioie_kedro.schema import Document, Entity, Span

#: Head start, head end, tail start, tail end markers (added to the tokenizer as special tokens).
MARKERS: tuple[str, str, str, str] = ("[E1]", "[/E1]", "[E2]", "[/E2]")

PairOrder = Literal["all", "text"]


class OverlappingEntitiesError(ValueError):
    """Two entities overlap partially, so they cannot both be wrapped in well-formed markers."""


@dataclass(slots=True)
class SentenceEntity:
    """An entity of a sentence; ``offsets`` are document offsets, ``type`` after any type map."""

    id: str
    type: str
    text: str
    offsets: list[Span]

    @property
    def extent(self) -> Span:
        """First start to last end (what the markers wrap)."""
        return (self.offsets[0][0], self.offsets[-1][1])

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "text": self.text,
            "offsets": [list(span) for span in self.offsets],
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> SentenceEntity:
        return cls(
            row["id"], row["type"], row["text"], [(int(s), int(e)) for s, e in row["offsets"]]
        )


@dataclass(slots=True)
class SentenceUnit:
    """One sentence of one document, with the entities that lie fully inside it.

    ``key`` is unique over all corpora and splits (``source/split/document/s<index>``);
    ``document_key`` (``source/split/document``) is what the dataset is split by.
    """

    source: str
    split: str
    document_id: str
    sentence_index: int
    start: int
    end: int
    text: str
    entities: list[SentenceEntity] = field(default_factory=list)

    @property
    def document_key(self) -> str:
        return f"{self.source}/{self.split}/{self.document_id}"

    @property
    def key(self) -> str:
        return f"{self.document_key}/s{self.sentence_index}"

    def relative(self, span: Span) -> Span:
        """A document span in sentence coordinates."""
        return (span[0] - self.start, span[1] - self.start)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "split": self.split,
            "document_id": self.document_id,
            "sentence_index": self.sentence_index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "entities": [entity.as_dict() for entity in self.entities],
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> SentenceUnit:
        unit = cls(
            source=row["source"],
            split=row["split"],
            document_id=row["document_id"],
            sentence_index=int(row["sentence_index"]),
            start=int(row["start"]),
            end=int(row["end"]),
            text=row["text"],
            entities=[SentenceEntity.from_dict(e) for e in row["entities"]],
        )
        if "key" in row and row["key"] != unit.key:
            raise ValueError(f"sentence record {row['key']!r} does not match its fields")
        return unit


def _inside(entity: Entity, start: int, end: int) -> bool:
    return all(start <= span_start and span_end <= end for span_start, span_end in entity.offsets)


def sentence_units(
    doc: Document,
    *,
    type_map: Mapping[str, str] | None = None,
    entity_types: Collection[str] | None = None,
) -> tuple[list[SentenceUnit], Counter[str]]:
    """The sentences of a segmented document with the entities that lie fully inside them.

    Args:
        doc: a document with ``sentences`` (see :func:`bioie_kedro.segmentation.segment_document`).
        type_map: renames entity types (e.g. ChemProt ``GENE-Y`` → ``Gene``) before anything else.
        entity_types: keep only entities of these types (after renaming); ``None`` keeps all.

    Returns:
        One unit per sentence (entities sorted by position), and counts: ``entities``,
        ``entities_of_other_types``, ``entities_cut_by_sentence_boundary``.

    Raises:
        ValueError: the document has entities but no sentences.
    """
    type_map = type_map or {}
    counts: Counter[str] = Counter()
    if doc.entities and not doc.sentences:
        raise ValueError(
            f"document {doc.source}/{doc.id} has no sentences; segment it first "
            "(bioie_kedro.segmentation.segment_document)"
        )
    units = [
        SentenceUnit(
            doc.source, doc.split, doc.id, index, s.start, s.end, doc.text[s.start : s.end]
        )
        for index, s in enumerate(doc.sentences)
    ]
    for entity in doc.entities:
        counts["entities"] += 1
        entity_type = type_map.get(entity.type, entity.type)
        if entity_types is not None and entity_type not in entity_types:
            counts["entities_of_other_types"] += 1
            continue
        unit = next((u for u in units if _inside(entity, u.start, u.end)), None)
        if unit is None:
            counts["entities_cut_by_sentence_boundary"] += 1
            continue
        unit.entities.append(
            SentenceEntity(entity.id, entity_type, entity.text, list(entity.offsets))
        )
    for unit in units:
        unit.entities.sort(key=lambda e: (e.extent, e.id))
    return units, counts


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """An ordered pair of entities of one sentence whose type pair the spec lists."""

    head: SentenceEntity
    tail: SentenceEntity

    @property
    def ids(self) -> tuple[str, str]:
        return (self.head.id, self.tail.id)


def spans_overlap(a: Span, b: Span) -> bool:
    """They share at least one character (nested, equal or crossing)."""
    return a[0] < b[1] and b[0] < a[1]


def spans_cross(a: Span, b: Span) -> bool:
    """Partial overlap: they share characters and each has characters outside the other."""
    overlap = spans_overlap(a, b)
    nested = (a[0] <= b[0] and b[1] <= a[1]) or (b[0] <= a[0] and a[1] <= b[1])
    return overlap and not nested


def candidate_pairs(
    unit: SentenceUnit, spec: RelationSpec, *, pair_order: PairOrder = "all"
) -> tuple[list[CandidatePair], int]:
    """Ordered candidate pairs of a sentence, and how many were left out for partial overlap.

    ``pair_order="all"``: every ordered pair (head, tail) of two different entities with
    ``spec.has_pair(head.type, tail.type)``; both orders when the spec lists both.
    ``pair_order="text"``: only pairs whose head comes before the tail in the text.
    """
    if pair_order not in ("all", "text"):
        raise ValueError(f"pair_order must be 'all' or 'text', got {pair_order!r}")
    pairs: list[CandidatePair] = []
    crossing = 0
    for i, head in enumerate(unit.entities):
        for j, tail in enumerate(unit.entities):
            if i == j or not spec.has_pair(head.type, tail.type):
                continue
            if pair_order == "text" and j < i:
                continue
            if spans_cross(head.extent, tail.extent):
                crossing += 1
                continue
            pairs.append(CandidatePair(head, tail))
    return pairs, crossing


def insert_markers(text: str, head: Span, tail: Span, markers: Iterable[str] = MARKERS) -> str:
    """``text`` with ``[E1]..[/E1]`` around ``head`` and ``[E2]..[/E2]`` around ``tail``.

    Spans are ``(start, end)`` offsets into ``text``. Nested spans give nested markers (the outer
    entity outside; E1 outside for equal spans); see the module docstring.

    Raises:
        OverlappingEntitiesError: the spans overlap partially.
        ValueError: a span is empty or outside ``text``.
    """
    open1, close1, open2, close2 = tuple(markers)
    for span in (head, tail):
        if not (0 <= span[0] < span[1] <= len(text)):
            raise ValueError(f"span {span} is empty or outside the text (length {len(text)})")
    if spans_cross(head, tail):
        raise OverlappingEntitiesError(
            f"entities at {head} and {tail} overlap partially; markers cannot nest"
        )
    # (position, closes before opens, nesting order, marker). Opening: the longer (outer) entity
    # first, E1 first on equal spans. Closing: the later-starting (inner) entity first, E2 first on
    # equal spans.
    events = [
        (head[0], 1, (-head[1], 0), open1),
        (tail[0], 1, (-tail[1], 1), open2),
        (head[1], 0, (-head[0], 1), close1),
        (tail[1], 0, (-tail[0], 0), close2),
    ]
    events.sort(key=lambda event: event[:3])
    pieces = []
    previous = 0
    for position, _, _, marker in events:
        pieces.append(text[previous:position])
        pieces.append(marker)
        previous = position
    pieces.append(text[previous:])
    return "".join(pieces)


#: How the mentions read inside the example text: ``keep`` as written; ``type`` the pair blinded to
#: its types; ``all_types`` the pair and every other mention of the sentence blinded.
EntityText = Literal["keep", "type", "all_types"]
ENTITY_TEXT_CHOICES: tuple[str, ...] = ("keep", "type", "all_types")


def type_placeholder(entity_type: str) -> str:
    """What a blinded mention reads: ``@CHEMICAL$`` for type ``CHEMICAL`` (BLURB's convention)."""
    return f"@{entity_type.upper()}$"


def replace_spans(
    text: str, replacements: Iterable[tuple[Span, str]], keep: Iterable[Span] = ()
) -> tuple[str, list[Span]]:
    """``text`` with each span of ``replacements`` replaced by its string, and the spans of
    ``keep`` moved to the new text.

    The replaced spans must be disjoint. A kept span must equal a replaced span (it becomes the
    replacement's span) or share no character with any; anything else raises ``ValueError``.
    """
    ordered = sorted(replacements)
    for (first, _), (second, _) in zip(ordered, ordered[1:]):
        if spans_overlap(first, second):
            raise ValueError(
                f"spans {first} and {second} overlap; only disjoint spans are replaced"
            )
    for (start, end), _ in ordered:
        if not (0 <= start < end <= len(text)):
            raise ValueError(
                f"span {(start, end)} is empty or outside the text (length {len(text)})"
            )

    def moved(position: int) -> int:
        # every replacement that ends at or before the position shifts it by its change in length
        return position + sum(
            len(string) - (end - start) for (start, end), string in ordered if end <= position
        )

    new_spans = []
    for span in keep:
        if not any(span == replaced for replaced, _ in ordered) and any(
            spans_overlap(span, replaced) for replaced, _ in ordered
        ):
            raise ValueError(f"span {span} overlaps a replaced span without being equal to it")
        new_spans.append((moved(span[0]), moved(span[1])))
    pieces, previous = [], 0
    for (start, end), string in ordered:
        pieces += [text[previous:start], string]
        previous = end
    pieces.append(text[previous:])
    return "".join(pieces), new_spans


def blind_pair(text: str, head: Span, tail: Span, head_type: str, tail_type: str):
    """``text`` with the two disjoint spans replaced by :func:`type_placeholder` of their types,
    and the spans of the placeholders; nested or overlapping spans raise ``ValueError``."""
    if spans_overlap(head, tail):
        raise ValueError(f"spans {head} and {tail} overlap; only disjoint mentions are blinded")
    replacements = [(head, type_placeholder(head_type)), (tail, type_placeholder(tail_type))]
    text, (new_head, new_tail) = replace_spans(text, replacements, [head, tail])
    return text, new_head, new_tail


def other_mentions(unit: SentenceUnit, pair: CandidatePair) -> tuple[list[SentenceEntity], int]:
    """The mentions of the sentence besides the pair that ``entity_text="all_types"`` blinds, and
    how many others keep their text.

    Blinded: every other mention with one continuous span that shares no character with either
    mention of the pair; of others that overlap each other only the outermost (a nested one is
    inside its placeholder already, one crossing it keeps its text outside). Kept as written and
    counted: discontinuous mentions (their extent holds text that is not theirs), mentions that
    overlap the pair, and mentions crossing an already blinded one.
    """
    pair_extents = (pair.head.extent, pair.tail.extent)
    chosen: list[SentenceEntity] = []
    kept = 0
    candidates = [e for e in unit.entities if e.id not in (pair.head.id, pair.tail.id)]
    for entity in sorted(candidates, key=lambda e: (e.extent[0], -e.extent[1], e.id)):
        extent = entity.extent
        if len(entity.offsets) != 1 or any(spans_overlap(extent, p) for p in pair_extents):
            kept += 1
            continue
        outer = next((c for c in chosen if spans_overlap(extent, c.extent)), None)
        if outer is None:
            chosen.append(entity)
        elif spans_cross(extent, outer.extent):
            kept += 1
        # else: nested inside a blinded mention, which hides it
    return chosen, kept


def mark_pair(unit: SentenceUnit, pair: CandidatePair, *, entity_text: EntityText = "keep") -> str:
    """The sentence text with the pair's markers.

    ``entity_text="type"`` blinds the pair: each mention's text inside its markers becomes its
    type (``[E1] @CHEMICAL$ [/E1]``), so the classifier reads the context, not the names (BLURB
    prepares ChemProt and DDI this way). Nested pairs keep their text (the inner mention is part
    of the outer one's). ``entity_text="all_types"`` also blinds the sentence's other mentions
    (see :func:`other_mentions`), without markers (``@DRUG$ , [E1]@DRUG$[/E1] and
    [E2]@DRUG$[/E2]``), as DDI systems replace the other drugs by ``DRUGOTHER``.
    """
    return mark_pair_counted(unit, pair, entity_text=entity_text)[0]


def mark_pair_counted(
    unit: SentenceUnit, pair: CandidatePair, *, entity_text: EntityText = "keep"
) -> tuple[str, int, int]:
    """:func:`mark_pair`'s text, and how many other mentions it blinded and kept as written
    (both 0 unless ``entity_text="all_types"``)."""
    if entity_text not in ENTITY_TEXT_CHOICES:
        raise ValueError(f"entity_text must be one of {ENTITY_TEXT_CHOICES}, got {entity_text!r}")
    head, tail = unit.relative(pair.head.extent), unit.relative(pair.tail.extent)
    replacements: list[tuple[Span, str]] = []
    if entity_text in ("type", "all_types") and not spans_overlap(head, tail):
        replacements += [
            (head, type_placeholder(pair.head.type)),
            (tail, type_placeholder(pair.tail.type)),
        ]
    others, kept = other_mentions(unit, pair) if entity_text == "all_types" else ([], 0)
    replacements += [
        (unit.relative(other.extent), type_placeholder(other.type)) for other in others
    ]
    text, (head, tail) = replace_spans(unit.text, replacements, [head, tail])
    return insert_markers(text, head, tail), len(others), kept
