"""The document model every pipeline reads and writes: text with exact character offsets.

Close to the BigBio "KB" schema. Character offsets into ``Document.text`` are the ground truth;
tokens, IOB tags, mention lists and instruction JSON are views derived from them
(:mod:`bioie_kedro.views`). Offsets are 0-based, end-exclusive ``(start, end)`` pairs.

A :class:`Document` is validated with :func:`validate_document`: every passage and entity text must
equal the document text at its spans, spans must lie inside the text, ids must be unique and every
relation argument must exist. Violations raise :class:`DocumentValidationError`, which names the
corpus, the document and the offending entity or relation.

Documents are stored as Parquet with nested columns (:data:`ARROW_SCHEMA`,
:func:`documents_to_table`, :func:`documents_from_table`); a round trip is loss-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

Span = tuple[int, int]
RelationLevel = Literal["mention", "concept"]

#: Relation type used for candidate pairs a corpus marks as negative (e.g. DDI ``ddi="false"``).
NEGATIVE_RELATION = "none"

#: Separator between the texts of the spans of a discontinuous entity.
SPAN_TEXT_SEPARATOR = " "


@dataclass(slots=True)
class Normalization:
    """A link from a mention to a knowledge-base concept, e.g. ``MESH:D002945``."""

    db: str
    id: str

    @property
    def curie(self) -> str:
        """``db:id``, the form concept-level relations use for their arguments."""
        return f"{self.db}:{self.id}"


@dataclass(slots=True)
class Passage:
    """A title, abstract, paragraph or sentence: one span of the document text."""

    id: str
    type: str
    text: str
    offsets: list[Span]


@dataclass(slots=True)
class Entity:
    """A mention: one span, or several for a discontinuous mention.

    ``text`` is the document text at ``offsets``, spans joined by :data:`SPAN_TEXT_SEPARATOR`.
    """

    id: str
    type: str
    text: str
    offsets: list[Span]
    normalized: list[Normalization] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> int:
        return self.offsets[0][0]

    @property
    def end(self) -> int:
        return self.offsets[-1][1]

    @property
    def is_discontinuous(self) -> bool:
        return len(self.offsets) > 1


@dataclass(slots=True)
class Relation:
    """A typed, directed link between two arguments.

    ``level="mention"``: the arguments are entity ids of the same document (DDI, ChemProt).
    ``level="concept"``: the arguments are concept CURIEs (``MESH:D002945``) that some entity of the
    document is normalized to, as BC5CDR's document-level CID relations are.
    """

    id: str
    type: str
    arg1_id: str
    arg2_id: str
    level: RelationLevel = "mention"
    normalized: list[Normalization] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Sentence:
    """A sentence span with its tokens, all as offsets into the document text."""

    start: int
    end: int
    tokens: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """One document of a corpus split, with its annotations."""

    id: str
    source: str
    split: str
    text: str
    passages: list[Passage] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    def span_text(self, offsets: Sequence[Span]) -> str:
        """The document text at ``offsets``, spans joined as in :attr:`Entity.text`."""
        return SPAN_TEXT_SEPARATOR.join(self.text[start:end] for start, end in offsets)

    def entity_by_id(self) -> dict[str, Entity]:
        return {entity.id: entity for entity in self.entities}

    def concept_ids(self) -> set[str]:
        """CURIEs of every concept an entity of this document is normalized to."""
        return {norm.curie for entity in self.entities for norm in entity.normalized}


class DocumentValidationError(ValueError):
    """A document violates the schema; the message names corpus, document and annotation."""

    def __init__(self, source: str, document_id: str, problem: str, annotation: str | None = None):
        self.source = source
        self.document_id = document_id
        self.annotation = annotation
        self.problem = problem
        where = f"corpus {source!r}, document {document_id!r}"
        if annotation is not None:
            where += f", {annotation}"
        super().__init__(f"{where}: {problem}")


def _check_span(doc: Document, span: Span, what: str) -> None:
    start, end = span
    if not (0 <= start < end <= len(doc.text)):
        raise DocumentValidationError(
            doc.source,
            doc.id,
            f"span [{start}, {end}) is empty or outside the text (length {len(doc.text)})",
            what,
        )


def validate_document(doc: Document) -> Document:
    """Check ``doc`` against the schema and return it unchanged, or raise.

    Raises:
        DocumentValidationError: naming the corpus, document id and the entity, relation,
            passage or sentence at fault.
    """
    for passage in doc.passages:
        what = f"passage {passage.id!r}"
        if len(passage.offsets) != 1:
            raise DocumentValidationError(
                doc.source, doc.id, "a passage has exactly one span", what
            )
        _check_span(doc, passage.offsets[0], what)
        if doc.span_text(passage.offsets) != passage.text:
            raise DocumentValidationError(
                doc.source, doc.id, "passage text differs from the document text at its span", what
            )

    entity_ids: set[str] = set()
    for entity in doc.entities:
        what = f"entity {entity.id!r} ({entity.type} {entity.text!r})"
        if entity.id in entity_ids:
            raise DocumentValidationError(doc.source, doc.id, "duplicate entity id", what)
        entity_ids.add(entity.id)
        if not entity.offsets:
            raise DocumentValidationError(doc.source, doc.id, "entity has no span", what)
        previous_end = -1
        for span in entity.offsets:
            _check_span(doc, span, what)
            if span[0] < previous_end:
                raise DocumentValidationError(
                    doc.source, doc.id, f"spans {entity.offsets} are not sorted and disjoint", what
                )
            previous_end = span[1]
        actual = doc.span_text(entity.offsets)
        if actual != entity.text:
            raise DocumentValidationError(
                doc.source,
                doc.id,
                f"entity text differs from the document text {actual!r} at {entity.offsets}",
                what,
            )

    concepts = doc.concept_ids()
    relation_ids: set[str] = set()
    for relation in doc.relations:
        what = (
            f"relation {relation.id!r} ({relation.type} {relation.arg1_id} -> {relation.arg2_id})"
        )
        if relation.id in relation_ids:
            raise DocumentValidationError(doc.source, doc.id, "duplicate relation id", what)
        relation_ids.add(relation.id)
        known = entity_ids if relation.level == "mention" else concepts
        kind = "entity" if relation.level == "mention" else "concept"
        for arg in (relation.arg1_id, relation.arg2_id):
            if arg not in known:
                raise DocumentValidationError(
                    doc.source, doc.id, f"argument {arg!r} is not a {kind} of the document", what
                )

    previous_end = 0
    for index, sentence in enumerate(doc.sentences):
        what = f"sentence {index}"
        _check_span(doc, (sentence.start, sentence.end), what)
        if sentence.start < previous_end:
            raise DocumentValidationError(doc.source, doc.id, "sentences overlap", what)
        previous_end = sentence.end
        token_end = sentence.start
        for token in sentence.tokens:
            if not (token_end <= token[0] < token[1] <= sentence.end):
                raise DocumentValidationError(
                    doc.source, doc.id, f"token {token} is outside the sentence or overlaps", what
                )
            token_end = token[1]
    return doc


def validate_documents(docs: Iterable[Document]) -> list[Document]:
    """Validate every document and check that ids are unique per (source, split)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for doc in docs:
        key = (doc.source, doc.split, doc.id)
        if key in seen:
            raise DocumentValidationError(
                doc.source, doc.id, f"duplicate document id in split {doc.split!r}"
            )
        seen.add(key)
        out.append(validate_document(doc))
    return out


