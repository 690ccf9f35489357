"""RA-IT / UniversalNER conversation-style NER (seed 001_a90766f451346727.txt, METHODS.md B).

Each instance is one question about one entity type, as UniversalNER's evaluation data are::

    system     A virtual assistant answers questions from a user based on the provided text.
    [user      Here are some examples of named entity recognition:
               Text: <example text>
               Entity: [{"<mention>": "<type>"}, …]
               …                                                     (RA-IT, only with examples)
     assistant I've read these examples.]
    user       Text: <document text>
    assistant  I've read this text.
    user       What describes <type> in the text?
    → answer   ["<mention>", …]

Choices, and why:

* **One instance per question.** RA-IT trains on multi-turn conversations whose later questions
  see the earlier answers, but serves one question per conversation; here training and serving
  prompts are the same and every question stands alone.
* **Examples turn** (RA-IT): before the text turn, as RA-IT's ``5.gen_rag_it_data.py`` puts it,
  with RA-IT's wording; each example's entities are a JSON list of ``{mention: type}`` objects in
  text order (RA-IT wrote a Python repr), restricted to the schema types, shown names used.
* **Answers are deduplicated** (``dedupe=True`` by default): each exact mention text once, in
  order of first occurrence, as UniversalNER's evaluation reads answers as sets; the parser then
  drops a repeated mention (``repeated_output``). JSON is written with ``ensure_ascii=False``.
* **Negative types** (training, ``all_types=False``): for each positive type a coin flip with
  ``negative_prob`` (RA-IT: 0.5) adds one absent type, drawn without replacement with weights
  ``type_frequencies`` (uniform when empty; a type missing from a given mapping weighs 0). RA-IT's
  ``random.sample(..., counts=…)`` could draw one type twice; this cannot. A document with no
  entity gets no question, as in RA-IT. ``all_types=True`` (evaluation, serving) asks every type.
* **Order**: with ``shuffle`` the asked types are shuffled with the ``rng``; else schema order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bioie_kedro.prompting.base import (
    Example,
    ParsedAnswer,
    PromptInstance,
    SchemaSettings,
    instance_id,
    message,
    ner_gold,
)
from bioie_kedro.prompting.parsing import parse_single
from bioie_kedro.schema import Document

NAME = "conversation"
TASKS = ("ner",)

#: UniversalNER's system message (conversation template ``ie_as_qa``).
UNIVERSAL_NER_SYSTEM = (
    "A virtual assistant answers questions from a user based on the provided text."
)
TEXT_TURN = "Text: {text}"
TEXT_RECEIVED = "I've read this text."
QUESTION = "What describes {label} in the text?"
EXAMPLES_INTRO = "Here are some examples of named entity recognition:\n{examples}"
EXAMPLE_TEMPLATE = "Text: {text}\nEntity: {entities}"
EXAMPLES_RECEIVED = "I've read these examples."


@dataclass(frozen=True)
class ConversationSettings(SchemaSettings):
    """Options of the conversation format (RA-IT's names where it has them)."""

    dedupe: bool = field(
        default=True,
        metadata={"help": "Answers list each exact mention once (UniversalNER reads sets)."},
    )
    system_prompt: str | None = field(
        default=UNIVERSAL_NER_SYSTEM,
        metadata={"help": "System message; UniversalNER's by default, None for none."},
    )
    all_types: bool = field(
        default=False,
        metadata={
            "help": "Ask every schema type (evaluation and serving); False samples negatives "
            "for training."
        },
    )
    negative_prob: float = field(
        default=0.5,
        metadata={"help": "RA-IT's sample_prob: chance per positive type of adding a negative."},
    )
    type_frequencies: Mapping[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "Weights of the negative draw (training mention counts per type); empty: "
            "uniform; a type left out weighs 0."
        },
    )
    shuffle: bool = field(
        default=True, metadata={"help": "Shuffle the asked types with the rng (RA-IT does)."}
    )
    question: str = field(
        default=QUESTION,
        metadata={"help": "The question template; must contain {label}."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.entity_types:
            raise ValueError("the conversation format is NER only: it needs entity_types")
        if isinstance(self.negative_prob, bool) or not isinstance(self.negative_prob, int | float):
            raise ValueError(f"negative_prob must be a number, got {self.negative_prob!r}")
        if not 0.0 <= self.negative_prob <= 1.0:
            raise ValueError(f"negative_prob must be in [0, 1], got {self.negative_prob!r}")
        if not isinstance(self.type_frequencies, Mapping):
            raise ValueError("type_frequencies must be a mapping type -> weight")
        frequencies = dict(self.type_frequencies)
        unknown = sorted(set(frequencies) - set(self.entity_types))
        if unknown:
            raise ValueError(f"type_frequencies name types not in entity_types: {unknown}")
        for key, weight in frequencies.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise ValueError(f"type_frequencies[{key!r}] must be a number >= 0, got {weight!r}")
        object.__setattr__(self, "type_frequencies", frequencies)
        if not isinstance(self.question, str) or "{label}" not in self.question:
            raise ValueError(
                f"question must be a template containing {{label}}, got {self.question!r}"
            )

    def weight(self, key: str) -> float:
        """The weight of ``key`` in the negative draw."""
        if not self.type_frequencies:
            return 1.0
        return float(self.type_frequencies.get(key, 0.0))


Settings = ConversationSettings


def sample_negatives(
    positives: Sequence[str],
    candidates: Sequence[str],
    *,
    settings: ConversationSettings,
    rng: random.Random,
) -> list[str]:
    """RA-IT's negative types: one coin flip per positive, then a weighted draw without replacement.

    ``candidates`` are the types without mentions, in schema order; types of weight 0 are never
    drawn, so fewer negatives come back when the weighted pool runs out.
    """
    count = sum(rng.random() < settings.negative_prob for _ in positives)
    pool = [key for key in candidates if settings.weight(key) > 0]
    chosen: list[str] = []
    while pool and len(chosen) < count:
        weights = [settings.weight(key) for key in pool]
        pick = rng.choices(range(len(pool)), weights=weights)[0]
        chosen.append(pool.pop(pick))
    return chosen


def _text_order(
    text: str, answer: Mapping[str, Sequence[str]], keys: Sequence[str]
) -> list[tuple[str, str]]:
    """``(mention, key)`` pairs of an example answer in the order the mentions occur in ``text``."""
    placed = []
    for rank, key in enumerate(keys):
        next_from: dict[str, int] = {}
        for index, mention in enumerate(answer.get(key, [])):
            position = text.find(mention, next_from.get(mention, 0))
            next_from[mention] = position + 1 if position >= 0 else 0
            placed.append((position if position >= 0 else len(text), rank, index, mention, key))
    return [(mention, key) for *_, mention, key in sorted(placed)]


def examples_turn(
    examples: Sequence[Example], *, settings: ConversationSettings
) -> list[dict[str, str]]:
    """RA-IT's examples turn (user and assistant message); empty without examples."""
    if not examples:
        return []
    rendered = []
    for example in examples:
        entities = [
            {mention: settings.shown(key)}
            for mention, key in _text_order(example.text, example.answer, settings.entity_types)
        ]
        rendered.append(
            EXAMPLE_TEMPLATE.format(
                text=example.text, entities=json.dumps(entities, ensure_ascii=False)
            )
        )
    return [
        message("user", EXAMPLES_INTRO.format(examples="\n".join(rendered))),
        message("assistant", EXAMPLES_RECEIVED),
    ]


def render(
    doc: Document,
    *,
    task: str,
    settings: ConversationSettings,
    rng: random.Random,
    examples: Sequence[Example] = (),
) -> list[PromptInstance]:
    """One instance per asked entity type of ``doc`` (see the module docstring).

    Raises:
        ValueError: a task other than ``"ner"``.
    """
    if task not in TASKS:
        raise ValueError(f"the conversation format supports {TASKS}, not {task!r}")
    schema = settings.keys_for(task)
    gold = ner_gold(doc, schema, dedupe=settings.dedupe)
    if settings.all_types:
        asked = list(schema)
    else:
        positives = [key for key in schema if gold[key]]
        negatives = sample_negatives(
            positives, [key for key in schema if not gold[key]], settings=settings, rng=rng
        )
        chosen = set(positives) | set(negatives)
        asked = [key for key in schema if key in chosen]
    if settings.shuffle:
        rng.shuffle(asked)
    prefix = (
        *settings.system_messages(),
        *examples_turn(examples, settings=settings),
        message("user", TEXT_TURN.format(text=doc.text)),
        message("assistant", TEXT_RECEIVED),
    )
    example_ids = [example.id for example in examples]
    return [
        PromptInstance(
            id=instance_id(doc.source, doc.id, NAME, task, key),
            document_id=doc.id,
            source=doc.source,
            format=NAME,
            task=task,
            messages=(
                *prefix,
                message("user", settings.question.format(label=settings.shown(key))),
            ),
            answer=json.dumps(gold[key], ensure_ascii=False),
            gold={key: list(gold[key])},
            keys=(key,),
            meta={
                "question": index,
                "negative": not gold[key],
                "labels": settings.label_map([key]),
                "dedupe": settings.dedupe,
                "example_ids": example_ids,
                "text": doc.text,  # what answers copy from (generation's copy_mentions)
            },
        )
        for index, key in enumerate(asked)
    ]


def parse(text: str, instance: PromptInstance, *, document_text: str | None = None) -> ParsedAnswer:
    """Read a JSON list of mentions into ``{key: [mention, …]}`` for the instance's one key.

    See :mod:`bioie_kedro.prompting.parsing` for the rules and problem codes.
    """
    (key,) = instance.keys
    return parse_single(
        text,
        key=key,
        task="ner",
        dedupe=bool(instance.meta.get("dedupe", True)),
        document_text=document_text,
    )
