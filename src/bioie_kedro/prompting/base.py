"""What every instruction format shares: prompt instances, parsed answers, examples, gold views.

A *format* (:mod:`~bioie_kedro.prompting.iepile`, :mod:`~bioie_kedro.prompting.conversation`,
:mod:`~bioie_kedro.prompting.listing`) turns a :class:`~bioie_kedro.schema.Document` into
:class:`PromptInstance`\\ s with ``render`` and reads a model's completion back with ``parse``;
``parse(instance.answer, instance)`` returns ``instance.gold`` with status ``"ok"`` for every
instance a format renders, so training targets and serving parsers cannot drift apart.

Gold answers (the ``gold`` of an instance, the ``answer`` of an :class:`Example`) are plain dicts:

* **NER** ``{entity type: [mention, …]}``: mention texts in text order (start, then end offset);
  a multiset (one item per annotated mention) unless the format's settings say ``dedupe``, which
  keeps the first occurrence of each exact text (:func:`ner_gold`).
* **RE** ``{relation type: [[head, tail], …]}``: distinct (head, tail) string pairs, duplicates
  collapsed as IEPile's converter does, ordered by the text position of head then tail
  (:func:`re_gold`). Mention-level relations (DDI, ChemProt) use the argument entities' texts;
  concept-level relations (BC5CDR CID) use, for each concept, its first mention in text order.

Keys are *schema* types. What the prompt shows can differ (``labels``, e.g. ``"Chemical"`` shown
as ``"chemical"``); parsers map shown names back. Every key an instance asks is present in a
parsed answer, with ``[]`` when nothing was found.

Problem codes a parser may report (:data:`PROBLEMS`) are counted by :func:`parse_report`; an
answer is ``"ok"`` with no problem, ``"repaired"`` when something was dropped or worked around,
``"unparsable"`` when nothing usable was recovered (``answer`` is ``None``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from bioie_kedro.metrics.strings import StringRecord, merge_chunk_predictions
from bioie_kedro.schema import Document, Entity
from bioie_kedro.views import mentions_by_type, relation_pairs

Task = Literal["ner", "re"]
TASKS: tuple[Task, ...] = ("ner", "re")

ParseStatus = Literal["ok", "repaired", "unparsable"]
PARSE_STATUSES: tuple[ParseStatus, ...] = ("ok", "repaired", "unparsable")

#: Every problem code a parser can report, with what it means.
PROBLEMS: dict[str, str] = {
    "empty_output": "the output is empty or white space only (unparsable)",
    "no_json": "no JSON (or Python literal) value could be read from the output (unparsable)",
    "wrong_shape": "the output holds JSON, but not of the format's top-level shape (unparsable)",
    "prose_around_json": "text before or after the answer's JSON value (it was ignored)",
    "python_literal": "the answer was a Python literal (single quotes, trailing comma), read with ast.literal_eval",
    "truncated": "the JSON was cut off; complete items were kept (unparsable when none were)",
    "repeated_output": "the same JSON block emitted again, a key given twice, or an item repeated more often than allowed; the extra copies were dropped",
    "unknown_key": "a key that is not among the instance's keys (dropped)",
    "missing_key": "a key of the instance absent from a complete answer (filled with [])",
    "wrong_item_type": "an item of the wrong type (not a non-empty string / head-tail pair) or a value that is not a list (dropped)",
    "mention_restored": "a mention found in the document text only without the white space around it, or ignoring case and the spacing around punctuation; the text's own form replaced it",
    "mention_not_in_text": "a mention that does not occur in the document text, not even ignoring case and spacing (dropped)",
}

#: An answer: key (schema type) → items (mention strings, or ``[head, tail]`` pairs for RE).
Answer = dict[str, list]


@dataclass(frozen=True, slots=True)
class PromptInstance:
    """One prompt with its gold completion, as a format renders it for one document.

    ``messages`` form the prompt and end with a user turn; ``answer`` is the gold completion text,
    written by the same renderer whose parser reads it back into ``gold``.
    """

    id: str
    document_id: str
    source: str
    format: str
    task: str
    messages: tuple[dict[str, str], ...]
    answer: str
    gold: dict[str, list]
    keys: tuple[str, ...]
    meta: dict[str, Any]


@dataclass(slots=True)
class ParsedAnswer:
    """A model output read back by a format's parser.

    ``answer`` has the shape of :attr:`PromptInstance.gold` with exactly the instance's keys, or is
    ``None`` when the output was unparsable. ``problems`` lists each problem code once, in the
    order first met.
    """

    answer: dict[str, list] | None
    status: ParseStatus
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Example:
    """A solved example shown in a prompt (RAG-ICL, RA-IT): a text and its gold answer.

    ``answer`` is keyed by schema type, like :attr:`PromptInstance.gold`; ``id`` is the example's
    document id, recorded in the instance's ``meta["example_ids"]``.
    """

    text: str
    answer: dict[str, list]
    id: str


class PromptFormat(Protocol):
    """What :func:`bioie_kedro.prompting.get_format` returns: a format module."""

    NAME: str
    TASKS: tuple[str, ...]
    Settings: type

    def render(
        self,
        doc: Document,
        *,
        task: str,
        settings: Any,
        rng: random.Random,
        examples: Sequence[Example] = (),
    ) -> list[PromptInstance]: ...

    def parse(
        self, text: str, instance: PromptInstance, *, document_text: str | None = None
    ) -> ParsedAnswer: ...


# --------------------------------------------------------------------------------------------
# Settings shared by every format
# --------------------------------------------------------------------------------------------


def _check_names(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{what} must be a list of names, got {values!r}")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{what} must hold non-empty strings, got {name!r}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{what} lists {duplicates} more than once")
    return names


@dataclass(frozen=True)
class SchemaSettings:
    """The corpus schema and how it is shown; every format's settings extend this.

    Validated on construction: a :class:`ValueError` names the offending field.
    """

    entity_types: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Entity types of the corpus, in the fixed order prompts list them."},
    )
    relation_types: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "Relation types of the corpus, in a fixed order (leave out the negative "
            "type 'none')."
        },
    )
    labels: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "Schema type -> name shown in the prompt (default: the type itself); the "
            "parser maps shown names back, so shown names must be distinct."
        },
    )
    dedupe: bool = field(
        default=False,
        metadata={
            "help": "NER answers keep only the first occurrence of each exact mention text per "
            "type (default: one item per annotated mention, a multiset)."
        },
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "A system message put first in every prompt; None: none."}
    )

    def __post_init__(self) -> None:
        entity_types = _check_names(self.entity_types, "entity_types")
        relation_types = _check_names(self.relation_types, "relation_types")
        object.__setattr__(self, "entity_types", entity_types)
        object.__setattr__(self, "relation_types", relation_types)
        if not entity_types and not relation_types:
            raise ValueError("settings need entity_types or relation_types (the corpus schema)")
        if not isinstance(self.labels, Mapping):
            raise ValueError(f"labels must be a mapping type -> shown name, got {self.labels!r}")
        labels = dict(self.labels)
        known = set(entity_types) | set(relation_types)
        unknown = sorted(set(labels) - known)
        if unknown:
            raise ValueError(f"labels name types that are not in the schema: {unknown}")
        for key, shown in labels.items():
            if not isinstance(shown, str) or not shown.strip():
                raise ValueError(f"labels[{key!r}] must be a non-empty string, got {shown!r}")
        object.__setattr__(self, "labels", labels)
        for what, keys in (("entity_types", entity_types), ("relation_types", relation_types)):
            shown_names = [labels.get(key, key) for key in keys]
            clashes = sorted({name for name in shown_names if shown_names.count(name) > 1})
            if clashes:
                raise ValueError(
                    f"labels show several {what} under the same name {clashes}; the parser could "
                    "not map them back"
                )
        if self.system_prompt is not None and (
            not isinstance(self.system_prompt, str) or not self.system_prompt.strip()
        ):
            raise ValueError("system_prompt must be None or a non-empty string")

    def keys_for(self, task: str) -> tuple[str, ...]:
        """The schema keys of ``task``: entity types for NER, relation types for RE.

        Raises:
            ValueError: unknown task, or the schema has no type for it.
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        keys = self.entity_types if task == "ner" else self.relation_types
        if not keys:
            field_name = "entity_types" if task == "ner" else "relation_types"
            raise ValueError(f"task {task!r} needs {field_name} in the settings")
        return keys

    def shown(self, key: str) -> str:
        """The name the prompt shows for schema type ``key``."""
        return self.labels.get(key, key)

    def label_map(self, keys: Sequence[str]) -> dict[str, str]:
        """``{shown name: schema key}`` for ``keys``: what a parser needs to map names back."""
        return {self.shown(key): key for key in keys}

    def system_messages(self) -> list[dict[str, str]]:
        """The system message as a one-item list, or an empty list."""
        return [] if self.system_prompt is None else [message("system", self.system_prompt)]


