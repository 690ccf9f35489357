"""Read BioC corpora, XML or JSON (BC5CDR, PubTator3 exports), into schema documents.

A PubTator3 bulk archive (``BioCXML.N.tar.gz``, a tar of BioC XML files) is streamed member by
member and parsed incrementally (:func:`iter_bioc_xml_archive`), never unpacked.

Both formats are first turned into the same plain structure (the shape of BioC JSON), then
converted by one function, so XML and JSON follow exactly the same conventions:

* ``Document.text`` holds the passages at their BioC ``offset``; gaps are filled with spaces
  (BC5CDR: ``title + " " + abstract``). Passage ids are ``{document id}-{type}``, with ``-2``,
  ``-3``… when a passage type repeats.
* One entity per ``annotation``: its ``location`` spans, sorted; its text is the document text at
  those spans joined by :data:`~bioie_kedro.schema.SPAN_TEXT_SEPARATOR` and must agree with the
  annotation's own ``text``. Numeric annotation ids become ``T{id}``.
* Concept ids come from the ``MESH`` infon (BC5CDR; ``-1`` = none, ``|`` separates several) or the
  ``identifier`` infon (PubTator3; see :func:`pubtator_normalizations`). The raw value is kept in
  ``Entity.attributes["concept_id"]``, every other string infon under its own key.
* BC5CDR ``IndividualMention`` annotations (the parts of a composite mention such as "ocular and
  auditory toxicity") are left out, as in the PubTator release of the corpus; each is reported as a
  :class:`~bioie_kedro.corpora.base.SkippedRecord`.
* Relations: BC5CDR ``CID`` relations and PubTator3 relations (``role1``/``role2``) are
  concept-level, their arguments the CURIEs of concepts of the document; a plain BioC relation with
  two ``node`` elements pointing at annotations is mention-level.

Every document is checked with :func:`~bioie_kedro.schema.validate_document`; any problem raises a
:class:`~bioie_kedro.corpora.base.CorpusFormatError` naming the file, the document and the
annotation or relation at fault.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, XMLPullParser
from xml.parsers.expat import ErrorString

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.schema import (
    SPAN_TEXT_SEPARATOR,
    Document,
    DocumentValidationError,
    Entity,
    Normalization,
    Passage,
    Relation,
    Span,
    validate_document,
)

#: Concept-id values that mean "not normalized" (BC5CDR uses ``-1``, PubTator3 ``-``).
NO_CONCEPT = frozenset({"", "-", "-1"})

#: Knowledge base of a bare PubTator3 identifier, by entity type.
PUBTATOR_TYPE_DB = {
    "Gene": "NCBIGene",
    "Species": "NCBITaxon",
    "Chemical": "MESH",
    "Disease": "MESH",
    "CellLine": "Cellosaurus",
}

#: PubTator3 / tmVar variant types: bare ids are dbSNP ``rs…`` numbers or HGVS strings.
VARIANT_TYPES = frozenset({"Variant", "SequenceVariant", "DNAMutation", "ProteinMutation", "SNP"})

INDIVIDUAL_MENTION_REASON = (
    "IndividualMention of a composite mention (PubTator keeps only the composite)"
)

# Builds the error for a problem in the document being converted (names file and document).
_Fail = Callable[[str], CorpusFormatError]

# PubTator3 document fields kept as document attributes (besides the document infons).
_DOCUMENT_FIELDS = ("pmid", "pmcid", "journal", "date")
_XML_CHUNK_CHARS = 1 << 16


# --------------------------------------------------------------------------------------------
# Public readers
# --------------------------------------------------------------------------------------------


def read_bioc_xml(path: str | Path, *, source: str, split: str) -> ReadResult:
    """Read one BioC XML file (a ``<collection>`` of ``<document>`` elements).

    Args:
        path: the XML file, e.g. ``CDR_TrainingSet.BioC.xml``.
        source: corpus name put on every document (``"bc5cdr"``).
        split: split name put on every document (``"train"``).

    Returns:
        The documents in file order, and the annotations left out on purpose.

    Raises:
        CorpusFormatError: the file is missing, empty, not UTF-8 or not well-formed XML (with the
            line), or a document breaks the conventions of this module (naming the document and
            the annotation or relation).
    """
    path = Path(path)
    text = read_text_file(path)
    collector = _Collector(source=source, split=split)
    for raw in _iter_xml_documents(text, path):
        collector.add(raw, path)
    if not collector.result.documents and not collector.result.skipped:
        raise CorpusFormatError(path, "no <document> element found; is this a BioC XML file?")
    return collector.result


def read_bioc_json(path: str | Path, *, source: str, split: str) -> ReadResult:
    """Read BioC JSON: a file, or every ``*.json`` file of a directory in name order.

    A file holds one BioC document, a list of documents, or a collection
    ``{"documents": [...]}``. PubTator3 API exports (``id`` falling back to ``pmid``) are read
    with their ``identifier`` normalizations and concept-level relations.

    Args:
        path: a ``.json`` file or a directory of them.
        source: corpus name put on every document.
        split: split name put on every document.

    Raises:
        CorpusFormatError: a file is empty, not UTF-8 or not valid JSON (with the line), has no
            BioC document shape, or a document breaks the conventions of this module.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted((p for p in path.glob("*.json") if p.is_file()), key=lambda p: p.name)
        if not files:
            raise CorpusFormatError(path, "directory holds no *.json file")
    else:
        files = [path]
    collector = _Collector(source=source, split=split)
    for file in files:
        text = read_text_file(file)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(
                file, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
            ) from None
        for raw in _json_documents(data, file):
            collector.add(raw, file)
    return collector.result


