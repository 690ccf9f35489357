"""Read the DDI corpus 2013 (one XML file per document) into :class:`~bioie_kedro.schema.Document`.

Layout of a file::

    <document id="DDI-DrugBank.d436">
      <sentence id="DDI-DrugBank.d436.s0" text="...">
        <entity id="DDI-DrugBank.d436.s0.e0" charOffset="12-20;30-35" type="drug" text="..."/>
        <pair id="DDI-DrugBank.d436.s0.p0" e1="..." e2="..." ddi="true" type="effect"/>
      </sentence>
    </document>

The document text is the sentence texts joined by a single space. Each sentence becomes a
``sentence`` passage and a :class:`~bioie_kedro.schema.Sentence` (the corpus provides its own
sentence split). ``charOffset`` is relative to the sentence and end-inclusive; discontinuous
mentions list several spans separated by ``;``. Every pair becomes a mention-level relation: its DDI
type when ``ddi="true"``, :data:`~bioie_kedro.schema.NEGATIVE_RELATION` when ``ddi="false"``.

Known quirks of the real corpus, and how they are handled:

* For a discontinuous mention, DDI writes the span texts joined by a space, except that after a
  span ending in ``-`` it sometimes leaves the space out (``alpha-`` + ``adrenergic blocking
  agents`` → ``"alpha-adrenergic blocking agents"``). Both spellings are accepted; the entity text
  follows the schema (spans joined by :data:`~bioie_kedro.schema.SPAN_TEXT_SEPARATOR`) and the DDI
  spelling is kept in ``attributes["source_text"]``.
* An entity whose text really differs from the sentence at its offsets is kept with the sentence
  text, the DDI text in ``attributes["source_text"]``, and listed in ``ReadResult.corrections``
  (one in Train, whose offsets are shifted by one).
* Sentences with empty text are left out of the document (their span would be empty) and listed
  in ``ReadResult.skipped`` (71 in Train).
* A positive pair without a type (one in Train) gets the type :data:`UNTYPED_DDI`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.schema import (
    NEGATIVE_RELATION,
    SPAN_TEXT_SEPARATOR,
    Document,
    DocumentValidationError,
    Entity,
    Passage,
    Relation,
    Sentence,
    Span,
    validate_document,
)

#: The interaction types a positive DDI pair may carry.
DDI_TYPES = frozenset({"mechanism", "effect", "advise", "int"})

#: Relation type of a pair marked ``ddi="true"`` that has no ``type`` attribute.
UNTYPED_DDI = "untyped"

#: Directory names that tell which DDI collection a file belongs to.
COLLECTIONS = ("DrugBank", "MedLine")

#: Separator between the sentence texts in the document text.
SENTENCE_SEPARATOR = " "

ENTITY_TEXT_MISMATCH = (
    "entity text differs from the sentence text at its offsets; kept with the sentence text"
)
EMPTY_SENTENCE = "sentence has empty text; left out of the document text, passages and sentences"


def read_ddi(path: str | Path, *, source: str, split: str) -> ReadResult:
    """Read one DDI XML file, or every ``*.xml`` file below a directory.

    Files of a directory are read recursively in the order of their relative paths.

    Args:
        path: an XML file, or a directory such as ``DDICorpus/Train``.
        source: the corpus name recorded in every document (e.g. ``"ddi"``).
        split: the split name recorded in every document (e.g. ``"train"``).

    Returns:
        The documents, one per file, the records that were left out (``skipped``) and the
        entities kept with a text that differs from the DDI text (``corrections``).

    Raises:
        CorpusFormatError: malformed XML (with its line), an offset beyond its sentence, a pair
            referring to an unknown entity, a missing attribute, an empty or non-UTF-8 file, a
            document id seen twice, or a document that fails :func:`validate_document`; the
            message names the file and the line or record.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.xml"), key=lambda file: file.relative_to(path).as_posix())
        if not files:
            raise CorpusFormatError(path, "no *.xml files found in the directory")
    else:
        files = [path]

    result = ReadResult()
    seen: dict[str, Path] = {}
    for file in files:
        file_result = parse_ddi_document(read_text_file(file), file, source=source, split=split)
        for document in file_result.documents:
            if document.id in seen:
                raise CorpusFormatError(
                    file, f"document id also used by {seen[document.id]}", record=document.id
                )
            seen[document.id] = file
        result.extend(file_result)
    return result