# --------------------------------------------------------------------------------------------
# Parquet / Arrow representation
# --------------------------------------------------------------------------------------------

_SPAN = pa.struct([("start", pa.int32()), ("end", pa.int32())])
_SPANS = pa.list_(_SPAN)
_NORMALIZED = pa.list_(pa.struct([("db", pa.string()), ("id", pa.string())]))
_ATTRIBUTES = pa.map_(pa.string(), pa.string())

#: The Arrow schema of a documents table: one row per document, annotations as nested lists.
ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("split", pa.string()),
        ("text", pa.string()),
        (
            "passages",
            pa.list_(
                pa.struct(
                    [
                        ("id", pa.string()),
                        ("type", pa.string()),
                        ("text", pa.string()),
                        ("offsets", _SPANS),
                    ]
                )
            ),
        ),
        (
            "entities",
            pa.list_(
                pa.struct(
                    [
                        ("id", pa.string()),
                        ("type", pa.string()),
                        ("text", pa.string()),
                        ("offsets", _SPANS),
                        ("normalized", _NORMALIZED),
                        ("attributes", _ATTRIBUTES),
                    ]
                )
            ),
        ),
        (
            "relations",
            pa.list_(
                pa.struct(
                    [
                        ("id", pa.string()),
                        ("type", pa.string()),
                        ("arg1_id", pa.string()),
                        ("arg2_id", pa.string()),
                        ("level", pa.string()),
                        ("normalized", _NORMALIZED),
                        ("attributes", _ATTRIBUTES),
                    ]
                )
            ),
        ),
        (
            "sentences",
            pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()), ("tokens", _SPANS)])),
        ),
        ("attributes", _ATTRIBUTES),
    ]
)