def iter_bioc_xml_archive(
    path: str | Path, *, source: str, split: str, suffixes: Sequence[str] = (".xml",)
) -> Iterator[tuple[Document, list[SkippedRecord]]]:
    """Stream the documents of a tar archive of BioC XML files (PubTator3's ``BioCXML.N.tar.gz``).

    The archive is read member by member in stream mode (``tarfile`` ``r|*``: any compression, no
    seeking), each XML member parsed incrementally, so neither the archive nor a member is ever
    unpacked or held in memory whole. Members whose names do not end with one of ``suffixes``
    (case-insensitive) are passed over. Documents are yielded in archive order with the
    annotations left out on purpose; a repeated id is not detected here (see
    :func:`read_bioc_xml_archive`).

    Raises:
        CorpusFormatError: the archive is missing or not a tar archive, or a member is malformed
            (naming ``<archive>::<member>`` and the line).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusFormatError(path, "file not found")
    wanted = tuple(suffix.lower() for suffix in suffixes)
    try:
        archive = tarfile.open(path, mode="r|*")
    except tarfile.TarError as exc:
        raise CorpusFormatError(path, f"not a tar archive: {exc}") from None
    with archive:
        for member in archive:
            if not member.isfile() or not member.name.lower().endswith(wanted):
                continue
            handle = archive.extractfile(member)
            if handle is None:  # pragma: no cover - isfile() members always have data
                continue
            where = Path(f"{path}::{member.name}")
            chunks = iter(lambda: handle.read(_XML_CHUNK_CHARS), b"")
            for raw in _iter_xml_chunks(chunks, where):
                yield bioc_document(raw, path=where, source=source, split=split)


def read_bioc_xml_archive(
    path: str | Path,
    *,
    source: str,
    split: str,
    max_documents: int | None = None,
    suffixes: Sequence[str] = (".xml",),
) -> ReadResult:
    """Read the documents of a BioC XML tar archive (see :func:`iter_bioc_xml_archive`), stopping
    after ``max_documents`` (the archive is not read further). A repeated document id is skipped
    and reported, the first occurrence kept."""
    if max_documents is not None and max_documents < 1:
        raise ValueError("max_documents must be at least 1")
    collector = _Collector(source=source, split=split)
    for doc, skipped in iter_bioc_xml_archive(path, source=source, split=split, suffixes=suffixes):
        collector.add_document(doc, skipped, Path(str(path)))
        if max_documents is not None and len(collector.result.documents) >= max_documents:
            break
    return collector.result


# --------------------------------------------------------------------------------------------
# PubTator3 concept identifiers
# --------------------------------------------------------------------------------------------


def pubtator_normalizations(identifier: str, entity_type: str) -> list[Normalization]:
    """Concepts of a PubTator3 ``identifier`` infon.

    ``"MESH:D000001"`` gives ``MESH``/``D000001``; a bare id takes its knowledge base from the
    entity type (:data:`PUBTATOR_TYPE_DB`; variants: ``dbSNP`` for ``rs…``, else ``HGVS``;
    otherwise the type name upper-cased). Several ids are separated by ``;``, ``,`` or ``|``;
    ``-`` or an empty string means none. A tmVar identifier (``tmVar:p|SUB|S|161|A;HGVS:p.S161A;
    RS#:…;…``) is one variant: its ``RS#`` and ``HGVS`` fields give ``dbSNP`` and ``HGVS`` concepts,
    and without them the tmVar key itself is the concept (``tmVar``/``p|SUB|S|161|A``).
    """
    identifier = identifier.strip()
    if identifier.startswith("tmVar:"):
        return _tmvar_normalizations(identifier)
    norms: list[Normalization] = []
    for raw_part in re.split(r"[;,|]", identifier):
        part = raw_part.strip()
        if part in NO_CONCEPT:
            continue
        db, colon, local = part.partition(":")
        if colon and db and local:
            norm = Normalization(db, local)
        else:
            norm = Normalization(_default_db(entity_type, part), part)
        if norm not in norms:
            norms.append(norm)
    return norms


def _default_db(entity_type: str, concept: str) -> str:
    if entity_type in VARIANT_TYPES:
        return "dbSNP" if concept.startswith("rs") else "HGVS"
    return PUBTATOR_TYPE_DB.get(entity_type, entity_type.upper())


def _tmvar_normalizations(identifier: str) -> list[Normalization]:
    key_part, *fields = identifier.split(";")
    values: dict[str, str] = {}
    for field_ in fields:
        key, _, value = field_.partition(":")
        values[key.strip()] = value.strip()
    norms: list[Normalization] = []
    rs_number = values.get("RS#", "")
    if rs_number:
        norms.append(
            Normalization("dbSNP", rs_number if rs_number.startswith("rs") else f"rs{rs_number}")
        )
    hgvs = values.get("HGVS", "")
    if hgvs:
        norms.append(Normalization("HGVS", hgvs))
    if not norms:
        norms.append(Normalization("tmVar", key_part.removeprefix("tmVar:")))
    return norms


def _mesh_normalizations(value: str) -> list[Normalization]:
    parts = (part.strip() for part in value.split("|"))
    return [Normalization("MESH", part) for part in parts if part not in NO_CONCEPT]


# --------------------------------------------------------------------------------------------
# Input formats -> plain BioC-JSON-shaped dicts
# --------------------------------------------------------------------------------------------


def _iter_xml_documents(text: str, path: Path) -> Iterator[dict[str, Any]]:
    """The ``<document>`` elements of a BioC XML text, streamed, as BioC-JSON-shaped dicts."""
    chunks = (
        text[start : start + _XML_CHUNK_CHARS] for start in range(0, len(text), _XML_CHUNK_CHARS)
    )
    yield from _iter_xml_chunks(chunks, path)


def _iter_xml_chunks(chunks: Iterable[str | bytes], path: Path) -> Iterator[dict[str, Any]]:
    """The ``<document>`` elements of BioC XML fed in pieces (text, or bytes in the encoding the
    XML declaration names), each yielded as soon as it is complete and then cleared."""
    parser = XMLPullParser(events=("end",))
    try:
        for chunk in chunks:
            parser.feed(chunk)
            for _, element in parser.read_events():
                if element.tag == "document":
                    yield _xml_document(element)
                    element.clear()
        parser.close()
        for _, element in parser.read_events():
            if element.tag == "document":
                yield _xml_document(element)
    except ParseError as exc:
        line, column = exc.position
        raise CorpusFormatError(
            path, f"malformed XML: {ErrorString(exc.code)} (column {column})", line=line
        ) from None


def _xml_infons(element: Element) -> dict[str, str]:
    return {infon.get("key", ""): infon.text or "" for infon in element.findall("infon")}


def _xml_relation(element: Element) -> dict[str, Any]:
    return {
        "id": element.get("id"),
        "infons": _xml_infons(element),
        "nodes": [
            {"refid": node.get("refid"), "role": node.get("role")}
            for node in element.findall("node")
        ],
    }


def _xml_document(element: Element) -> dict[str, Any]:
    passages = []
    for passage in element.findall("passage"):
        passages.append(
            {
                "infons": _xml_infons(passage),
                "offset": passage.findtext("offset"),
                "text": passage.findtext("text"),
                "sentences": passage.findall("sentence"),
                "annotations": [
                    {
                        "id": annotation.get("id"),
                        "infons": _xml_infons(annotation),
                        "locations": [
                            {"offset": loc.get("offset"), "length": loc.get("length")}
                            for loc in annotation.findall("location")
                        ],
                        "text": annotation.findtext("text"),
                    }
                    for annotation in passage.findall("annotation")
                ],
                "relations": [_xml_relation(relation) for relation in passage.findall("relation")],
            }
        )
    return {
        "id": element.findtext("id"),
        "infons": _xml_infons(element),
        "passages": passages,
        "relations": [_xml_relation(relation) for relation in element.findall("relation")],
    }


def _json_documents(data: Any, path: Path) -> list[Mapping[str, Any]]:
    """The BioC documents of a parsed JSON file: one document, a list, or a collection."""
    if isinstance(data, Mapping) and "documents" in data:
        documents = data["documents"]
    elif isinstance(data, Mapping) and "passages" in data:
        documents = [data]
    else:
        documents = data
    if not isinstance(documents, list) or not all(isinstance(doc, Mapping) for doc in documents):
        raise CorpusFormatError(
            path,
            'expected a BioC document, a list of documents or a collection {"documents": [...]}',
        )
    if not documents:
        raise CorpusFormatError(path, "the file holds no BioC document")
    return documents


# --------------------------------------------------------------------------------------------
# Plain BioC document -> schema Document
# --------------------------------------------------------------------------------------------


class _Collector:
    """Accumulates converted documents. A document id met again is skipped (the first occurrence
    is kept) and reported, saying whether the repeat is identical, as the PubTator reader does."""

    def __init__(self, *, source: str, split: str) -> None:
        self.source = source
        self.split = split
        self.result = ReadResult()
        self._seen: dict[str, tuple[Document, Path]] = {}

    def add(self, raw: Mapping[str, Any], path: Path) -> None:
        doc, skipped = bioc_document(raw, path=path, source=self.source, split=self.split)
        self.add_document(doc, skipped, path)

    def add_document(self, doc: Document, skipped: list[SkippedRecord], path: Path) -> None:
        earlier = self._seen.get(doc.id)
        if earlier is not None:
            first, first_path = earlier
            same = "identical to" if first == doc else "differs from"
            self.result.skipped.append(
                SkippedRecord(
                    str(path),
                    doc.id,
                    f"duplicate document id; {same} the first occurrence (in {first_path.name}), "
                    "which is kept",
                )
            )
            return
        self._seen[doc.id] = (doc, path)
        self.result.documents.append(doc)
        self.result.skipped.extend(skipped)


def bioc_document(
    raw: Mapping[str, Any], *, path: str | Path, source: str, split: str
) -> tuple[Document, list[SkippedRecord]]:
    """Convert one BioC document in BioC JSON shape to a validated :class:`Document`.

    Args:
        raw: the document: ``id`` (or ``pmid``), ``infons``, ``passages`` (each with ``infons``,
            ``offset``, ``text``, ``annotations``, ``relations``) and ``relations``.
        path: the file it was read from, for messages.
        source: corpus name.
        split: split name.

    Returns:
        The document and the annotations left out on purpose (BC5CDR individual mentions).

    Raises:
        CorpusFormatError: naming the file, the document and the annotation or relation at fault.
    """
    doc_id = _document_id(raw, path)

    def fail(problem: str) -> CorpusFormatError:
        return CorpusFormatError(path, problem, record=doc_id)

    raw_passages = _list_field(raw, "passages", fail, "document")
    for index, raw_passage in enumerate(raw_passages):
        if not isinstance(raw_passage, Mapping):
            raise fail(f"passage #{index + 1} is not an object")
    passages, text = _passages(raw_passages, doc_id, fail)

    skipped: list[SkippedRecord] = []
    annotations: list[tuple[str | None, Entity]] = []
    for raw_passage in raw_passages:
        for index, annotation in enumerate(
            _list_field(raw_passage, "annotations", fail, "passage")
        ):
            label = f"annotation #{index + 1} of a passage"
            if not isinstance(annotation, Mapping):
                raise fail(f"{label}: not an object")
            raw_id = _optional_str(annotation.get("id"))
            if raw_id:
                label = f"annotation {raw_id!r}"
            infons = _mapping_field(annotation, "infons", fail, label)
            if infons.get("CompositeRole") == "IndividualMention":
                record = f"{doc_id}/{raw_id or f'#{index + 1}'}"
                skipped.append(SkippedRecord(str(path), record, INDIVIDUAL_MENTION_REASON))
                continue
            annotations.append((raw_id, _entity(annotation, infons, text, label, fail)))

    entities = _with_unique_ids(
        [entity for _, entity in annotations], [rid for rid, _ in annotations], "T"
    )
    entity_by_raw_id = _raw_id_map([rid for rid, _ in annotations], entities)

    raw_relations = [
        relation
        for raw_passage in raw_passages
        for relation in _list_field(raw_passage, "relations", fail, "passage")
    ]
    raw_relations += _list_field(raw, "relations", fail, "document")
    relations = [
        _relation(relation, index, entities, entity_by_raw_id, fail)
        for index, relation in enumerate(raw_relations)
    ]
    relations = _with_unique_ids(
        relations, [_optional_str(r.get("id")) for r in raw_relations], "R"
    )

    doc = Document(
        id=doc_id,
        source=source,
        split=split,
        text=text,
        passages=passages,
        entities=entities,
        relations=relations,
        attributes=_document_attributes(raw),
    )
    try:
        validate_document(doc)
    except DocumentValidationError as exc:
        raise fail(f"schema violation: {exc}") from None
    return doc, skipped


def _document_id(raw: Mapping[str, Any], path: str | Path) -> str:
    for key in ("id", "pmid"):
        value = _optional_str(raw.get(key))
        if value:
            return value
    raise CorpusFormatError(path, "a document has no id (neither 'id' nor 'pmid')")


def _document_attributes(raw: Mapping[str, Any]) -> dict[str, str]:
    attributes = _string_items(raw.get("infons") or {})
    for key in _DOCUMENT_FIELDS:
        value = raw.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            attributes.setdefault(key, str(value))
    return attributes


def _passages(
    raw_passages: Sequence[Mapping[str, Any]], doc_id: str, fail: _Fail
) -> tuple[list[Passage], str]:
    """Passages with document-relative spans, and the document text they make up."""
    type_counts: Counter[str] = Counter()
    pieces: list[tuple[int, str]] = []
    passages: list[Passage] = []
    for index, raw_passage in enumerate(raw_passages):
        infons = _mapping_field(raw_passage, "infons", fail, "passage")
        ptype = str(infons.get("type") or "passage").lower()
        label = f"passage #{index + 1} ({ptype})"
        if raw_passage.get("sentences"):
            raise fail(f"{label}: sentence-level BioC passages are not supported")
        offset = _as_int(raw_passage.get("offset"), f"{label} offset", fail)
        if offset < 0:
            raise fail(f"{label}: negative offset {offset}")
        passage_text = raw_passage.get("text") or ""
        if not isinstance(passage_text, str):
            raise fail(f"{label}: text is not a string")
        if not passage_text:
            continue  # a passage without text (e.g. an empty abstract) has no span to keep
        type_counts[ptype] += 1
        count = type_counts[ptype]
        passage_id = f"{doc_id}-{ptype}" if count == 1 else f"{doc_id}-{ptype}-{count}"
        span = (offset, offset + len(passage_text))
        passages.append(Passage(id=passage_id, type=ptype, text=passage_text, offsets=[span]))
        pieces.append((offset, passage_text))
    try:
        text = place_passages(pieces)
    except ValueError as exc:
        raise fail(str(exc)) from None
    return passages, text


def place_passages(pieces: Iterable[tuple[int, str]]) -> str:
    """The document text made of passage texts placed at their start offsets.

    Gaps between passages are filled with spaces. Passages may come in any order; where two
    overlap, they must agree on the overlapping characters.

    Raises:
        ValueError: two passages overlap with different text.
    """
    text = ""
    for offset, piece in sorted(pieces, key=lambda item: item[0]):
        if offset >= len(text):
            text += " " * (offset - len(text)) + piece
            continue
        overlap = text[offset : offset + len(piece)]
        if piece[: len(overlap)] != overlap:
            raise ValueError(
                f"passage at offset {offset} overlaps the preceding passage with different text"
            )
        text += piece[len(overlap) :]
    return text


def _entity(
    annotation: Mapping[str, Any], infons: Mapping[str, Any], text: str, label: str, fail: _Fail
) -> Entity:
    entity_type = infons.get("type")
    if not isinstance(entity_type, str) or not entity_type:
        raise fail(f"{label}: no 'type' infon")
    label = f"{label} ({entity_type})"
    locations = _list_field(annotation, "locations", fail, label)
    if not locations:
        raise fail(f"{label}: no location")
    spans: list[Span] = []
    for location in locations:
        if not isinstance(location, Mapping):
            raise fail(f"{label}: a location is not an object")
        start = _as_int(location.get("offset"), f"{label} location offset", fail)
        length = _as_int(location.get("length"), f"{label} location length", fail)
        end = start + length
        if length <= 0 or start < 0 or end > len(text):
            raise fail(
                f"{label}: span [{start}, {end}) is empty or beyond the document text "
                f"(length {len(text)})"
            )
        spans.append((start, end))
    spans.sort()
    entity_text = SPAN_TEXT_SEPARATOR.join(text[start:end] for start, end in spans)
    given = annotation.get("text")
    if given is not None and not isinstance(given, str):
        raise fail(f"{label}: annotation text is not a string")
    if given is not None and given != entity_text:
        same_but_join = len(spans) > 1 and _collapse(given) == _collapse(entity_text)
        if not same_but_join:
            raise fail(
                f"{label}: annotation text {given!r} differs from the document text "
                f"{entity_text!r} at {spans}"
            )

    attributes: dict[str, str] = {}
    normalized: list[Normalization] = []
    concept_key = next((key for key in ("MESH", "identifier") if infons.get(key) is not None), None)
    if concept_key is not None:
        concept_id = _optional_str(infons[concept_key]) or ""
        attributes["concept_id"] = concept_id
        if concept_key == "MESH":
            normalized = _mesh_normalizations(concept_id)
        else:
            normalized = pubtator_normalizations(concept_id, entity_type)
    for key, value in _string_items(infons).items():
        if key not in ("type", concept_key):
            attributes[key] = value
    return Entity(
        id="",  # assigned by _with_unique_ids
        type=entity_type,
        text=entity_text,
        offsets=spans,
        normalized=normalized,
        attributes=attributes,
    )


def _relation(
    raw: Mapping[str, Any],
    index: int,
    entities: Sequence[Entity],
    entity_by_raw_id: Mapping[str, Entity],
    fail: _Fail,
) -> Relation:
    if not isinstance(raw, Mapping):
        raise fail(f"relation #{index + 1}: not an object")
    raw_id = _optional_str(raw.get("id"))
    label = f"relation {raw_id!r}" if raw_id else f"relation #{index + 1}"
    infons = _mapping_field(raw, "infons", fail, label)
    attributes: dict[str, str]

    if "Chemical" in infons and "Disease" in infons:  # BC5CDR CID
        relation_type = infons.get("relation") or infons.get("type")
        arg1, arg2 = f"MESH:{infons['Chemical']}", f"MESH:{infons['Disease']}"
        consumed = {"relation", "type", "Chemical", "Disease"}
        attributes = {k: v for k, v in _string_items(infons).items() if k not in consumed}
        level = "concept"
    elif "role1" in infons and "role2" in infons:  # PubTator3
        relation_type = infons.get("type")
        arg1 = _resolve_role(infons["role1"], entities)
        arg2 = _resolve_role(infons["role2"], entities)
        for role, arg in (("role1", arg1), ("role2", arg2)):
            if arg is None:
                raise fail(
                    f"{label}: {role} {_describe_role(infons[role])} does not resolve to a unique "
                    "concept of an entity of the document"
                )
        consumed = {"type", "role1", "role2"}
        attributes = {k: v for k, v in _string_items(infons).items() if k not in consumed}
        for role in ("role1", "role2"):
            reference = _role_reference(infons[role])
            if reference:
                attributes[role] = reference
        level = "concept"
    else:  # generic BioC: two nodes pointing at annotations
        nodes = raw.get("nodes") or []
        refids = [node.get("refid") for node in nodes if isinstance(node, Mapping)]
        if len(refids) != 2:
            raise fail(
                f"{label}: cannot interpret it (no Chemical/Disease or role1/role2 infons, "
                f"and {len(refids)} nodes instead of 2)"
            )
        targets = [entity_by_raw_id.get(str(refid)) for refid in refids]
        for refid, target in zip(refids, targets, strict=True):
            if target is None:
                raise fail(f"{label}: node refid {refid!r} is not an annotation of the document")
        relation_type = infons.get("type") or infons.get("relation")
        arg1, arg2 = targets[0].id, targets[1].id
        attributes = {
            k: v for k, v in _string_items(infons).items() if k not in {"type", "relation"}
        }
        for role, node in zip(("role1", "role2"), nodes, strict=True):
            if node.get("role"):
                attributes[role] = str(node["role"])
        level = "mention"

    if not isinstance(relation_type, str) or not relation_type:
        raise fail(f"{label}: no relation type")
    if level == "concept":
        concepts = {norm.curie for entity in entities for norm in entity.normalized}
        for arg in (arg1, arg2):
            if arg not in concepts:
                raise fail(
                    f"{label} ({relation_type} {arg1} -> {arg2}): concept {arg!r} is not the "
                    "normalization of any entity of the document"
                )
    return Relation(
        id="",  # assigned by _with_unique_ids
        type=relation_type,
        arg1_id=arg1,
        arg2_id=arg2,
        level=level,
        attributes=attributes,
    )


def _resolve_role(role: Any, entities: Sequence[Entity]) -> str | None:
    """The CURIE a PubTator3 relation role refers to, or None.

    A role is an annotation-like object (``identifier``, ``type``, ``accession``), an accession
    string (``@GENE_NFKB1``, matched against the ``accession`` infon of the annotations) or
    ``Type|identifier`` (``Gene|4790``).
    """
    concepts = {norm.curie for entity in entities for norm in entity.normalized}
    identifier: Any = None
    entity_type: Any = None
    accession: Any = None
    if isinstance(role, Mapping):
        identifier, entity_type, accession = (
            role.get("identifier"),
            role.get("type"),
            role.get("accession"),
        )
    elif isinstance(role, str) and role.startswith("@"):
        accession = role
    elif isinstance(role, str):
        entity_type, _, identifier = role.partition("|")
    if isinstance(identifier, str | int) and isinstance(entity_type, str):
        for norm in pubtator_normalizations(str(identifier), entity_type):
            if norm.curie in concepts:
                return norm.curie
    if isinstance(accession, str) and accession:
        curies = {
            entity.normalized[0].curie
            for entity in entities
            if entity.attributes.get("accession") == accession and entity.normalized
        }
        if len(curies) == 1:
            return curies.pop()
    return None


def _role_reference(role: Any) -> str:
    if isinstance(role, str):
        return role
    if isinstance(role, Mapping):
        accession = role.get("accession")
        if isinstance(accession, str) and accession:
            return accession
        if role.get("type") and role.get("identifier") is not None:
            return f"{role['type']}|{role['identifier']}"
    return ""


def _describe_role(role: Any) -> str:
    return repr(_role_reference(role) or role)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _with_unique_ids(items: list[Any], raw_ids: Sequence[str | None], prefix: str) -> list[Any]:
    """Give entities (``T``) or relations (``R``) their ids: the source id (``{prefix}{id}`` when
    numeric) when every item has one and they are unique, else ``{prefix}{i}`` in order."""
    ids = [f"{prefix}{rid}" if rid and rid.isdigit() else rid for rid in raw_ids]
    if not all(ids) or len(set(ids)) != len(ids):
        ids = [f"{prefix}{i}" for i in range(len(items))]
    for item, item_id in zip(items, ids, strict=True):
        item.id = item_id
    return items


def _raw_id_map(raw_ids: Sequence[str | None], entities: Sequence[Entity]) -> dict[str, Entity]:
    """Entities by their source annotation id, for relation nodes (only when those ids are unique)."""
    if not all(raw_ids) or len(set(raw_ids)) != len(raw_ids):
        return {}
    return {str(rid): entity for rid, entity in zip(raw_ids, entities, strict=True)}


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value).strip()


def _string_items(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): value for key, value in mapping.items() if isinstance(value, str)}


def _as_int(value: Any, what: str, fail: _Fail) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise fail(f"{what} {value!r} is not an integer")


def _list_field(container: Mapping[str, Any], key: str, fail: _Fail, what: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"{what}: {key!r} is not a list")
    return value


def _mapping_field(
    container: Mapping[str, Any], key: str, fail: _Fail, what: str
) -> Mapping[str, Any]:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(f"{what}: {key!r} is not an object")
    return value
