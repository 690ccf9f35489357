"""Read ChemProt (BioCreative VI) from its original TSV files into :class:`~bioie_kedro.schema.Document`.

One split is four tab-separated files without a header:

* ``*_abstracts*.tsv``: ``PMID, title, abstract``. The document text is ``title + " " + abstract``,
  with a ``title`` and an ``abstract`` passage.
* ``*_entities*.tsv``: ``PMID, T#, type, start, end, text``; offsets into the document text,
  end-exclusive. Types: ``CHEMICAL``, ``GENE-Y``, ``GENE-N``.
* ``*_relations*.tsv`` (optional): ``PMID, CPR:n, eval (Y/N), label, Arg1:T#, Arg2:T#``; every
  annotated relation, with its fine-grained label (``INHIBITOR``, ...).
* ``*_gold_standard.tsv`` (optional): ``PMID, CPR:n, Arg1:T#, Arg2:T#``; the evaluated relations
  (groups CPR:3, 4, 5, 6 and 9), which are what the project scores.

The relations of a document are the gold-standard lines, in file order, with ids ``R1``, ``R2``...
Each is enriched from the relations file with ``attributes["label"]`` and ``attributes["eval"]``.
Without a gold-standard file, the relations marked ``eval=Y`` are used instead.

Every relations-file line that does not become a relation of its own is reported as a
:class:`~bioie_kedro.corpora.base.SkippedRecord`. In ``ReadResult.skipped``: groups not evaluated
(``eval=N``), ``eval=Y`` lines missing from the gold standard, and gold-standard lines repeating an
earlier one. In ``ReadResult.corrections``: lines repeating the group and arguments of an earlier
line with another fine-grained label (the real corpus has such pairs, e.g. ``ACTIVATOR`` and
``INDIRECT-UPREGULATOR``), whose labels are merged into one relation as
``"ACTIVATOR|INDIRECT-UPREGULATOR"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file
from bioie_kedro.schema import (
    Document,
    DocumentValidationError,
    Entity,
    Passage,
    Relation,
    validate_document,
)

#: The files of one split: key → glob pattern used to find it in a directory.
FILE_PATTERNS: dict[str, str] = {
    "abstracts": "*_abstracts*.tsv",
    "entities": "*_entities*.tsv",
    "relations": "*_relations*.tsv",
    "gold_standard": "*_gold_standard.tsv",
}
REQUIRED_FILES = ("abstracts", "entities")

#: Separator between title and abstract in the document text (the entity offsets assume it).
TITLE_SEPARATOR = " "

#: Separator of the fine-grained labels of a relation annotated twice with different labels.
LABEL_SEPARATOR = "|"

RelationKey = tuple[str, str, str, str]  # (PMID, CPR group, arg1 id, arg2 id)


def read_chemprot(
    paths: Mapping[str, str | Path] | str | Path, *, source: str, split: str
) -> ReadResult:
    """Read one ChemProt split.

    Args:
        paths: a mapping with keys ``abstracts``, ``entities`` and optionally ``relations`` and
            ``gold_standard``; or a directory in which the files are found by the patterns of
            :data:`FILE_PATTERNS`.
        source: the corpus name recorded in every document (e.g. ``"chemprot"``).
        split: the split name recorded in every document (e.g. ``"train"``).

    Returns:
        One document per abstract, in file order; the relation lines left out (``skipped``) and
        those merged into an earlier line's relation (``corrections``).

    Raises:
        ValueError: ``paths`` lacks a required file or has an unknown key.
        CorpusFormatError: a line with the wrong number of columns, a bad offset, an offset beyond
            the text, an entity text that differs from the text at its offsets, an unknown PMID or
            entity, a duplicate PMID or entity id, an empty or non-UTF-8 file; the message names
            the file and the line.
    """
    files = resolve_chemprot_files(paths)
    skipped: list[SkippedRecord] = []
    corrections: list[SkippedRecord] = []
    documents = _read_abstracts(files["abstracts"], source=source, split=split)
    _read_entities(files["entities"], documents)

    entity_ids = {pmid: {entity.id for entity in doc.entities} for pmid, doc in documents.items()}
    annotated: dict[RelationKey, _Annotated] = {}
    if "relations" in files:
        annotated = _read_relations(files["relations"], entity_ids)
    if "gold_standard" in files:
        gold = _read_gold_standard(files["gold_standard"], entity_ids, skipped)
    else:
        gold = {key: found.lines[0] for key, found in annotated.items() if found.eval == "Y"}

    for key, annotation in annotated.items():
        relations_file = str(files["relations"])
        group = key[1]
        if key in gold:
            corrections.extend(
                SkippedRecord(relations_file, _record(key, line), _merged_reason(annotation, index))
                for index, line in enumerate(annotation.lines[1:], start=1)
            )
            continue
        if annotation.eval == "N":
            reason = f"{group} not evaluated (eval=N)"
        else:
            reason = f"{group} marked evaluated (eval=Y) but not in the gold standard"
        skipped.extend(
            SkippedRecord(relations_file, _record(key, line), reason) for line in annotation.lines
        )

    for key in gold:
        pmid, group, arg1, arg2 = key
        document = documents[pmid]
        attributes: dict[str, str] = {}
        if key in annotated:
            attributes = {"label": annotated[key].label, "eval": annotated[key].eval}
        document.relations.append(
            Relation(
                id=f"R{len(document.relations) + 1}",
                type=group,
                arg1_id=arg1,
                arg2_id=arg2,
                level="mention",
                attributes=attributes,
            )
        )

    for document in documents.values():
        try:
            validate_document(document)
        except DocumentValidationError as exc:
            raise CorpusFormatError(files["abstracts"], str(exc), record=document.id) from None
    return ReadResult(documents=list(documents.values()), skipped=skipped, corrections=corrections)


def resolve_chemprot_files(paths: Mapping[str, str | Path] | str | Path) -> dict[str, Path]:
    """The files of one split by key (see :data:`FILE_PATTERNS`); optional ones only if present.

    Raises:
        ValueError: a required file is missing, a key is unknown, or a pattern matches several
            files of the directory.
    """
    if isinstance(paths, Mapping):
        unknown = set(paths) - set(FILE_PATTERNS)
        if unknown:
            raise ValueError(
                f"unknown ChemProt file keys {sorted(unknown)}; expected {list(FILE_PATTERNS)}"
            )
        files = {key: Path(value) for key, value in paths.items() if value is not None}
    else:
        directory = Path(paths)
        if not directory.is_dir():
            raise ValueError(
                f"{directory} is not a directory; pass a directory or a mapping of files"
            )
        files = {}
        for key, pattern in FILE_PATTERNS.items():
            matches = sorted(directory.glob(pattern))
            if len(matches) > 1:
                raise ValueError(
                    f"several ChemProt {key} files in {directory}: {[m.name for m in matches]}"
                )
            if matches:
                files[key] = matches[0]
    missing = [key for key in REQUIRED_FILES if key not in files]
    if missing:
        raise ValueError(f"ChemProt files missing: {missing} (given: {sorted(files)})")
    return files


@dataclass(slots=True)
class _Annotated:
    """One relation of the relations file; ``lines`` > 1 when it was annotated more than once."""

    eval: str
    labels: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The distinct fine-grained labels in file order, joined by :data:`LABEL_SEPARATOR`."""
        return LABEL_SEPARATOR.join(dict.fromkeys(self.labels))