def parse_ddi_document(xml_text: str, file: str | Path, *, source: str, split: str) -> ReadResult:
    """Parse the XML text of one DDI file.

    Args:
        xml_text: the decoded content of the file.
        file: the file it came from, named in errors and skipped records; its directory names
            give ``attributes["collection"]``.
        source: the corpus name recorded in the document.
        split: the split name recorded in the document.

    Returns:
        The document (none when no sentence has any text, which is then a skipped record), the
        skipped records and the corrections of this file.

    Raises:
        CorpusFormatError: see :func:`read_ddi`.
    """
    file = Path(file)
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise CorpusFormatError(file, f"malformed XML: {exc.msg}", line=exc.position[0]) from None
    if root.tag != "document":
        raise CorpusFormatError(file, f"root element is <{root.tag}>, expected <document>")
    doc_id = _required(root, "id", file, "<document>")

    result = ReadResult()
    texts: list[str] = []
    passages: list[Passage] = []
    sentences: list[Sentence] = []
    entities: list[Entity] = []
    relations: list[Relation] = []
    start = 0
    for sentence_el in root:
        if sentence_el.tag != "sentence":
            raise CorpusFormatError(
                file, f"unexpected element <{sentence_el.tag}> in <document>", record=doc_id
            )
        sentence_id = _required(sentence_el, "id", file, f"a <sentence> of {doc_id}")
        sentence_text = _required(sentence_el, "text", file, sentence_id)
        if not sentence_text:
            if len(sentence_el):
                raise CorpusFormatError(
                    file, "sentence with empty text has annotations", record=sentence_id
                )
            result.skipped.append(SkippedRecord(str(file), sentence_id, EMPTY_SENTENCE))
            continue
        if texts:
            start += len(SENTENCE_SEPARATOR)
        end = start + len(sentence_text)
        texts.append(sentence_text)
        passages.append(
            Passage(id=sentence_id, type="sentence", text=sentence_text, offsets=[(start, end)])
        )
        sentences.append(Sentence(start=start, end=end, tokens=[]))

        for child in sentence_el:
            if child.tag not in ("entity", "pair"):
                raise CorpusFormatError(
                    file, f"unexpected element <{child.tag}> in <sentence>", record=sentence_id
                )
        sentence_entities: set[str] = set()
        for entity_el in sentence_el.iterfind("entity"):
            entity, note = _parse_entity(entity_el, sentence_text, start, file, sentence_id)
            entities.append(entity)
            sentence_entities.add(entity.id)
            if note is not None:
                result.corrections.append(note)
        for pair_el in sentence_el.iterfind("pair"):
            relations.append(_parse_pair(pair_el, sentence_entities, file, sentence_id))
        start = end

    if not texts:
        result.skipped.append(
            SkippedRecord(str(file), doc_id, "document has no sentence with text")
        )
        return result

    attributes = {"file": file.name}
    collection = next((part for part in reversed(file.parent.parts) if part in COLLECTIONS), None)
    if collection is not None:
        attributes["collection"] = collection
    document = Document(
        id=doc_id,
        source=source,
        split=split,
        text=SENTENCE_SEPARATOR.join(texts),
        passages=passages,
        entities=entities,
        relations=relations,
        sentences=sentences,
        attributes=attributes,
    )
    try:
        validate_document(document)
    except DocumentValidationError as exc:
        raise CorpusFormatError(file, str(exc), record=doc_id) from None
    result.documents.append(document)
    return result


def parse_char_offset(value: str) -> list[tuple[int, int]]:
    """DDI ``charOffset`` (``"12-20"`` or ``"12-20;30-35"``, end-inclusive) as end-exclusive spans.

    Raises:
        ValueError: a part is not ``start-end`` with integers ``0 <= start <= end``.
    """
    spans = []
    for part in value.split(";"):
        first, sep, last = part.strip().partition("-")
        if not sep or not first.isdigit() or not last.isdigit() or int(first) > int(last):
            raise ValueError(f"bad charOffset {value!r}")
        spans.append((int(first), int(last) + 1))
    return spans


def ddi_span_texts_match(pieces: list[str], ddi_text: str) -> bool:
    """Whether ``ddi_text`` is how DDI writes the mention whose span texts are ``pieces``.

    DDI joins the span texts with a space, but after a span ending in ``-`` it may leave the space
    out (``"alpha-adrenergic blocking agents"``); both are accepted.
    """
    if ddi_text == SPAN_TEXT_SEPARATOR.join(pieces):
        return True
    joined = pieces[0]
    for piece in pieces[1:]:
        joined += piece if joined.endswith("-") else SPAN_TEXT_SEPARATOR + piece
    return ddi_text == joined


def _required(element: ET.Element, name: str, file: Path, record: str) -> str:
    value = element.get(name)
    if value is None:
        raise CorpusFormatError(file, f"<{element.tag}> has no {name!r} attribute", record=record)
    return value


