"""Reader for IOB/CoNLL token-per-line files (``token<TAB>tag``) into :class:`Document` objects.

The format, as in ``ncbi_disease/conll/*.tsv`` and ``bc5cdr/iob/*/*.tsv``:

* one token per line, the token in the first column and its tag in the last one (middle columns,
  e.g. CoNLL-2003 POS and chunk tags, are allowed and ignored); columns are tab-separated, and a
  line without any tab is split on whitespace (CoNLL-2003 style);
* a blank line between sentences;
* optional ``-DOCSTART-`` lines (``-DOCSTART- -X- -X- O``, ``-DOCSTART-<TAB>O``) that start a new
  document.

The files carry tokens, not the original text, so the document text is rebuilt: the tokens of a
sentence joined by single spaces, sentences joined by a single space. Every document gets its real
token spans in :attr:`Document.sentences` and one ``sentence`` passage per sentence. Without
``-DOCSTART-`` lines every sentence becomes its own document.

Tags are decoded in one of the schemes ``iob2``, ``iob1``, ``bioes`` (alias ``iobes``) or
``auto`` (``bioes`` when the file has any ``E-``/``S-`` tag, otherwise ``iob2``). Decoding is
lenient the way seqeval's default is: an ``I-X`` (or ``E-X``) with no open ``X`` entity starts a new
entity. In IOB1 that is how entities start; in the other schemes it is a repair: the entity is
kept, and each repaired tag is listed in ``ReadResult.corrections`` (a :class:`SkippedRecord` with
reason :data:`REPAIRED_I_TAG` or :data:`REPAIRED_E_TAG`) so the reading report counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.schema import Document, Entity, Passage, Sentence, Span, validate_document

DOCSTART = "-DOCSTART-"

#: Reason recorded for each ``I-`` tag that had to open an entity in the IOB2/BIOES schemes.
REPAIRED_I_TAG = "I- tag without B-, repaired as a new entity"
#: Reason recorded for each ``E-`` tag that had to open an entity in the BIOES scheme.
REPAIRED_E_TAG = "E- tag without B-, repaired as a new entity"

_SCHEME_PREFIXES = {
    "iob2": frozenset("BI"),
    "iob1": frozenset("BI"),
    "bioes": frozenset("BIES"),
}
_SCHEME_ALIASES = {"iobes": "bioes"}
SCHEMES = ("auto", "iob2", "iob1", "bioes", "iobes")


@dataclass(slots=True)
class _Token:
    text: str
    prefix: str  # "O", "B", "I", "E" or "S"
    type: str  # "" for O
    line: int


@dataclass(slots=True)
class _Block:
    """The sentences of one future document, and the line it started on."""

    line: int
    sentences: list[list[_Token]] = field(default_factory=list)


def _parse_tag(path: Path, line_no: int, tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, dash, entity_type = tag.partition("-")
    if dash and prefix in {"B", "I", "E", "S"} and entity_type.strip():
        return prefix, entity_type
    raise CorpusFormatError(
        path, f"unknown tag {tag!r} (expected O or B-/I-/E-/S- followed by a type)", line=line_no
    )


def _split_columns(path: Path, line_no: int, line: str) -> tuple[str, str]:
    """``(token, tag)`` of one token line: first and last column."""
    columns = line.split("\t") if "\t" in line else line.split()
    if len(columns) < 2 or not columns[-1].strip():
        raise CorpusFormatError(
            path,
            f"expected 'token<TAB>tag', found no tag column in {line!r} (truncated line?)",
            line=line_no,
        )
    token, tag = columns[0], columns[-1].strip()
    if not token:
        raise CorpusFormatError(path, f"empty token in {line!r}", line=line_no)
    if any(char.isspace() for char in token):
        # The text is rebuilt by joining tokens with spaces; a token holding whitespace would make
        # the token boundaries ambiguous.
        raise CorpusFormatError(path, f"token {token!r} contains whitespace", line=line_no)
    return token, tag


def _parse_blocks(path: Path, text: str) -> tuple[list[_Block], bool]:
    """Split the file into document blocks of sentences; also whether it had ``-DOCSTART-``."""
    blocks: list[_Block] = [_Block(line=1)]
    sentence: list[_Token] = []
    has_docstart = False

    def close_sentence() -> None:
        nonlocal sentence
        if sentence:
            blocks[-1].sentences.append(sentence)
            sentence = []

    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            close_sentence()
            continue
        if line.split(maxsplit=1)[0] == DOCSTART:
            close_sentence()
            if not has_docstart and not blocks[-1].sentences:
                blocks.pop()  # nothing came before the first -DOCSTART-
            has_docstart = True
            blocks.append(_Block(line=line_no))
            continue
        token, tag = _split_columns(path, line_no, line)
        prefix, entity_type = _parse_tag(path, line_no, tag)
        sentence.append(_Token(token, prefix, entity_type, line_no))
    close_sentence()
    return blocks, has_docstart


def _resolve_scheme(path: Path, scheme: str, blocks: list[_Block]) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {SCHEMES}")
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    tokens = (token for block in blocks for sentence in block.sentences for token in sentence)
    if scheme == "auto":
        return "bioes" if any(token.prefix in {"E", "S"} for token in tokens) else "iob2"
    allowed = _SCHEME_PREFIXES[scheme]
    for token in tokens:
        if token.prefix != "O" and token.prefix not in allowed:
            raise CorpusFormatError(
                path,
                f"tag {token.prefix}-{token.type} is not part of the {scheme} scheme",
                line=token.line,
            )
    return scheme


def _decode_sentence(
    tokens: list[_Token], scheme: str
) -> tuple[list[tuple[int, int, str]], list[tuple[_Token, str]]]:
    """Token-index chunks ``(start, end_exclusive, type)`` and the repairs made on the way."""
    chunks: list[tuple[int, int, str]] = []
    repairs: list[tuple[_Token, str]] = []
    open_start: int | None = None
    open_type = ""

    def close(end: int) -> None:
        nonlocal open_start
        if open_start is not None:
            chunks.append((open_start, end, open_type))
            open_start = None

    for index, token in enumerate(tokens):
        continues = open_start is not None and open_type == token.type
        if token.prefix == "O":
            close(index)
        elif token.prefix in {"B", "S"}:
            close(index)
            open_start, open_type = index, token.type
            if token.prefix == "S":
                close(index + 1)
        elif token.prefix == "I":
            if not continues:
                close(index)
                open_start, open_type = index, token.type
                if scheme != "iob1":
                    repairs.append((token, REPAIRED_I_TAG))
        else:  # "E"
            if not continues:
                close(index)
                open_start, open_type = index, token.type
                repairs.append((token, REPAIRED_E_TAG))
            close(index + 1)
    close(len(tokens))
    return chunks, repairs


def _build_document(
    block: _Block, doc_id: str, source: str, split: str, scheme: str, path: Path
) -> tuple[Document, list[SkippedRecord]]:
    pieces: list[str] = []
    cursor = 0
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    entities: list[Entity] = []
    corrections: list[SkippedRecord] = []
    for sentence_tokens in block.sentences:
        if pieces:
            pieces.append(" ")
            cursor += 1
        spans: list[Span] = []
        for position, token in enumerate(sentence_tokens):
            if position:
                pieces.append(" ")
                cursor += 1
            pieces.append(token.text)
            spans.append((cursor, cursor + len(token.text)))
            cursor += len(token.text)
        sentence_start, sentence_end = spans[0][0], spans[-1][1]
        sentences.append(Sentence(sentence_start, sentence_end, spans))
        passages.append(
            Passage(
                id=f"S{len(passages) + 1}",
                type="sentence",
                text=" ".join(token.text for token in sentence_tokens),
                offsets=[(sentence_start, sentence_end)],
            )
        )
        chunks, repairs = _decode_sentence(sentence_tokens, scheme)
        for first, last, entity_type in chunks:
            start, end = spans[first][0], spans[last - 1][1]
            entities.append(
                Entity(
                    id=f"T{len(entities) + 1}",
                    type=entity_type,
                    text=" ".join(token.text for token in sentence_tokens[first:last]),
                    offsets=[(start, end)],
                )
            )
        corrections.extend(
            SkippedRecord(str(path), f"document {doc_id}, line {token.line}", reason)
            for token, reason in repairs
        )
    doc = Document(
        id=doc_id,
        source=source,
        split=split,
        text="".join(pieces),
        passages=passages,
        entities=entities,
        sentences=sentences,
    )
    return validate_document(doc), corrections


def read_conll(path: str | Path, *, source: str, split: str, scheme: str = "auto") -> ReadResult:
    """Read one IOB/CoNLL file into documents with rebuilt text, sentences and entities.

    Args:
        path: the ``token<TAB>tag`` file.
        source: corpus name stored in every :attr:`Document.source`.
        split: split name stored in every :attr:`Document.split`.
        scheme: ``"auto"``, ``"iob2"``, ``"iob1"``, ``"bioes"`` or ``"iobes"`` (see the module
            docstring).

    Returns:
        One document per ``-DOCSTART-`` block, or per sentence when the file has none, with ids
        ``f"{path.stem}-{n}"`` (``n`` from 1; for blocks, ``n`` is the block's ordinal, so an empty
        block, which is skipped and listed in ``skipped``, still uses its number).
        ``corrections`` holds one record per repaired ``I-``/``E-`` tag.

    Raises:
        CorpusFormatError: naming the file and line, for a missing tag column, an unknown tag, a
            tag outside an explicit ``scheme``, a token containing whitespace, an empty file, a
            file without tokens or invalid UTF-8.
        ValueError: ``scheme`` is not one of :data:`SCHEMES`.
    """
    path = Path(path)
    text = read_text_file(path)
    blocks, has_docstart = _parse_blocks(path, text)
    scheme = _resolve_scheme(path, scheme, blocks)
    if not any(block.sentences for block in blocks):
        raise CorpusFormatError(path, "no token lines (only -DOCSTART- and blank lines)")

    if not has_docstart:
        # One document per sentence: re-cut the single block.
        blocks = [
            _Block(line=sentence[0].line, sentences=[sentence]) for sentence in blocks[0].sentences
        ]

    result = ReadResult()
    for number, block in enumerate(blocks, start=1):
        doc_id = f"{path.stem}-{number}"
        if not block.sentences:
            result.skipped.append(
                SkippedRecord(
                    str(path),
                    f"document {doc_id}, line {block.line}",
                    "-DOCSTART- block without tokens",
                )
            )
            continue
        doc, corrections = _build_document(block, doc_id, source, split, scheme, path)
        result.documents.append(doc)
        result.corrections.extend(corrections)
    return result