def settings_help(settings_class: type) -> dict[str, str]:
    """``{field: help string}`` of a settings dataclass, for documentation and CLIs."""
    return {f.name: f.metadata.get("help", "") for f in fields(settings_class)}


def message(role: str, content: str) -> dict[str, str]:
    """A chat message ``{"role": role, "content": content}``."""
    return {"role": role, "content": content}


def instance_id(source: str, document_id: str, format_name: str, task: str, part: object) -> str:
    """``source|document|format|task|part``: unique per rendered instance and reproducible."""
    return f"{source}|{document_id}|{format_name}|{task}|{part}"


# --------------------------------------------------------------------------------------------
# Gold answers
# --------------------------------------------------------------------------------------------


def ner_gold(doc: Document, entity_types: Sequence[str], *, dedupe: bool) -> dict[str, list[str]]:
    """``{type: [mention, …]}`` for every type in ``entity_types``, in text order."""
    return mentions_by_type(doc, types=entity_types, dedupe=dedupe)


def _surface(entity: Entity | None, mentions: Sequence[Entity]) -> Entity | None:
    """The mention that stands for a relation argument: the entity, or the concept's first."""
    if entity is not None:
        return entity
    return mentions[0] if mentions else None


def re_gold(doc: Document, relation_types: Sequence[str]) -> dict[str, list[list[str]]]:
    """``{relation: [[head, tail], …]}`` for every type in ``relation_types``.

    Pairs are distinct per relation type and ordered by the start of the head's mention, then the
    tail's; relations of other types (e.g. DDI's negative ``"none"``) are left out. A concept-level
    argument is shown by its first mention in text order; one with no mention is left out.
    """
    ordered: dict[str, list[tuple[tuple[int, int, int], list[str]]]] = {
        key: [] for key in relation_types
    }
    for index, pair in enumerate(relation_pairs(doc)):
        if pair.type not in ordered:
            continue
        head = _surface(pair.head, pair.head_mentions)
        tail = _surface(pair.tail, pair.tail_mentions)
        if head is None or tail is None:
            continue
        ordered[pair.type].append(((head.start, tail.start, index), [head.text, tail.text]))
    gold: dict[str, list[list[str]]] = {}
    for key, items in ordered.items():
        seen: set[tuple[str, str]] = set()
        gold[key] = []
        for _, (head_text, tail_text) in sorted(items, key=lambda item: item[0]):
            if (head_text, tail_text) not in seen:
                seen.add((head_text, tail_text))
                gold[key].append([head_text, tail_text])
    return gold


