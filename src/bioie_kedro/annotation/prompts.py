"""The relation-annotation prompt, its JSON schema, and strict parsing and validation of answers.

One prompt per sentence (seed 003, zero-shot): the sentence, its entities, each with an id
(``E1``, ``E2``… in text order) so that a name occurring twice stays two entities, and the
relations the spec allows for the type pairs present. The model answers one JSON object::

    {"relations": [{"relation": "treats", "head": "E1", "tail": "E2"}]}

Backends that support it constrain the answer to :func:`relation_response_schema` (the ids and
relation names as enums). Every answer is still parsed strictly (``json.loads`` only, never
``eval``; duplicate keys, ``NaN`` and extra keys rejected) and every triple validated
(:func:`validate_answer`): head and tail must be listed entities, different from each other, and
the relation must be allowed for the *types* of head and tail. What is rejected is counted by
reason (:data:`REJECTION_REASONS`, :data:`ANSWER_PROBLEMS`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bioie_kedro.relation_extraction.candidates import SentenceEntity, SentenceUnit, candidate_pairs
from bioie_kedro.relation_extraction.specs import RelationSpec

#: Problems that make a whole answer unusable.
ANSWER_PROBLEMS = ("invalid_json", "malformed_answer")

#: Why a triple of a well-formed answer is rejected, in the order the checks run.
REJECTION_REASONS = (
    "malformed_triple",
    "unknown_head",
    "unknown_tail",
    "same_head_and_tail",
    "unknown_relation",
    "reversed_arguments",
    "relation_not_allowed_for_types",
    "duplicate",
    "conflicting_label",
)

SYSTEM_MESSAGE = (
    "You are a biomedical curator. You annotate the relations between entities that a sentence "
    "states explicitly, and you answer with JSON only."
)

INSTRUCTIONS = (
    "List every relation that the sentence states explicitly between two of the listed entities. "
    "Give head and tail as entity ids, and use only a relation allowed for the head's and the "
    "tail's types, in that order. Do not add relations from background knowledge. Answer with one "
    'JSON object {"relations": [{"relation": ..., "head": ..., "tail": ...}]}; the list is empty '
    "when the sentence states no relation."
)

_TRIPLE_KEYS = frozenset({"relation", "head", "tail"})


@dataclass(frozen=True)
class AnnotationPrompt:
    """Chat messages and, optionally, the JSON schema the answer must follow."""

    messages: tuple[Mapping[str, str], ...]
    response_schema: Mapping[str, Any] | None = None
    schema_name: str = "relations"

    def canonical(self) -> str:
        """Stable JSON of everything that reaches the model."""
        return json.dumps(
            {
                "messages": [dict(m) for m in self.messages],
                "response_schema": self.response_schema,
                "schema_name": self.schema_name,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


def prompt_entities(unit: SentenceUnit, spec: RelationSpec) -> list[tuple[str, SentenceEntity]]:
    """``(E<n>, entity)`` for every entity of a candidate pair of the sentence, in text order."""
    pairs, _ = candidate_pairs(unit, spec)
    involved = {entity.id for pair in pairs for entity in (pair.head, pair.tail)}
    listed = [entity for entity in unit.entities if entity.id in involved]
    return [(f"E{index}", entity) for index, entity in enumerate(listed, start=1)]


def relation_response_schema(entity_labels: Sequence[str], relations: Sequence[str]) -> dict:
    """JSON schema of an answer: ``{"relations": [{"relation", "head", "tail"}]}`` with enums."""
    return {
        "type": "object",
        "properties": {
            "relations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "relation": {"type": "string", "enum": list(relations)},
                        "head": {"type": "string", "enum": list(entity_labels)},
                        "tail": {"type": "string", "enum": list(entity_labels)},
                    },
                    "required": ["relation", "head", "tail"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["relations"],
        "additionalProperties": False,
    }


def relation_prompt(unit: SentenceUnit, spec: RelationSpec) -> AnnotationPrompt | None:
    """The prompt of one sentence; ``None`` when it has no candidate pair."""
    listed = prompt_entities(unit, spec)
    if not listed:
        return None
    types = {label: entity.type for label, entity in listed}
    present = sorted(
        {(types[a], types[b]) for a in types for b in types if a != b} & set(spec.allowed),
        key=list(spec.allowed).index,
    )
    entity_lines = "\n".join(f"{label} | {entity.type} | {entity.text}" for label, entity in listed)
    relation_lines = "\n".join(
        f"{head} | {tail}: {', '.join(spec.relations_for(head, tail))}" for head, tail in present
    )
    user = (
        f"Sentence: {unit.text}\n\n"
        f"Entities (id | type | text):\n{entity_lines}\n\n"
        f"Allowed relations (head type | tail type: relations):\n{relation_lines}\n\n"
        f"{INSTRUCTIONS}"
    )
    relations = sorted({name for pair in present for name in spec.relations_for(*pair)})
    return AnnotationPrompt(
        messages=(
            {"role": "system", "content": SYSTEM_MESSAGE},
            {"role": "user", "content": user},
        ),
        response_schema=relation_response_schema([label for label, _ in listed], relations),
    )


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _DuplicateKeyError(f"duplicate keys in {keys}")
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@dataclass
class ParsedAnswer:
    """The triples of an answer, or the problem that makes it unusable."""

    triples: list[Any] | None
    problem: str | None = None
    detail: str = ""


def parse_relation_answer(answer: str) -> ParsedAnswer:
    """Parse an answer strictly: exactly one JSON object ``{"relations": [...]}``.

    Surrounding white space is allowed; code fences, comments, trailing text, duplicate keys,
    ``NaN``/``Infinity`` and keys other than ``relations`` are not.
    """
    try:
        data = json.loads(
            answer, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except _DuplicateKeyError as exc:
        return ParsedAnswer(None, "malformed_answer", str(exc))
    except (ValueError, TypeError) as exc:
        return ParsedAnswer(None, "invalid_json", str(exc)[:200])
    if not isinstance(data, dict) or set(data) != {"relations"}:
        return ParsedAnswer(None, "malformed_answer", 'expected exactly {"relations": [...]}')
    if not isinstance(data["relations"], list):
        return ParsedAnswer(None, "malformed_answer", '"relations" is not a list')
    return ParsedAnswer(data["relations"])


@dataclass
class ValidatedAnswer:
    """What one sentence's answer contributes: accepted triples (entity ids) and rejections."""

    sentence_key: str
    problem: str | None
    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    proposed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentence_key": self.sentence_key,
            "problem": self.problem,
            "proposed": self.proposed,
            "relations": [
                {"relation": relation, "head": head, "tail": tail}
                for relation, head, tail in self.accepted
            ],
            "rejected": dict(sorted(self.rejected.items())),
        }