def _merged_reason(annotation: _Annotated, index: int) -> str:
    """Why line ``annotation.lines[index]`` (a repeat) is not a relation of its own."""
    first = annotation.lines[0]
    if annotation.labels[index] in annotation.labels[:index]:
        return f"repeats relations-file line {first}"
    return (
        f"same CPR group and arguments as line {first} with another label "
        f"({annotation.labels[index]}); merged into one relation with label {annotation.label!r}"
    )


def _rows(path: Path, columns: int) -> Iterator[tuple[int, list[str]]]:
    """The non-blank lines of a TSV file as (line number, fields), each with ``columns`` fields."""
    for number, raw_line in enumerate(read_text_file(path).split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != columns:
            raise CorpusFormatError(
                path, f"expected {columns} tab-separated columns, found {len(fields)}", line=number
            )
        yield number, fields


def _read_abstracts(path: Path, *, source: str, split: str) -> dict[str, Document]:
    documents: dict[str, Document] = {}
    for number, (pmid, title, abstract) in _rows(path, 3):
        if pmid in documents:
            raise CorpusFormatError(path, f"PMID {pmid} already seen", line=number)
        text = title + TITLE_SEPARATOR + abstract
        passages = []
        if title:
            passages.append(Passage(f"{pmid}-title", "title", title, [(0, len(title))]))
        if abstract:
            start = len(title) + len(TITLE_SEPARATOR)
            passages.append(Passage(f"{pmid}-abstract", "abstract", abstract, [(start, len(text))]))
        if not passages:
            raise CorpusFormatError(
                path, f"PMID {pmid} has neither title nor abstract", line=number
            )
        documents[pmid] = Document(
            id=pmid, source=source, split=split, text=text, passages=passages
        )
    return documents


def _read_entities(path: Path, documents: dict[str, Document]) -> None:
    seen: set[tuple[str, str]] = set()
    for number, (pmid, entity_id, entity_type, start_field, end_field, text) in _rows(path, 6):
        document = documents.get(pmid)
        if document is None:
            raise CorpusFormatError(path, f"PMID {pmid} is not in the abstracts file", line=number)
        if (pmid, entity_id) in seen:
            raise CorpusFormatError(
                path, f"entity {entity_id} of PMID {pmid} already seen", line=number
            )
        seen.add((pmid, entity_id))
        try:
            start, end = int(start_field), int(end_field)
        except ValueError:
            raise CorpusFormatError(
                path, f"offsets {start_field!r}, {end_field!r} are not integers", line=number
            ) from None
        if not 0 <= start < end <= len(document.text):
            raise CorpusFormatError(
                path,
                f"offsets [{start}, {end}) of {entity_id} are empty or beyond the text of PMID "
                f"{pmid} (length {len(document.text)})",
                line=number,
            )
        if document.text[start:end] != text:
            raise CorpusFormatError(
                path,
                f"entity text {text!r} differs from the text at [{start}, {end}) of PMID {pmid}: "
                f"{document.text[start:end]!r}",
                line=number,
            )
        document.entities.append(
            Entity(id=entity_id, type=entity_type, text=text, offsets=[(start, end)])
        )


def _argument(field_value: str, prefix: str, path: Path, number: int) -> str:
    if not field_value.startswith(prefix) or len(field_value) == len(prefix):
        raise CorpusFormatError(path, f"expected {prefix}T#, found {field_value!r}", line=number)
    return field_value[len(prefix) :]


def _relation_key(
    fields: list[str], entity_ids: Mapping[str, set[str]], path: Path, number: int
) -> RelationKey:
    """Check the ``PMID, CPR:n, Arg1:T#, Arg2:T#`` fields of a relation line and return its key."""
    pmid, group, arg1_field, arg2_field = (value.strip() for value in fields)
    known = entity_ids.get(pmid)
    if known is None:
        raise CorpusFormatError(path, f"PMID {pmid} is not in the abstracts file", line=number)
    if not group.startswith("CPR:"):
        raise CorpusFormatError(path, f"expected a CPR group, found {group!r}", line=number)
    arg1 = _argument(arg1_field, "Arg1:", path, number)
    arg2 = _argument(arg2_field, "Arg2:", path, number)
    for arg in (arg1, arg2):
        if arg not in known:
            raise CorpusFormatError(
                path, f"relation argument {arg} is not an entity of PMID {pmid}", line=number
            )
    return (pmid, group, arg1, arg2)


def _read_relations(
    path: Path, entity_ids: Mapping[str, set[str]]
) -> dict[RelationKey, _Annotated]:
    """Relations-file lines by relation, in file order; a relation annotated twice has two lines."""
    annotated: dict[RelationKey, _Annotated] = {}
    for number, (pmid, group, eval_field, label, arg1, arg2) in _rows(path, 6):
        key = _relation_key([pmid, group, arg1, arg2], entity_ids, path, number)
        evaluated = eval_field.strip()  # the real files write "Y " and "N "
        if evaluated not in ("Y", "N"):
            raise CorpusFormatError(path, f"eval is {eval_field!r}, expected Y or N", line=number)
        annotation = annotated.get(key)
        if annotation is None:
            annotation = annotated[key] = _Annotated(eval=evaluated)
        elif annotation.eval != evaluated:
            raise CorpusFormatError(
                path,
                f"eval={evaluated} contradicts line {annotation.lines[0]} for the same relation",
                line=number,
            )
        annotation.labels.append(label.strip())
        annotation.lines.append(number)
    return annotated


def _read_gold_standard(
    path: Path, entity_ids: Mapping[str, set[str]], skipped: list[SkippedRecord]
) -> dict[RelationKey, int]:
    """Gold relations in file order, each with its first line number; repeated lines are skipped."""
    gold: dict[RelationKey, int] = {}
    for number, fields in _rows(path, 4):
        key = _relation_key(fields, entity_ids, path, number)
        if key in gold:
            skipped.append(
                SkippedRecord(
                    str(path), _record(key, number), f"repeats gold-standard line {gold[key]}"
                )
            )
            continue
        gold[key] = number
    return gold


def _record(key: RelationKey, line: int) -> str:
    pmid, group, arg1, arg2 = key
    return f"PMID {pmid} {group} Arg1:{arg1} Arg2:{arg2} (line {line})"