def gold_answer(doc: Document, *, task: str, settings: SchemaSettings) -> dict[str, list]:
    """The gold answer of ``doc`` over every schema key of ``task`` (see the module docstring)."""
    keys = settings.keys_for(task)
    if task == "ner":
        return ner_gold(doc, keys, dedupe=settings.dedupe)
    return re_gold(doc, keys)


def make_example(doc: Document, *, task: str, settings: SchemaSettings) -> Example:
    """A training document as an in-context :class:`Example` (text, gold answer, document id)."""
    return Example(text=doc.text, answer=gold_answer(doc, task=task, settings=settings), id=doc.id)


# --------------------------------------------------------------------------------------------
# Records, reports, string scores
# --------------------------------------------------------------------------------------------


def instances_to_records(instances: Sequence[PromptInstance]) -> list[dict[str, Any]]:
    """Instances as plain JSON-able dicts (tuples become lists), e.g. for a JSON Lines dataset."""
    records = []
    for instance in instances:
        record = {f.name: getattr(instance, f.name) for f in fields(PromptInstance)}
        record["messages"] = [dict(m) for m in instance.messages]
        record["keys"] = list(instance.keys)
        records.append(record)
    return records


def instances_from_records(records: Sequence[Mapping[str, Any]]) -> list[PromptInstance]:
    """Inverse of :func:`instances_to_records`.

    Raises:
        ValueError: a record lacks a field of :class:`PromptInstance`.
    """
    names = [f.name for f in fields(PromptInstance)]
    instances = []
    for index, record in enumerate(records):
        missing = [name for name in names if name not in record]
        if missing:
            raise ValueError(f"record {index} lacks the fields {missing}")
        values = {name: record[name] for name in names}
        values["messages"] = tuple(dict(m) for m in record["messages"])
        values["keys"] = tuple(record["keys"])
        values["gold"] = {key: list(items) for key, items in record["gold"].items()}
        values["meta"] = dict(record["meta"])
        instances.append(PromptInstance(**values))
    return instances