def validate_answer(unit: SentenceUnit, spec: RelationSpec, answer: str) -> ValidatedAnswer:
    """Parse ``answer`` and check each triple against the sentence's listed entities and the spec.

    Accepted triples carry document entity ids. A pair keeps its first accepted relation; a second
    relation on it is rejected as ``conflicting_label`` (the student predicts one label per pair).
    """
    parsed = parse_relation_answer(answer)
    result = ValidatedAnswer(unit.key, parsed.problem)
    if parsed.triples is None:
        return result
    listed = dict(prompt_entities(unit, spec))
    known_relations = set(spec.relation_names)
    labelled: dict[tuple[str, str], str] = {}
    for triple in parsed.triples:
        result.proposed += 1
        reason = None
        if (
            not isinstance(triple, dict)
            or set(triple) != _TRIPLE_KEYS
            or not all(isinstance(value, str) for value in triple.values())
        ):
            reason = "malformed_triple"
        elif triple["head"] not in listed:
            reason = "unknown_head"
        elif triple["tail"] not in listed:
            reason = "unknown_tail"
        elif triple["head"] == triple["tail"]:
            reason = "same_head_and_tail"
        elif triple["relation"] not in known_relations:
            reason = "unknown_relation"
        else:
            head, tail = listed[triple["head"]], listed[triple["tail"]]
            relation = triple["relation"]
            pair = (head.id, tail.id)
            if not spec.allows(head.type, tail.type, relation):
                reversed_ok = spec.allows(tail.type, head.type, relation)
                reason = "reversed_arguments" if reversed_ok else "relation_not_allowed_for_types"
            elif labelled.get(pair) == relation:
                reason = "duplicate"
            elif pair in labelled:
                reason = "conflicting_label"
            else:
                labelled[pair] = relation
                result.accepted.append((relation, head.id, tail.id))
        if reason is not None:
            result.rejected[reason] += 1
    return result