def _parse_entity(
    element: ET.Element, sentence_text: str, sentence_start: int, file: Path, sentence_id: str
) -> tuple[Entity, SkippedRecord | None]:
    entity_id = _required(element, "id", file, f"an <entity> of {sentence_id}")
    char_offset = _required(element, "charOffset", file, entity_id)
    entity_type = _required(element, "type", file, entity_id)
    ddi_text = _required(element, "text", file, entity_id)
    try:
        local_spans = parse_char_offset(char_offset)
    except ValueError as exc:
        raise CorpusFormatError(file, str(exc), record=entity_id) from None
    for _, end in local_spans:
        if end > len(sentence_text):
            raise CorpusFormatError(
                file,
                f"charOffset {char_offset!r} is beyond its sentence {sentence_id!r} "
                f"(length {len(sentence_text)})",
                record=entity_id,
            )
    pieces = [sentence_text[start:end] for start, end in local_spans]
    text = SPAN_TEXT_SEPARATOR.join(pieces)
    offsets: list[Span] = [
        (sentence_start + start, sentence_start + end) for start, end in local_spans
    ]
    entity = Entity(id=entity_id, type=entity_type, text=text, offsets=offsets)
    note = None
    if ddi_text != text and not ddi_span_texts_match(pieces, ddi_text):
        shifted = _shift_to_match(local_spans, sentence_text, ddi_text)
        if shifted is not None:
            delta, local_spans = shifted
            pieces = [sentence_text[start:end] for start, end in local_spans]
            entity = Entity(
                id=entity_id,
                type=entity_type,
                text=SPAN_TEXT_SEPARATOR.join(pieces),
                offsets=[
                    (sentence_start + start, sentence_start + end) for start, end in local_spans
                ],
                attributes={"source_char_offset": char_offset},
            )
            return entity, SkippedRecord(
                str(file),
                f"{entity_id} (charOffset {char_offset}, DDI text {ddi_text!r})",
                f"charOffset is off by {delta:+d} from the annotated text; shifted to match it",
            )
    if ddi_text != entity.text:
        entity.attributes["source_text"] = ddi_text
        if not ddi_span_texts_match(pieces, ddi_text):
            note = SkippedRecord(
                str(file),
                f"{entity_id} (charOffset {char_offset}: {text!r}, DDI text {ddi_text!r})",
                ENTITY_TEXT_MISMATCH,
            )
    return entity, note


def _shift_to_match(
    spans: list[Span], sentence_text: str, ddi_text: str, max_shift: int = 3
) -> tuple[int, list[Span]] | None:
    """Spans moved by the smallest shift (at most ``max_shift``) that reproduces ``ddi_text``."""
    for distance in range(1, max_shift + 1):
        for delta in (distance, -distance):
            moved = [(start + delta, end + delta) for start, end in spans]
            if moved[0][0] < 0 or moved[-1][1] > len(sentence_text):
                continue
            if ddi_span_texts_match([sentence_text[s:e] for s, e in moved], ddi_text):
                return delta, moved
    return None


def _parse_pair(
    element: ET.Element, sentence_entities: set[str], file: Path, sentence_id: str
) -> Relation:
    pair_id = _required(element, "id", file, f"a <pair> of {sentence_id}")
    arg1 = _required(element, "e1", file, pair_id)
    arg2 = _required(element, "e2", file, pair_id)
    ddi = _required(element, "ddi", file, pair_id)
    ddi_type = element.get("type")
    for arg in (arg1, arg2):
        if arg not in sentence_entities:
            raise CorpusFormatError(
                file,
                f"pair refers to {arg!r}, not an entity of sentence {sentence_id!r}",
                record=pair_id,
            )
    attributes = {"ddi": ddi}
    if ddi == "true":
        if ddi_type is None:
            relation_type = UNTYPED_DDI
        elif ddi_type in DDI_TYPES:
            relation_type = ddi_type
        else:
            raise CorpusFormatError(
                file,
                f"unknown DDI type {ddi_type!r} (expected one of {sorted(DDI_TYPES)})",
                record=pair_id,
            )
    elif ddi == "false":
        relation_type = NEGATIVE_RELATION
        if ddi_type is not None:
            attributes["source_type"] = ddi_type
    else:
        raise CorpusFormatError(file, f'ddi="{ddi}", expected "true" or "false"', record=pair_id)
    return Relation(
        id=pair_id,
        type=relation_type,
        arg1_id=arg1,
        arg2_id=arg2,
        level="mention",
        attributes=attributes,
    )
