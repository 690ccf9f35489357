"""Dual-model consistency review (DMCR): accept what two systems agree on, queue the rest for a person.

METHODS.md (A) compares the RAG-ICL model's and the DFPO model's entities document by document.
:func:`review_consistency` does that for any two systems: entities are the same when their
offsets and type are the same. What both found is accepted; every other entity becomes a row of
the review queue, marked ``only_a``, ``only_b`` or ``type_differs`` (both found the span, with
different types). :func:`queue_rows` flattens the queue for a CSV dataset and
:func:`render_review_html` draws the disagreements as a small self-contained HTML page.

Agreement of a document is ``|A ∩ B| / |A ∪ B|`` over (offsets, type) pairs, 1.0 when both
systems found nothing; the overall figures are the same ratio over all entities (micro) and the
share of documents in full agreement.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bioie_kedro.schema import Document, Entity, Span

ReviewStatus = Literal["only_a", "only_b", "type_differs"]

_EntityKey = tuple[tuple[Span, ...], str]


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One disagreement: a span one system found and the other did not, or typed differently.

    ``type_a`` / ``type_b`` are the types each system gave the span (``None`` where it did not
    find it; several types of one system joined by ``", "``); ``found_by`` names the system(s)
    that found the span, joined by ``"+"``. ``offsets`` are the entity's spans (several for a
    discontinuous entity); ``start`` / ``end`` its extent and ``text`` the document text there.
    """

    document_id: str
    start: int
    end: int
    text: str
    status: ReviewStatus
    found_by: str
    type_a: str | None
    type_b: str | None
    offsets: tuple[Span, ...] = ()

    @property
    def type(self) -> str:
        """The type in question: the finding system's, or ``"<type a> / <type b>"``."""
        if self.status == "only_a":
            return self.type_a or ""
        if self.status == "only_b":
            return self.type_b or ""
        return f"{self.type_a} / {self.type_b}"


@dataclass(frozen=True, slots=True)
class DocumentAgreement:
    """Entity counts of one document: each system's, the agreed ones and their union."""

    document_id: str
    entities_a: int
    entities_b: int
    agreed: int
    union: int

    @property
    def agreement(self) -> float:
        """``agreed / union``; 1.0 when neither system found an entity."""
        return self.agreed / self.union if self.union else 1.0

    @property
    def full(self) -> bool:
        return self.agreed == self.union


@dataclass
class ConsistencyReview:
    """The outcome of :func:`review_consistency`.

    Attributes:
        names: display names of systems A and B.
        documents: per-document counts, in the order of system A.
        accepted: a copy of every document (system A's) whose entities are the agreed ones only;
            relations are dropped, since the review covers entities.
        queue: the disagreements, by document then position.
    """

    names: tuple[str, str]
    documents: list[DocumentAgreement] = field(default_factory=list)
    accepted: list[Document] = field(default_factory=list)
    queue: list[ReviewItem] = field(default_factory=list)

    @property
    def micro_agreement(self) -> float:
        """Agreed entities over the union of both systems' entities, over all documents."""
        union = sum(d.union for d in self.documents)
        return sum(d.agreed for d in self.documents) / union if union else 1.0

    @property
    def full_agreement_share(self) -> float:
        """Share of documents on which both systems found exactly the same entities."""
        if not self.documents:
            return 1.0
        return sum(d.full for d in self.documents) / len(self.documents)

    def summary(self) -> dict[str, Any]:
        """Counts and rates, JSON-ready."""
        by_status = {status: 0 for status in ("only_a", "only_b", "type_differs")}
        for item in self.queue:
            by_status[item.status] += 1
        return {
            "system_a": self.names[0],
            "system_b": self.names[1],
            "documents": len(self.documents),
            "documents_in_full_agreement": sum(d.full for d in self.documents),
            "full_agreement_share": self.full_agreement_share,
            "entities_a": sum(d.entities_a for d in self.documents),
            "entities_b": sum(d.entities_b for d in self.documents),
            "entities_agreed": sum(d.agreed for d in self.documents),
            "entities_union": sum(d.union for d in self.documents),
            "micro_agreement": self.micro_agreement,
            "queue": len(self.queue),
            "queue_by_status": by_status,
        }


def _by_id(docs: Sequence[Document], name: str) -> dict[str, Document]:
    out: dict[str, Document] = {}
    for doc in docs:
        if doc.id in out:
            raise ValueError(f"document {doc.id!r} appears twice in system {name!r}")
        out[doc.id] = doc
    return out