def _spans_out(spans: Sequence[Span]) -> list[dict[str, int]]:
    return [{"start": start, "end": end} for start, end in spans]


def _spans_in(rows: Sequence[dict[str, int]] | None) -> list[Span]:
    return [(row["start"], row["end"]) for row in rows or ()]


def _norm_out(norms: Sequence[Normalization]) -> list[dict[str, str]]:
    return [{"db": norm.db, "id": norm.id} for norm in norms]


def _norm_in(rows: Sequence[dict[str, str]] | None) -> list[Normalization]:
    return [Normalization(row["db"], row["id"]) for row in rows or ()]


def _attrs_out(attributes: dict[str, str]) -> list[tuple[str, str]]:
    return list(attributes.items())


def _attrs_in(pairs: Sequence[tuple[str, str]] | None) -> dict[str, str]:
    return dict(pairs or ())


def document_to_row(doc: Document) -> dict:
    """A plain-Python row matching :data:`ARROW_SCHEMA`."""
    return {
        "id": doc.id,
        "source": doc.source,
        "split": doc.split,
        "text": doc.text,
        "passages": [
            {"id": p.id, "type": p.type, "text": p.text, "offsets": _spans_out(p.offsets)}
            for p in doc.passages
        ],
        "entities": [
            {
                "id": e.id,
                "type": e.type,
                "text": e.text,
                "offsets": _spans_out(e.offsets),
                "normalized": _norm_out(e.normalized),
                "attributes": _attrs_out(e.attributes),
            }
            for e in doc.entities
        ],
        "relations": [
            {
                "id": r.id,
                "type": r.type,
                "arg1_id": r.arg1_id,
                "arg2_id": r.arg2_id,
                "level": r.level,
                "normalized": _norm_out(r.normalized),
                "attributes": _attrs_out(r.attributes),
            }
            for r in doc.relations
        ],
        "sentences": [
            {"start": s.start, "end": s.end, "tokens": _spans_out(s.tokens)} for s in doc.sentences
        ],
        "attributes": _attrs_out(doc.attributes),
    }


def document_from_row(row: dict) -> Document:
    """Inverse of :func:`document_to_row`."""
    return Document(
        id=row["id"],
        source=row["source"],
        split=row["split"],
        text=row["text"],
        passages=[
            Passage(p["id"], p["type"], p["text"], _spans_in(p["offsets"]))
            for p in row["passages"] or ()
        ],
        entities=[
            Entity(
                id=e["id"],
                type=e["type"],
                text=e["text"],
                offsets=_spans_in(e["offsets"]),
                normalized=_norm_in(e["normalized"]),
                attributes=_attrs_in(e["attributes"]),
            )
            for e in row["entities"] or ()
        ],
        relations=[
            Relation(
                id=r["id"],
                type=r["type"],
                arg1_id=r["arg1_id"],
                arg2_id=r["arg2_id"],
                level=r["level"],
                normalized=_norm_in(r["normalized"]),
                attributes=_attrs_in(r["attributes"]),
            )
            for r in row["relations"] or ()
        ],
        sentences=[
            Sentence(s["start"], s["end"], _spans_in(s["tokens"])) for s in row["sentences"] or ()
        ],
        attributes=_attrs_in(row["attributes"]),
    )


def documents_to_table(docs: Iterable[Document]) -> pa.Table:
    """Documents as an Arrow table with :data:`ARROW_SCHEMA`."""
    return pa.Table.from_pylist([document_to_row(doc) for doc in docs], schema=ARROW_SCHEMA)


def documents_from_table(table: pa.Table) -> list[Document]:
    """Documents from an Arrow table written by :func:`documents_to_table`."""
    missing = set(ARROW_SCHEMA.names) - set(table.schema.names)
    if missing:
        raise ValueError(f"not a documents table: columns {sorted(missing)} are missing")
    return [document_from_row(row) for row in table.select(ARROW_SCHEMA.names).to_pylist()]
