"""PubTator format: reader and writer (NCBI-disease, BC5CDR with CID, BioRED-style relation lines).

A PubTator file is a sequence of blocks separated by blank lines::

    PMID|t|Title
    PMID|a|Abstract
    PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>concept ids[<TAB>extra…]
    PMID<TAB>relation type<TAB>concept id 1<TAB>concept id 2[<TAB>novelty]

Offsets index ``title + " " + abstract``. Concept ids are MeSH ids (``D002945``), prefixed ids
(``OMIM:312080``), ``-1`` for none, or several joined by ``|`` (composite mentions). Relation
lines are document level: their arguments are concepts, so they become ``level="concept"``
relations whose arguments are the CURIEs of annotated entities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.schema import (
    Document,
    DocumentValidationError,
    Entity,
    Normalization,
    Passage,
    Relation,
    validate_document,
)

_TEXT_LINE = re.compile(r"^([^|\t]+)\|([a-z])\|(.*)$")
_ID_SEPARATORS = re.compile(r"[|,;+]")
_NO_ID = {"", "-", "-1"}

#: Knowledge base of a bare (unprefixed) concept id, by entity type (PubTator / BioRED usage).
DB_BY_TYPE = {
    "Gene": "NCBIGene",
    "GeneOrGeneProduct": "NCBIGene",
    "Species": "NCBITaxon",
    "OrganismTaxon": "NCBITaxon",
    "CellLine": "Cellosaurus",
}
DEFAULT_DB = "MESH"


def parse_concept_ids(raw: str, entity_type: str) -> list[Normalization]:
    """``"D001943|D010051"`` → two MeSH normalizations; ``"-1"`` → none; ``"OMIM:1"`` → OMIM."""
    norms = []
    for piece in _ID_SEPARATORS.split(raw.strip()):
        part = piece.strip()
        if part in _NO_ID:
            continue
        if ":" in part:
            db, _, ident = part.partition(":")
            norms.append(Normalization(db.upper(), ident))
        elif part.startswith("rs") and part[2:].isdigit():
            norms.append(Normalization("dbSNP", part))
        else:
            norms.append(Normalization(DB_BY_TYPE.get(entity_type, DEFAULT_DB), part))
    return norms


@dataclass
class _Block:
    """The lines of one document while it is being read."""

    pmid: str
    first_line: int
    title: str | None = None
    abstract: str | None = None
    annotations: list[tuple[int, list[str]]] = field(default_factory=list)
    relations: list[tuple[int, list[str]]] = field(default_factory=list)


def _blocks(text: str, path: Path) -> Iterable[_Block]:
    block: _Block | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if block is not None:
                yield block
                block = None
            continue
        match = _TEXT_LINE.match(line)
        if match:
            pmid, kind, content = match.groups()
            if block is not None and pmid != block.pmid:
                # A new document without a blank line in between.
                yield block
                block = None
            if block is None:
                block = _Block(pmid=pmid, first_line=number)
            if kind == "t":
                if block.title is not None:
                    raise CorpusFormatError(path, f"second title for document {pmid}", line=number)
                block.title = content
            elif kind == "a":
                if block.abstract is not None:
                    raise CorpusFormatError(
                        path, f"second abstract for document {pmid}", line=number
                    )
                block.abstract = content
            else:
                raise CorpusFormatError(path, f"unknown text line kind {kind!r}", line=number)
            continue
        fields = line.split("\t")
        if block is None:
            raise CorpusFormatError(path, "annotation line before any title line", line=number)
        if fields[0] != block.pmid:
            raise CorpusFormatError(
                path,
                f"line belongs to document {fields[0]!r} inside document {block.pmid!r}",
                line=number,
            )
        if len(fields) >= 5 and fields[1].isdigit() and fields[2].isdigit():
            block.annotations.append((number, fields))
        elif len(fields) in (4, 5) and not fields[1].lstrip("-").isdigit():
            block.relations.append((number, fields))
        else:
            raise CorpusFormatError(
                path,
                f"expected an annotation (6 columns: PMID, start, end, mention, type, id) or a relation "
                f"(4 columns: PMID, type, id1, id2); got {len(fields)} column(s): {line[:80]!r}",
                line=number,
            )
    if block is not None:
        yield block


def _document(
    block: _Block, path: Path, source: str, split: str, corrections: list[SkippedRecord]
) -> Document:
    if block.title is None:
        raise CorpusFormatError(
            path, f"document {block.pmid} has no title line", line=block.first_line
        )
    title = block.title
    abstract = block.abstract or ""
    passages = [Passage(f"{block.pmid}-title", "title", title, [(0, len(title))])]
    text = title
    if abstract:
        text = f"{title} {abstract}"
        passages.append(
            Passage(f"{block.pmid}-abstract", "abstract", abstract, [(len(title) + 1, len(text))])
        )

    entities: list[Entity] = []
    curie_by_raw: dict[str, str] = {}
    for index, (number, fields) in enumerate(block.annotations, start=1):
        start, end, mention, etype = int(fields[1]), int(fields[2]), fields[3], fields[4]
        raw_id = fields[5] if len(fields) > 5 else ""
        if not 0 <= start < end <= len(text):
            raise CorpusFormatError(
                path,
                f"offsets [{start}, {end}) of {mention!r} are outside the text of document "
                f"{block.pmid} (length {len(text)})",
                line=number,
            )
        if text[start:end] != mention and text[start:end] == mention.strip():
            corrections.append(
                SkippedRecord(
                    str(path),
                    f"{block.pmid} line {number}",
                    f"mention {mention!r} has surrounding whitespace outside its offsets; "
                    f"kept as the text at [{start}, {end})",
                )
            )
            mention = text[start:end]
        if text[start:end] != mention:
            raise CorpusFormatError(
                path,
                f"mention {mention!r} differs from the text at [{start}, {end}): {text[start:end]!r}",
                line=number,
            )
        norms = parse_concept_ids(raw_id, etype)
        attributes = {"concept_id": raw_id} if raw_id else {}
        if len(fields) > 6:
            attributes["extra"] = "\t".join(fields[6:])
        for part, norm in zip(
            [p.strip() for p in _ID_SEPARATORS.split(raw_id) if p.strip() not in _NO_ID],
            norms,
            strict=True,
        ):
            curie_by_raw.setdefault(part, norm.curie)
            curie_by_raw.setdefault(norm.id, norm.curie)
        entities.append(Entity(f"T{index}", etype, mention, [(start, end)], norms, attributes))

    relations: list[Relation] = []
    for index, (number, fields) in enumerate(block.relations):
        rtype, raw1, raw2 = fields[1], fields[2], fields[3]
        args = []
        for raw in (raw1, raw2):
            curie = curie_by_raw.get(raw)
            if curie is None:
                raise CorpusFormatError(
                    path,
                    f"relation {rtype} refers to concept {raw!r}, which no entity of document "
                    f"{block.pmid} is normalized to",
                    line=number,
                )
            args.append(curie)
        attributes = {"novelty": fields[4]} if len(fields) > 4 else {}
        relations.append(Relation(f"R{index}", rtype, args[0], args[1], "concept", [], attributes))

    doc = Document(block.pmid, source, split, text, passages, entities, relations)
    try:
        return validate_document(doc)
    except DocumentValidationError as exc:
        raise CorpusFormatError(path, str(exc), line=block.first_line) from None


def _same_content(a: Document, b: Document) -> bool:
    return a.text == b.text and a.entities == b.entities and a.relations == b.relations


def read_pubtator(path: str | Path, *, source: str, split: str) -> ReadResult:
    """Read a PubTator file into documents.

    A document id that appears a second time (NCBI-disease's train file repeats PMID 8528200) is
    skipped and reported in ``ReadResult.skipped``; the first occurrence is kept.

    Raises:
        CorpusFormatError: malformed lines, offsets outside the text, a mention that differs from
            the text, a relation to a concept no entity carries, an empty or non-UTF-8 file.
    """
    path = Path(path)
    text = read_text_file(path)
    result = ReadResult()
    kept: dict[str, Document] = {}
    for block in _blocks(text, path):
        doc = _document(block, path, source, split, result.corrections)
        first = kept.get(doc.id)
        if first is not None:
            same = "identical to" if _same_content(first, doc) else "differs from"
            result.skipped.append(
                SkippedRecord(
                    str(path),
                    f"{doc.id} (line {block.first_line})",
                    f"duplicate document id; {same} the first occurrence, which is kept",
                )
            )
            continue
        kept[doc.id] = doc
        result.documents.append(doc)
    if not result.documents:
        raise CorpusFormatError(path, "no document found")
    return result


def _concept_string(entity: Entity) -> str:
    if "concept_id" in entity.attributes:
        return entity.attributes["concept_id"]
    if not entity.normalized:
        return "-1"
    return "|".join(
        n.id if n.db == DB_BY_TYPE.get(entity.type, DEFAULT_DB) else n.curie
        for n in entity.normalized
    )


def _raw_concept(curie: str) -> str:
    db, _, ident = curie.partition(":")
    return ident if db in {DEFAULT_DB, *DB_BY_TYPE.values()} else curie


def format_pubtator(docs: Iterable[Document]) -> str:
    """Documents as PubTator text (the inverse of :func:`read_pubtator` for PubTator-born documents).

    The first passage is written as the title and the rest of the text as the abstract, so any
    document whose text is ``title + " " + abstract`` keeps its offsets. Discontinuous entities
    are written over their covering extent; concept-level relations as relation lines;
    mention-level relations have no PubTator form and are left out.
    """
    blocks = []
    for doc in docs:
        title_end = doc.passages[0].offsets[0][1] if doc.passages else len(doc.text)
        title, rest = doc.text[:title_end], doc.text[title_end + 1 :]
        if "\n" in doc.text:
            raise ValueError(f"document {doc.id}: PubTator cannot hold a text with line breaks")
        lines = [f"{doc.id}|t|{title}", f"{doc.id}|a|{rest}"]
        for entity in sorted(doc.entities, key=lambda e: (e.start, e.end)):
            start, end = entity.start, entity.end
            row = [
                doc.id,
                str(start),
                str(end),
                doc.text[start:end],
                entity.type,
                _concept_string(entity),
            ]
            if "extra" in entity.attributes:
                row.append(entity.attributes["extra"])
            lines.append("\t".join(row))
        for relation in doc.relations:
            if relation.level != "concept":
                continue
            row = [
                doc.id,
                relation.type,
                _raw_concept(relation.arg1_id),
                _raw_concept(relation.arg2_id),
            ]
            if "novelty" in relation.attributes:
                row.append(relation.attributes["novelty"])
            lines.append("\t".join(row))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + "\n"