def _entity_key(entity: Entity) -> _EntityKey:
    # Offsets may arrive as lists (e.g. from JSON); tuples make the key hashable.
    return (tuple((start, end) for start, end in entity.offsets), entity.type)


def _keys_by_span(keys: set[_EntityKey]) -> dict[tuple[Span, ...], set[str]]:
    out: dict[tuple[Span, ...], set[str]] = defaultdict(set)
    for offsets, etype in keys:
        out[offsets].add(etype)
    return out


def _review_document(
    doc: Document, keys_a: set[_EntityKey], keys_b: set[_EntityKey], names: tuple[str, str]
) -> list[ReviewItem]:
    """The queue rows of one document: per span, the types only one system gave it."""
    agreed = keys_a & keys_b
    spans_a, spans_b = _keys_by_span(keys_a - agreed), _keys_by_span(keys_b - agreed)
    items = []
    for offsets in sorted(spans_a.keys() | spans_b.keys()):
        start, end = offsets[0][0], offsets[-1][1]
        text = doc.span_text(offsets)
        types_a, types_b = sorted(spans_a.get(offsets, ())), sorted(spans_b.get(offsets, ()))
        if types_a and types_b:
            items.append(
                ReviewItem(
                    doc.id,
                    start,
                    end,
                    text,
                    "type_differs",
                    f"{names[0]}+{names[1]}",
                    ", ".join(types_a),
                    ", ".join(types_b),
                    offsets,
                )
            )
            continue
        for etype in types_a:
            items.append(
                ReviewItem(doc.id, start, end, text, "only_a", names[0], etype, None, offsets)
            )
        for etype in types_b:
            items.append(
                ReviewItem(doc.id, start, end, text, "only_b", names[1], None, etype, offsets)
            )
    return items


def review_consistency(
    system_a: Sequence[Document],
    system_b: Sequence[Document],
    *,
    names: tuple[str, str] = ("a", "b"),
) -> ConsistencyReview:
    """Compare two systems' entities document by document; see the module docstring.

    Raises:
        ValueError: a document id in one system and not the other, twice in one system, or with
            a different text in the two systems (the message names the id and the systems).
    """
    docs_a, docs_b = _by_id(system_a, names[0]), _by_id(system_b, names[1])
    for doc_id in docs_a.keys() - docs_b.keys():
        raise ValueError(
            f"document {doc_id!r} is in system {names[0]!r} but not in system {names[1]!r}"
        )
    for doc_id in docs_b.keys() - docs_a.keys():
        raise ValueError(
            f"document {doc_id!r} is in system {names[1]!r} but not in system {names[0]!r}"
        )

    review = ConsistencyReview(names=names)
    for doc_a in system_a:
        doc_b = docs_b[doc_a.id]
        if doc_a.text != doc_b.text:
            raise ValueError(
                f"document {doc_a.id!r} has a different text in system {names[0]!r} and "
                f"system {names[1]!r}"
            )
        keys_a = {_entity_key(e) for e in doc_a.entities}
        keys_b = {_entity_key(e) for e in doc_b.entities}
        agreed = keys_a & keys_b
        review.documents.append(
            DocumentAgreement(doc_a.id, len(keys_a), len(keys_b), len(agreed), len(keys_a | keys_b))
        )
        kept: list[Entity] = []
        seen: set[_EntityKey] = set()
        for entity in sorted(doc_a.entities, key=lambda e: (e.start, e.end)):
            key = _entity_key(entity)
            if key in agreed and key not in seen:
                seen.add(key)
                kept.append(entity)
        review.accepted.append(
            replace(
                doc_a,
                passages=list(doc_a.passages),
                entities=kept,
                relations=[],
                sentences=list(doc_a.sentences),
                attributes=dict(doc_a.attributes),
            )
        )
        review.queue.extend(_review_document(doc_a, keys_a, keys_b, names))
    return review


#: Columns of :func:`queue_rows`, in order.
QUEUE_COLUMNS = (
    "document_id",
    "start",
    "end",
    "text",
    "status",
    "found_by",
    "type",
    "type_a",
    "type_b",
)


