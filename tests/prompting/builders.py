"""Small documents for the prompting tests: BC5CDR-like (concept-level CID) and DDI-like."""

from __future__ import annotations

from bioie_kedro.schema import Document, Entity, Normalization, Relation, validate_document

CDR_TEXT = (
    "Cisplatin induced nephrotoxicity in rats. Cisplatin and aspirin caused renal failure; "
    "cisplatin-induced nephrotoxicity was reduced."
)
DDI_TEXT = "Aspirin increases the effect of warfarin. Warfarin levels fall with rifampin."


def nth_span(text: str, mention: str, nth: int = 0) -> tuple[int, int]:
    """The span of the ``nth`` occurrence (0-based) of ``mention`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(mention, start + 1)
    return (start, start + len(mention))


def entity(
    text: str,
    entity_id: str,
    entity_type: str,
    mention: str,
    nth: int = 0,
    concept: str | None = None,
) -> Entity:
    span = nth_span(text, mention, nth)
    normalized = [Normalization(*concept.split(":", 1))] if concept else []
    return Entity(entity_id, entity_type, mention, [span], normalized)


def cdr_doc(doc_id: str = "cdr1") -> Document:
    """Chemicals and diseases with repeated mentions, and three concept-level CID relations."""
    t = CDR_TEXT
    entities = [
        entity(t, "T0", "Chemical", "Cisplatin", 0, "MESH:D002945"),
        entity(t, "T1", "Disease", "nephrotoxicity", 0, "MESH:D007674"),
        entity(t, "T2", "Chemical", "Cisplatin", 1, "MESH:D002945"),
        entity(t, "T3", "Chemical", "aspirin", 0, "MESH:D001241"),
        entity(t, "T4", "Disease", "renal failure", 0, "MESH:D051437"),
        entity(t, "T5", "Chemical", "cisplatin", 0, "MESH:D002945"),
        entity(t, "T6", "Disease", "nephrotoxicity", 1, "MESH:D007674"),
    ]
    relations = [
        Relation("R0", "CID", "MESH:D001241", "MESH:D051437", level="concept"),
        Relation("R1", "CID", "MESH:D002945", "MESH:D007674", level="concept"),
        Relation("R2", "CID", "MESH:D002945", "MESH:D051437", level="concept"),
    ]
    return validate_document(
        Document(doc_id, "bc5cdr", "dev", t, entities=entities, relations=relations)
    )


def ddi_doc(doc_id: str = "ddi1") -> Document:
    """Mention-level relations, one of them the negative type ``none``."""
    t = DDI_TEXT
    entities = [
        entity(t, "e0", "drug", "Aspirin"),
        entity(t, "e1", "drug", "warfarin"),
        entity(t, "e2", "drug", "Warfarin"),
        entity(t, "e3", "drug", "rifampin"),
    ]
    relations = [
        Relation("p0", "effect", "e0", "e1"),
        Relation("p1", "mechanism", "e2", "e3"),
        Relation("p2", "none", "e0", "e3"),
    ]
    return validate_document(
        Document(doc_id, "ddi", "test", t, entities=entities, relations=relations)
    )


def empty_doc(doc_id: str = "empty1") -> Document:
    """A document without any annotation."""
    return validate_document(Document(doc_id, "bc5cdr", "dev", "Nothing to see here."))


CDR_NER_GOLD = {
    "Chemical": ["Cisplatin", "Cisplatin", "aspirin", "cisplatin"],
    "Disease": ["nephrotoxicity", "renal failure", "nephrotoxicity"],
}
CDR_RE_GOLD = {
    "CID": [
        ["Cisplatin", "nephrotoxicity"],
        ["Cisplatin", "renal failure"],
        ["aspirin", "renal failure"],
    ]
}
