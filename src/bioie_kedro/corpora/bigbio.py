"""Convert corpora in the BigBio KB schema (Hugging Face ``bigbio/*`` datasets) into schema documents.

A BigBio KB record is ``{"id", "document_id", "passages", "entities", "relations", "events",
"coreferences"}`` with passages and entities as lists of texts and ``[start, end]`` offsets into
the passages joined at their offsets. The conventions here:

* ``Document.id`` is the record's ``document_id`` (falling back to ``id``); the record ``id`` is
  kept in ``Document.attributes["bigbio_id"]``.
* ``Document.text`` holds the passage texts at their offsets, gaps filled with spaces.
* Entity text is the document text at the entity's spans joined by
  :data:`~bioie_kedro.schema.SPAN_TEXT_SEPARATOR`; it must agree with BigBio's text list.
* Relations are mention-level: their arguments are entity ids of the record.
* Events and coreferences have no place in the document schema: each one is reported as a
  :class:`~bioie_kedro.corpora.base.SkippedRecord`.

Note that BigBio keeps every annotation of the source: ``bigbio/bc5cdr`` keeps the BC5CDR
``IndividualMention`` parts of composite mentions (which the BioC and PubTator readers leave out)
and expands each document-level CID pair into all pairs of mentions of the two concepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.corpora.bioc import place_passages
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

INSTALL_HINT = "pip install 'bioie_kedro[bigbio]'"

_Fail = Callable[[str], CorpusFormatError]


def documents_from_bigbio(
    records: Iterable[Mapping[str, Any]], *, source: str, split: str, origin: str = "<bigbio>"
) -> ReadResult:
    """Convert BigBio KB records into validated documents.

    Args:
        records: BigBio KB records, e.g. a ``datasets.Dataset`` split or parsed JSON lines.
        source: corpus name put on every document.
        split: split name put on every document.
        origin: where the records come from, for messages (a file, a hub dataset name).

    Returns:
        The documents in record order, and the events, coreferences and repeated documents that
        were left out.

    Raises:
        CorpusFormatError: naming ``origin`` and the record id at fault.
    """
    return _convert_all(
        ((None, record) for record in records), source=source, split=split, origin=origin
    )


def read_bigbio_jsonl(path: str | Path, *, source: str, split: str) -> ReadResult:
    """Read a local file of BigBio KB records, one JSON object per line (blank lines allowed).

    Raises:
        CorpusFormatError: the file is missing, empty or not UTF-8, a line is not valid JSON, or a
            record is malformed (naming the file, the line and the record id).
    """
    path = Path(path)
    text = read_text_file(path)
    return _convert_all(_jsonl_records(text, path), source=source, split=split, origin=str(path))


def read_bigbio_hub(
    name: str,
    *,
    config: str,
    split: str,
    source: str,
    split_name: str | None = None,
    trust_remote_code: bool = False,
    **load_kwargs: Any,
) -> ReadResult:
    """Load a BigBio KB dataset from the Hugging Face hub and convert it (needs internet).

    Args:
        name: the hub dataset, e.g. ``"bigbio/bc5cdr"``.
        config: the KB configuration, e.g. ``"bc5cdr_bigbio_kb"``.
        split: the hub split to load (``"train"``, ``"validation"``, ``"test"``).
        source: corpus name put on every document.
        split_name: split name put on every document, when it differs from the hub's
            (``"dev"`` for ``"validation"``); defaults to ``split``.
        trust_remote_code: allow the dataset's loading script to run. BigBio datasets are
            script-based, which ``datasets`` supports only before version 4 and only with
            ``trust_remote_code=True``. It is passed on only when true, because ``datasets`` 4
            reports any ``trust_remote_code`` argument as unsupported.
        **load_kwargs: passed on to ``datasets.load_dataset`` (``revision``, ``cache_dir``…).

    Raises:
        ImportError: ``datasets`` is not installed (with the pip command that installs it).
        CorpusFormatError: a record is malformed.
    """
    try:
        import datasets
    except ImportError as exc:
        raise ImportError(
            f"read_bigbio_hub needs the Hugging Face 'datasets' package: {INSTALL_HINT}"
        ) from exc

    if trust_remote_code:
        load_kwargs["trust_remote_code"] = True
    dataset = datasets.load_dataset(name, config, split=split, **load_kwargs)
    return documents_from_bigbio(
        dataset,
        source=source,
        split=split_name or split,
        origin=f"{name} ({config}, split {split})",
    )


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


def _jsonl_records(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(
                path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=line_number
            ) from None


def _convert_all(
    numbered_records: Iterable[tuple[int | None, Any]], *, source: str, split: str, origin: str
) -> ReadResult:
    """Convert records. A ``document_id`` met again is skipped (the first occurrence is kept) and
    reported, saying whether the repeat is identical, as the PubTator reader does."""
    result = ReadResult()
    seen: dict[str, tuple[Document, str]] = {}
    for line, record in numbered_records:
        doc, skipped = _convert(record, source=source, split=split, origin=origin, line=line)
        record_id = doc.attributes.get("bigbio_id", doc.id)
        earlier = seen.get(doc.id)
        if earlier is not None:
            first, first_record = earlier
            same = "identical to" if _content(first) == _content(doc) else "differs from"
            where = f" (line {line})" if line is not None else ""
            result.skipped.append(
                SkippedRecord(
                    origin,
                    f"{record_id}{where}",
                    f"duplicate document_id {doc.id}; {same} the first occurrence "
                    f"(record {first_record}), which is kept",
                )
            )
            continue
        seen[doc.id] = (doc, record_id)
        result.documents.append(doc)
        result.skipped.extend(skipped)
    return result


def _content(doc: Document) -> tuple[Any, ...]:
    return (doc.text, doc.passages, doc.entities, doc.relations)


def _convert(
    record: Any, *, source: str, split: str, origin: str, line: int | None
) -> tuple[Document, list[SkippedRecord]]:
    if not isinstance(record, Mapping):
        raise CorpusFormatError(origin, "a BigBio record is not an object", line=line)
    record_id = _str_or_none(record.get("id"))
    doc_id = _str_or_none(record.get("document_id")) or record_id
    if not doc_id:
        raise CorpusFormatError(origin, "a record has neither 'document_id' nor 'id'", line=line)
    label = record_id if record_id is not None else doc_id

    def fail(problem: str) -> CorpusFormatError:
        where = f"document {doc_id}: " if doc_id != label else ""
        return CorpusFormatError(origin, f"{where}{problem}", line=line, record=label)

    passages: list[Passage] = []
    pieces: list[tuple[int, str]] = []
    for index, passage in enumerate(_list(record, "passages", fail)):
        passage_id = _str_or_none(passage.get("id")) or f"{doc_id}-passage-{index + 1}"
        what = f"passage {passage_id!r}"
        texts = _texts(passage, what, fail)
        spans = _spans(passage, what, fail)
        if len(texts) != len(spans):
            raise fail(f"{what}: {len(texts)} texts for {len(spans)} offsets")
        for part, (piece, (start, end)) in enumerate(zip(texts, spans, strict=True), start=1):
            if end - start != len(piece):
                raise fail(
                    f"{what}: offsets [{start}, {end}) do not fit its text of length {len(piece)}"
                )
            if not piece:
                continue
            part_id = passage_id if len(spans) == 1 else f"{passage_id}-{part}"
            ptype = str(passage.get("type") or "passage")
            passages.append(Passage(id=part_id, type=ptype, text=piece, offsets=[(start, end)]))
            pieces.append((start, piece))
    try:
        text = place_passages(pieces)
    except ValueError as exc:
        raise fail(str(exc)) from None

    entities = [_entity(entity, text, fail) for entity in _list(record, "entities", fail)]
    relations = [
        Relation(
            id=_required_str(relation, "id", "relation", fail),
            type=_required_str(relation, "type", "relation", fail),
            arg1_id=_required_str(relation, "arg1_id", "relation", fail),
            arg2_id=_required_str(relation, "arg2_id", "relation", fail),
            level="mention",
            normalized=_normalized(relation, "relation", fail),
        )
        for relation in _list(record, "relations", fail)
    ]
    entity_ids = {entity.id for entity in entities}
    for relation in relations:
        for arg in (relation.arg1_id, relation.arg2_id):
            if arg not in entity_ids:
                raise fail(
                    f"relation {relation.id!r} ({relation.type} {relation.arg1_id} -> "
                    f"{relation.arg2_id}): argument {arg!r} is not an entity of the record"
                )

    skipped = [
        SkippedRecord(
            origin,
            f"{label}/{_str_or_none(item.get('id')) or f'#{index + 1}'}",
            f"{kind}: the document schema has no {kind}s",
        )
        for kind, key in (("event", "events"), ("coreference", "coreferences"))
        for index, item in enumerate(_list(record, key, fail))
        if item
    ]

    attributes = {"bigbio_id": record_id} if record_id is not None else {}
    doc = Document(
        id=doc_id,
        source=source,
        split=split,
        text=text,
        passages=passages,
        entities=entities,
        relations=relations,
        attributes=attributes,
    )
    try:
        validate_document(doc)
    except DocumentValidationError as exc:
        raise fail(f"schema violation: {exc}") from None
    return doc, skipped


def _entity(raw: Mapping[str, Any], text: str, fail: _Fail) -> Entity:
    entity_id = _required_str(raw, "id", "entity", fail)
    entity_type = _required_str(raw, "type", f"entity {entity_id!r}", fail)
    what = f"entity {entity_id!r} ({entity_type})"
    spans = sorted(_spans(raw, what, fail))
    if not spans:
        raise fail(f"{what}: no offsets")
    for start, end in spans:
        if not 0 <= start < end <= len(text):
            raise fail(
                f"{what}: span [{start}, {end}) is empty or beyond the document text (length {len(text)})"
            )
    entity_text = SPAN_TEXT_SEPARATOR.join(text[start:end] for start, end in spans)
    given = _texts(raw, what, fail)
    # BigBio gives one text per span; for discontinuous mentions that split is heuristic, so
    # texts that differ from the spans only in how they are joined are accepted.
    if given != [text[start:end] for start, end in spans] and _collapse(
        " ".join(given)
    ) != _collapse(entity_text):
        raise fail(
            f"{what}: BigBio text {given!r} differs from the document text {entity_text!r} at {spans}"
        )
    return Entity(
        id=entity_id,
        type=entity_type,
        text=entity_text,
        offsets=spans,
        normalized=_normalized(raw, what, fail),
    )


def _normalized(raw: Mapping[str, Any], what: str, fail: _Fail) -> list[Normalization]:
    norms = []
    for norm in _list(raw, "normalized", fail):
        db, db_id = _str_or_none(norm.get("db_name")), _str_or_none(norm.get("db_id"))
        if not db or not db_id:
            raise fail(f"{what}: normalization {dict(norm)!r} lacks db_name or db_id")
        norms.append(Normalization(db, db_id))
    return norms


def _spans(raw: Mapping[str, Any], what: str, fail: _Fail) -> list[Span]:
    spans = []
    for offsets in _list(raw, "offsets", fail, items=list):
        if len(offsets) != 2 or not all(
            isinstance(o, int) and not isinstance(o, bool) for o in offsets
        ):
            raise fail(f"{what}: offsets {offsets!r} are not a [start, end] pair of integers")
        spans.append((offsets[0], offsets[1]))
    return spans


def _texts(raw: Mapping[str, Any], what: str, fail: _Fail) -> list[str]:
    texts = raw.get("text")
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise fail(f"{what}: 'text' is not a list of strings")
    return texts


def _list(raw: Mapping[str, Any], key: str, fail: _Fail, *, items: type = Mapping) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, items) for item in value):
        kind = "objects" if items is Mapping else "lists"
        raise fail(f"{key!r} is not a list of {kind}")
    return value


def _required_str(raw: Mapping[str, Any], key: str, what: str, fail: _Fail) -> str:
    value = _str_or_none(raw.get(key))
    if not value:
        raise fail(f"{what} without {key!r}")
    return value


def _str_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def _collapse(text: str) -> str:
    return " ".join(text.split())
