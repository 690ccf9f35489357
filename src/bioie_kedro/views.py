"""Views derived from documents: IOB2 tags per sentence, mention lists and relation pairs.

Documents (character offsets) are the ground truth; every method reads one of these views and maps
its predictions back with :func:`entities_from_iob2`. All views need :attr:`Document.sentences`
filled with token spans in document coordinates.

IOB2 can hold neither overlapping nor discontinuous mentions, nor mentions that do not line up with
tokens, so :func:`to_iob2` applies one fixed policy and counts every decision in an
:class:`IobPolicyReport`:

* an entity not inside a single sentence is dropped (``cross_sentence_dropped``), and so is one
  that touches no token (``no_token_dropped``);
* an entity whose boundary falls inside a token is tagged on every token it touches, so the tagged
  span is wider (``boundary_expanded``);
* overlapping entities (overlap judged on the tagged tokens): the longest span is kept (ties: the
  earliest start, then the first in document order), the others are dropped
  (``overlapping_dropped``);
* a discontinuous entity is tagged over its covering extent, from its first start to its last end,
  if that overlaps no kept entity (``discontinuous_covered``); otherwise it is dropped and counted
  in ``overlapping_dropped``. Contiguous entities are placed first, so a covering extent never
  pushes out a real contiguous mention.

For entities that are token-aligned, single-sentence, contiguous and non-overlapping the round trip
documents → :func:`to_iob2` → :func:`entities_from_iob2` gives back the same type, offsets and text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bioie_kedro.schema import Document, DocumentValidationError, Entity, RelationLevel, Span

# --------------------------------------------------------------------------------------------
# IOB2 tag view
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TaggedSentence:
    """One sentence of a document as tokens with IOB2 tags."""

    document_id: str
    sentence_index: int
    tokens: list[str]
    token_spans: list[Span]
    tags: list[str]


@dataclass(slots=True)
class IobPolicyReport:
    """What :func:`to_iob2` did with each entity; every entity seen lands in exactly one bucket.

    ``seen == tagged + overlapping_dropped + cross_sentence_dropped + no_token_dropped``.
    ``discontinuous_covered`` and ``boundary_expanded`` count tagged entities that were altered.
    """

    seen: int = 0
    tagged: int = 0
    overlapping_dropped: int = 0
    discontinuous_covered: int = 0
    cross_sentence_dropped: int = 0
    no_token_dropped: int = 0
    boundary_expanded: int = 0
    excluded_by_type: int = 0
    tagged_by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int | dict[str, int]]:
        return {
            "seen": self.seen,
            "tagged": self.tagged,
            "overlapping_dropped": self.overlapping_dropped,
            "discontinuous_covered": self.discontinuous_covered,
            "cross_sentence_dropped": self.cross_sentence_dropped,
            "no_token_dropped": self.no_token_dropped,
            "boundary_expanded": self.boundary_expanded,
            "excluded_by_type": self.excluded_by_type,
            "tagged_by_type": dict(sorted(self.tagged_by_type.items())),
        }


@dataclass(slots=True)
class _Placement:
    """An entity located in a sentence: its type after renaming and its token range."""

    order: int
    entity: Entity
    type: str
    first_token: int
    end_token: int  # exclusive


def _sentence_of(doc: Document, sentence_starts: Sequence[int], start: int, end: int) -> int | None:
    """Index of the sentence that contains ``[start, end)``, or ``None``."""
    index = bisect_right(sentence_starts, start) - 1
    if index < 0:
        return None
    sentence = doc.sentences[index]
    return index if end <= sentence.end else None


def _touched_tokens(tokens: Sequence[Span], start: int, end: int) -> tuple[int, int] | None:
    """``(first, end_exclusive)`` indices of the tokens overlapping ``[start, end)``."""
    touched = [
        i for i, (tok_start, tok_end) in enumerate(tokens) if tok_start < end and tok_end > start
    ]
    return (touched[0], touched[-1] + 1) if touched else None


def to_iob2(
    docs: Iterable[Document],
    *,
    types: Collection[str] | None = None,
    type_map: Mapping[str, str] | None = None,
) -> tuple[list[TaggedSentence], IobPolicyReport]:
    """Tag every sentence of every document in IOB2, following the module's policy.

    Args:
        docs: documents with :attr:`Document.sentences` filled.
        types: keep only entities of these (original) types; ``None`` keeps all.
        type_map: rename types after filtering (e.g. NCBI's four types to ``"Disease"``); types
            not in the map keep their name.

    Returns:
        One :class:`TaggedSentence` per sentence of each document, in order (sentences without
        entities included, so ``sentence_index`` is the position in ``doc.sentences``), and the
        report of what happened to each entity.
    """
    type_map = type_map or {}
    wanted = None if types is None else set(types)
    report = IobPolicyReport()
    by_type: Counter[str] = Counter()
    out: list[TaggedSentence] = []
    for doc in docs:
        sentence_starts = [sentence.start for sentence in doc.sentences]
        placements: dict[int, list[_Placement]] = {}
        for order, entity in enumerate(doc.entities):
            if wanted is not None and entity.type not in wanted:
                report.excluded_by_type += 1
                continue
            report.seen += 1
            index = _sentence_of(doc, sentence_starts, entity.start, entity.end)
            if index is None:
                report.cross_sentence_dropped += 1
                continue
            token_range = _touched_tokens(doc.sentences[index].tokens, entity.start, entity.end)
            if token_range is None:
                report.no_token_dropped += 1
                continue
            placement = _Placement(
                order, entity, type_map.get(entity.type, entity.type), *token_range
            )
            placements.setdefault(index, []).append(placement)

        for index, sentence in enumerate(doc.sentences):
            tags = ["O"] * len(sentence.tokens)
            # Contiguous before discontinuous, then longest, earliest, first in document order.
            candidates = sorted(
                placements.get(index, []),
                key=lambda p: (
                    p.entity.is_discontinuous,
                    -(p.entity.end - p.entity.start),
                    p.entity.start,
                    p.order,
                ),
            )
            taken = [False] * len(sentence.tokens)
            for placement in candidates:
                token_slice = range(placement.first_token, placement.end_token)
                if any(taken[i] for i in token_slice):
                    report.overlapping_dropped += 1
                    continue
                for i in token_slice:
                    taken[i] = True
                    tags[i] = ("B-" if i == placement.first_token else "I-") + placement.type
                report.tagged += 1
                by_type[placement.type] += 1
                if placement.entity.is_discontinuous:
                    report.discontinuous_covered += 1
                tokens = sentence.tokens
                if (
                    tokens[placement.first_token][0] < placement.entity.start
                    or tokens[placement.end_token - 1][1] > placement.entity.end
                ):
                    report.boundary_expanded += 1
            out.append(
                TaggedSentence(
                    document_id=doc.id,
                    sentence_index=index,
                    tokens=[doc.text[start:end] for start, end in sentence.tokens],
                    token_spans=list(sentence.tokens),
                    tags=tags,
                )
            )
    report.tagged_by_type = dict(sorted(by_type.items()))
    return out, report


def decode_iob2(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Chunks ``(first_token, end_token_exclusive, type)`` of an IOB2 tag sequence.

    Lenient like seqeval's default mode: an ``I-X`` with no open ``X`` chunk (after ``O`` or after
    another type) starts a new chunk.

    Raises:
        ValueError: a tag is neither ``O`` nor ``B-``/``I-`` followed by a type.
    """
    chunks: list[tuple[int, int, str]] = []
    open_start: int | None = None
    open_type = ""
    for index, tag in enumerate(tags):
        prefix, dash, entity_type = tag.partition("-")
        if tag == "O":
            prefix = "O"
        elif not (dash and prefix in {"B", "I"} and entity_type):
            raise ValueError(f"not an IOB2 tag: {tag!r} at position {index}")
        if prefix == "I" and open_start is not None and entity_type == open_type:
            continue
        if open_start is not None:
            chunks.append((open_start, index, open_type))
            open_start = None
        if prefix != "O":
            open_start, open_type = index, entity_type
    if open_start is not None:
        chunks.append((open_start, len(tags), open_type))
    return chunks


def entities_from_iob2(doc: Document, tags_per_sentence: Sequence[Sequence[str]]) -> list[Entity]:
    """Entities with character spans decoded from IOB2 tags on ``doc``'s sentence tokens.

    Args:
        doc: the document the tags were predicted for.
        tags_per_sentence: one tag sequence per sentence of ``doc.sentences``, one tag per token.

    Returns:
        Entities in text order with ids ``P1``, ``P2``, …, their text taken from the document.

    Raises:
        ValueError: the number of sentences or tokens does not match, or a tag is not IOB2.
    """
    if len(tags_per_sentence) != len(doc.sentences):
        raise ValueError(
            f"document {doc.id!r}: {len(tags_per_sentence)} tag sequences for {len(doc.sentences)} sentences"
        )
    entities: list[Entity] = []
    for index, (sentence, tags) in enumerate(zip(doc.sentences, tags_per_sentence, strict=True)):
        if len(tags) != len(sentence.tokens):
            raise ValueError(
                f"document {doc.id!r}, sentence {index}: {len(tags)} tags for {len(sentence.tokens)} tokens"
            )
        for first, end, entity_type in decode_iob2(tags):
            start, stop = sentence.tokens[first][0], sentence.tokens[end - 1][1]
            entities.append(
                Entity(
                    id=f"P{len(entities) + 1}",
                    type=entity_type,
                    text=doc.text[start:stop],
                    offsets=[(start, stop)],
                )
            )
    return entities


# --------------------------------------------------------------------------------------------
# Mention lists
# --------------------------------------------------------------------------------------------


def _text_order(entities: Sequence[Entity]) -> list[Entity]:
    # sorted() is stable: entities with the same span keep their list order.
    return sorted(entities, key=lambda entity: (entity.start, entity.end))


def mentions_by_type(
    doc: Document, *, types: Sequence[str] | None = None, dedupe: bool = False
) -> dict[str, list[str]]:
    """Mention texts per entity type, in text order, as instruction formats list them.

    Args:
        doc: the document.
        types: the types to list, in this key order, each present even when it has no mention;
            ``None`` lists the types the document has, sorted.
        dedupe: keep only the first occurrence of each exact text per type (default: a multiset,
            one item per mention).
    """
    keys = sorted({entity.type for entity in doc.entities}) if types is None else list(types)
    mentions: dict[str, list[str]] = {key: [] for key in keys}
    for entity in _text_order(doc.entities):
        listed = mentions.get(entity.type)
        if listed is None or (dedupe and entity.text in listed):
            continue
        listed.append(entity.text)
    return mentions


# --------------------------------------------------------------------------------------------
# Relation pairs
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RelationPair:
    """A relation with its arguments resolved.

    Mention-level: ``head``/``tail`` are the argument entities, the concepts are ``None``.
    Concept-level: ``head_concept``/``tail_concept`` are the argument CURIEs, ``head``/``tail`` are
    ``None``, and ``head_mentions``/``tail_mentions`` list (in text order) the entities normalized
    to each concept, for formats that need a surface form.
    """

    document_id: str
    relation_id: str
    type: str
    level: RelationLevel
    head: Entity | None
    tail: Entity | None
    head_concept: str | None = None
    tail_concept: str | None = None
    head_mentions: list[Entity] = field(default_factory=list)
    tail_mentions: list[Entity] = field(default_factory=list)


def relation_pairs(doc: Document) -> list[RelationPair]:
    """Every relation of ``doc`` with its arguments resolved, in relation order.

    Raises:
        DocumentValidationError: a mention-level argument is not an entity of the document.
    """
    entities = doc.entity_by_id()
    pairs: list[RelationPair] = []
    for relation in doc.relations:
        if relation.level == "concept":
            pairs.append(
                RelationPair(
                    document_id=doc.id,
                    relation_id=relation.id,
                    type=relation.type,
                    level="concept",
                    head=None,
                    tail=None,
                    head_concept=relation.arg1_id,
                    tail_concept=relation.arg2_id,
                    head_mentions=_mentions_of_concept(doc, relation.arg1_id),
                    tail_mentions=_mentions_of_concept(doc, relation.arg2_id),
                )
            )
            continue
        resolved = []
        for arg in (relation.arg1_id, relation.arg2_id):
            if arg not in entities:
                raise DocumentValidationError(
                    doc.source,
                    doc.id,
                    f"argument {arg!r} is not an entity of the document",
                    f"relation {relation.id!r}",
                )
            resolved.append(entities[arg])
        head, tail = resolved
        pairs.append(
            RelationPair(
                document_id=doc.id,
                relation_id=relation.id,
                type=relation.type,
                level="mention",
                head=head,
                tail=tail,
                head_mentions=[head],
                tail_mentions=[tail],
            )
        )
    return pairs


def _mentions_of_concept(doc: Document, curie: str) -> list[Entity]:
    return _text_order([e for e in doc.entities if any(n.curie == curie for n in e.normalized)])


def candidate_pairs(
    doc: Document,
    allowed: Mapping[tuple[str, str], Collection[str]] | None,
    *,
    same_sentence: bool,
) -> list[tuple[Entity, Entity]]:
    """Ordered ``(head, tail)`` pairs of distinct entities that a relation could link.

    Args:
        doc: the document.
        allowed: relation types allowed per ``(head type, tail type)``; a pair is a candidate when
            its type pair is a key with at least one relation type. ``None`` allows every pair.
        same_sentence: require both entities (their whole extent) inside one sentence.

    Returns:
        Pairs in text order of the head, then of the tail.

    Raises:
        ValueError: ``same_sentence`` is asked for but the document, which has entities, has no
            sentences.
    """
    entities = _text_order(doc.entities)
    sentence_of: dict[str, int | None] = {}
    if same_sentence:
        if entities and not doc.sentences:
            raise ValueError(f"document {doc.id!r} has no sentences; segment it first")
        starts = [sentence.start for sentence in doc.sentences]
        sentence_of = {e.id: _sentence_of(doc, starts, e.start, e.end) for e in entities}
    pairs: list[tuple[Entity, Entity]] = []
    for head in entities:
        for tail in entities:
            if head is tail:
                continue
            if allowed is not None and not allowed.get((head.type, tail.type)):
                continue
            if same_sentence and (
                sentence_of[head.id] is None or sentence_of[head.id] != sentence_of[tail.id]
            ):
                continue
            pairs.append((head, tail))
    return pairs


# --------------------------------------------------------------------------------------------
# Sentence documents
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SentenceDocuments:
    """The sentences of some documents as documents of their own, and what did not fit."""

    documents: list[Document]
    #: ``(document id, entity id)`` of entities that cross a sentence boundary (left out)
    crossing_entities: list[tuple[str, str]] = field(default_factory=list)


def sentence_documents(docs: Sequence[Document]) -> SentenceDocuments:
    """One document per sentence (id ``<document id>#<index>``, as retrieval's sentence units).

    Each keeps the entities lying fully inside the sentence, offsets shifted to the sentence
    text; entities crossing a boundary are listed, never silently dropped. Relations are not
    carried (a sentence document is a unit of NER). ``attributes["parent"]`` and
    ``attributes["offset"]`` lead back to the document (:func:`entities_to_parent`).
    """
    from bioie_kedro.retrieval.units import sentence_unit_id

    out = SentenceDocuments(documents=[])
    for doc in docs:
        if not doc.sentences and doc.text.strip():
            raise ValueError(
                f"document {doc.id!r} of {doc.source}/{doc.split} has no sentences; "
                "sentence units need the documents made by the ingestion pipeline"
            )
        placed: set[str] = set()
        for index, sentence in enumerate(doc.sentences):
            start, end = sentence.start, sentence.end
            entities = []
            for entity in doc.entities:
                if start <= entity.start and entity.end <= end:
                    placed.add(entity.id)
                    entities.append(
                        Entity(
                            entity.id,
                            entity.type,
                            entity.text,
                            [(s - start, e - start) for s, e in entity.offsets],
                            list(entity.normalized),
                        )
                    )
            out.documents.append(
                Document(
                    id=sentence_unit_id(doc.id, index),
                    source=doc.source,
                    split=doc.split,
                    text=doc.text[start:end],
                    entities=entities,
                    attributes={"parent": doc.id, "offset": str(start)},
                )
            )
        out.crossing_entities.extend((doc.id, e.id) for e in doc.entities if e.id not in placed)
    return out


def entities_to_parent(sentence_doc: Document, entities: Sequence[Entity]) -> list[Entity]:
    """``entities`` of a sentence document with offsets shifted back into its parent document."""
    offset = int(sentence_doc.attributes["offset"])
    return [
        Entity(
            e.id,
            e.type,
            e.text,
            [(s + offset, t + offset) for s, t in e.offsets],
            list(e.normalized),
        )
        for e in entities
    ]