def queue_rows(review: ConsistencyReview) -> list[dict[str, Any]]:
    """The review queue as flat rows (:data:`QUEUE_COLUMNS`; ``""`` for a missing type)."""
    return [
        {
            "document_id": item.document_id,
            "start": item.start,
            "end": item.end,
            "text": item.text,
            "status": item.status,
            "found_by": item.found_by,
            "type": item.type,
            "type_a": item.type_a or "",
            "type_b": item.type_b or "",
        }
        for item in review.queue
    ]


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222; }
.text { white-space: pre-wrap; line-height: 1.8; border: 1px solid #ddd; padding: 0.8em; }
.agree { background: #b8e6b8; }
.a { background: #bcd4ff; }
.b { background: #ffd59e; }
.a.b { background: linear-gradient(to bottom, #bcd4ff 50%, #ffd59e 50%); }
.agree.a, .agree.b { border-bottom: 2px dashed #333; }
.legend span { padding: 0 0.4em; margin-right: 0.6em; }
table { border-collapse: collapse; margin: 0.6em 0 2em; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
"""


def _highlight(text: str, marks: Sequence[tuple[Span, str, str]]) -> str:
    """``text`` as escaped HTML with each ``(span, css class, label)`` highlighted.

    Overlapping marks combine their classes; each highlighted run's tooltip lists the labels of
    the marks covering it.
    """
    edges = sorted({0, len(text)} | {edge for span, _, _ in marks for edge in span})
    pieces = []
    for left, right in zip(edges, edges[1:], strict=False):
        if left >= right:
            continue
        covering = [
            (css, label) for (start, end), css, label in marks if start <= left and right <= end
        ]
        chunk = html.escape(text[left:right])
        if not covering:
            pieces.append(chunk)
            continue
        classes = " ".join(sorted({css for css, _ in covering}))
        tooltip = html.escape("; ".join(dict.fromkeys(label for _, label in covering)), quote=True)
        pieces.append(f'<span class="{classes}" title="{tooltip}">{chunk}</span>')
    return "".join(pieces)


def render_review_html(
    review: ConsistencyReview, docs_by_id: Mapping[str, Document], *, title: str = "DMCR review"
) -> str:
    """A self-contained HTML page (inline CSS, no scripts) of every document with disagreements.

    Spans only system A found are drawn in one colour, spans only B found in another (a span
    both found with different types in both), and agreed spans in a third; below each text, a
    table of its queue rows. Every piece of text is escaped with :func:`html.escape`.

    Raises:
        ValueError: a document of the queue is missing from ``docs_by_id``.
    """
    name_a, name_b = (html.escape(name) for name in review.names)
    accepted = {doc.id: doc for doc in review.accepted}
    agreement = {d.document_id: d for d in review.documents}
    queue_by_doc: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in review.queue:
        queue_by_doc[item.document_id].append(item)

    summary = review.summary()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{summary['documents']} documents, {summary['documents_in_full_agreement']} in full "
        f"agreement; entity agreement {summary['micro_agreement']:.3f} "
        f"({summary['entities_agreed']} of {summary['entities_union']}); "
        f"{summary['queue']} queue rows.</p>",
        f'<p class="legend"><span class="agree">agreed</span><span class="a">only {name_a}</span>'
        f'<span class="b">only {name_b}</span>'
        f'<span class="a b">both, different type or extent</span></p>',
    ]
    if not queue_by_doc:
        parts.append("<p>No disagreements.</p>")
    for doc_id, items in queue_by_doc.items():
        doc = docs_by_id.get(doc_id)
        if doc is None:
            raise ValueError(f"document {doc_id!r} of the review queue is not in docs_by_id")
        marks: list[tuple[Span, str, str]] = []
        for entity in accepted[doc_id].entities:
            marks.extend((span, "agree", f"agreed: {entity.type}") for span in entity.offsets)
        for item in items:
            if item.type_a is not None:
                marks.extend(
                    (span, "a", f"{review.names[0]}: {item.type_a}") for span in item.offsets
                )
            if item.type_b is not None:
                marks.extend(
                    (span, "b", f"{review.names[1]}: {item.type_b}") for span in item.offsets
                )
        counts = agreement[doc_id]
        rows = "".join(
            f"<tr><td>{item.start}</td><td>{item.end}</td><td>{html.escape(item.text)}</td>"
            f"<td>{item.status}</td><td>{html.escape(item.type_a or '')}</td>"
            f"<td>{html.escape(item.type_b or '')}</td></tr>"
            for item in items
        )
        parts.extend(
            [
                f"<h2>{html.escape(doc_id)}</h2>",
                f"<p>agreement {counts.agreement:.3f} ({counts.agreed} of {counts.union})</p>",
                f'<div class="text">{_highlight(doc.text, marks)}</div>',
                f"<table><tr><th>start</th><th>end</th><th>text</th><th>status</th>"
                f"<th>{name_a}</th><th>{name_b}</th></tr>{rows}</table>",
            ]
        )
    parts.append("</body></html>")
    return "\n".join(parts)