def parse_report(parsed: Sequence[ParsedAnswer]) -> dict[str, Any]:
    """How many answers had each status and each problem (an answer counts once per code).

    Every status and every code of :data:`PROBLEMS` is present, so reports compare across runs.
    """
    by_status = dict.fromkeys(PARSE_STATUSES, 0)
    by_problem = dict.fromkeys(PROBLEMS, 0)
    for answer in parsed:
        by_status[answer.status] += 1
        for code in dict.fromkeys(answer.problems):
            by_problem[code] = by_problem.get(code, 0) + 1
    return {"total": len(parsed), "by_status": by_status, "by_problem": by_problem}


def to_string_records(
    instances: Sequence[PromptInstance], parsed: Sequence[ParsedAnswer]
) -> list[StringRecord]:
    """One :class:`~bioie_kedro.metrics.strings.StringRecord` per document, for string scores.

    The instances of a document (IEPile schema chunks, one question per type) are merged with
    :func:`~bioie_kedro.metrics.strings.merge_chunk_predictions`: gold is the union of the
    instances' golds (every key asked for the document), the prediction the union of the parsed
    answers; one unparsable instance makes the document's prediction ``None``.

    Raises:
        ValueError: ``instances`` and ``parsed`` differ in length.
    """
    if len(instances) != len(parsed):
        raise ValueError(f"{len(instances)} instances but {len(parsed)} parsed answers")
    gold_by_document: dict[tuple[str, str], dict[str, list]] = {}
    for instance in instances:
        gold = gold_by_document.setdefault((instance.source, instance.document_id), {})
        for key, items in instance.gold.items():
            gold.setdefault(key, list(items))
    chunks = [
        StringRecord(
            id=instance.document_id,
            source=instance.source,
            gold=gold_by_document[(instance.source, instance.document_id)],
            predicted=answer.answer,
        )
        for instance, answer in zip(instances, parsed, strict=True)
    ]
    return merge_chunk_predictions(chunks)
