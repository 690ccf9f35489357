"""IEPile / InstructKGC schema-based instructions (seed 004_4837f353d73f2675.txt, METHODS.md E).

The prompt is one user message holding a JSON string, exactly as IEPile's converter writes it
(``json.dumps(..., ensure_ascii=False)``)::

    {
        "instruction": "You are an expert in named entity recognition. …",
        "schema": ["Chemical", "Disease"],
        "input": "<document text>",
    }

and the answer a JSON object with every schema key of the instruction, in its order, absent ones
with ``[]``: NER ``{"Chemical": ["cisplatin", …], "Disease": []}``, RE
``{"CID": [{"head": "cisplatin", "tail": "nephrotoxicity"}]}``. The instruction strings are
IEPile's (``ie2instruction/convert/utils/instruction.py``, English and Chinese).

What follows IEPile and what deliberately differs:

* The schema is split into chunks of ``split_num`` keys (6 for NER, 4 for RE by default); a
  leftover of at least half ``split_num`` is a chunk of its own, a smaller one joins the last
  chunk (:func:`chunk_schema`). One instance per chunk; ``meta["chunk"]`` is its index.
* Negatives: every schema key without gold items is asked by default (IEPile's
  ``neg_schema=1``); ``negative_share`` < 1 samples them as IEPile does (a binomial count over
  the schema size, at least one when the document has no positive key).
* Without ``random_sort`` keys keep the settings' order (IEPile sorts them alphabetically); with
  it they are shuffled by the ``rng`` given to :func:`render`, so a seed reproduces the prompts.
* NER answers list every annotated mention (a multiset, in text order) unless ``dedupe``; IEPile's
  converter deduplicates (mention, type) pairs, which ``dedupe=True`` reproduces. RE pairs are
  always distinct (see :func:`~bioie_kedro.prompting.base.re_gold` for how the head and tail
  strings are chosen).

Evaluate by merging a document's chunks: :func:`~bioie_kedro.prompting.base.to_string_records`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bioie_kedro.prompting.base import (
    Example,
    ParsedAnswer,
    PromptInstance,
    SchemaSettings,
    gold_answer,
    instance_id,
    message,
)
from bioie_kedro.prompting.parsing import parse_keyed
from bioie_kedro.schema import Document

NAME = "iepile"
TASKS = ("ner", "re")

#: IEPile's task instructions by (task, language), verbatim.
INSTRUCTIONS: dict[tuple[str, str], str] = {
    ("ner", "en"): (
        "You are an expert in named entity recognition. Please extract entities that match the "
        "schema definition from the input. Return an empty list if the entity type does not "
        "exist. Please respond in the format of a JSON string."
    ),
    ("re", "en"): (
        "You are an expert in relationship extraction. Please extract relationship triples that "
        "match the schema definition from the input. Return an empty list for relationships that "
        "do not exist. Please respond in the format of a JSON string."
    ),
    ("ner", "zh"): (
        "你是专门进行实体抽取的专家。请从input中抽取出符合schema定义的实体，"
        "不存在的实体类型返回空列表。请按照JSON字符串的格式回答。"
    ),
    ("re", "zh"): (
        "你是专门进行关系抽取的专家。请从input中抽取出符合schema定义的关系三元组，"
        "不存在的关系返回空列表。请按照JSON字符串的格式回答。"
    ),
}

#: IEPile's recommended chunk sizes.
DEFAULT_SPLIT_NUM = {"ner": 6, "re": 4}


@dataclass(frozen=True)
class IEPileSettings(SchemaSettings):
    """Options of the IEPile format (IEPile's ``convert_func.py`` names where it has them)."""

    split_num: int | None = field(
        default=None,
        metadata={
            "help": "Most schema keys per instruction; -1 puts all in one; None: IEPile's "
            "recommendation, 6 for NER and 4 for RE."
        },
    )
    negative_share: float = field(
        default=1.0,
        metadata={
            "help": "IEPile's neg_schema: 1 asks every schema key without gold items; a share in "
            "(0, 1) samples them (training only; evaluate with 1)."
        },
    )
    random_sort: bool = field(
        default=False,
        metadata={"help": "Shuffle the schema order with the rng (default: the settings' order)."},
    )
    language: Literal["en", "zh"] = field(
        default="en", metadata={"help": "Language of IEPile's instruction template."}
    )
    instruction: str | None = field(
        default=None,
        metadata={
            "help": "A task instruction replacing IEPile's template, to measure template "
            "sensitivity; None: IEPile's."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.split_num is not None and (
            isinstance(self.split_num, bool)
            or not isinstance(self.split_num, int)
            or not (self.split_num == -1 or self.split_num >= 1)
        ):
            raise ValueError(
                f"split_num must be None, -1 or a positive int, got {self.split_num!r}"
            )
        if isinstance(self.negative_share, bool) or not isinstance(
            self.negative_share, int | float
        ):
            raise ValueError(f"negative_share must be a number, got {self.negative_share!r}")
        if not 0.0 < self.negative_share <= 1.0:
            raise ValueError(f"negative_share must be in (0, 1], got {self.negative_share!r}")
        if self.language not in ("en", "zh"):
            raise ValueError(f"language must be 'en' or 'zh', got {self.language!r}")
        if self.instruction is not None and (
            not isinstance(self.instruction, str) or not self.instruction.strip()
        ):
            raise ValueError("instruction must be None or a non-empty string")

    def chunk_size(self, task: str) -> int:
        """``split_num`` for ``task``, IEPile's recommendation when unset."""
        return DEFAULT_SPLIT_NUM[task] if self.split_num is None else self.split_num

    def task_instruction(self, task: str) -> str:
        """The ``instruction`` field of the prompt for ``task``."""
        return self.instruction or INSTRUCTIONS[(task, self.language)]


Settings = IEPileSettings


def chunk_schema(keys: Sequence[str], split_num: int) -> list[list[str]]:
    """Split ``keys`` into chunks of ``split_num``, IEPile's way.

    Full chunks of ``split_num`` keys, in order; the leftover forms its own chunk when it has at
    least ``max(1, split_num // 2)`` keys, else it joins the last chunk. ``split_num=-1`` gives one
    chunk. No keys give no chunk. E.g. 13 keys by 6 → sizes [6, 7]; 15 by 6 → [6, 6, 3].

    Raises:
        ValueError: ``split_num`` is neither -1 nor positive.
    """
    if split_num != -1 and split_num < 1:
        raise ValueError(f"split_num must be -1 or positive, got {split_num}")
    keys = list(keys)
    if not keys:
        return []
    if split_num == -1 or len(keys) <= split_num:
        return [keys]
    full = len(keys) // split_num * split_num
    chunks = [keys[start : start + split_num] for start in range(0, full, split_num)]
    leftover = keys[full:]
    if len(leftover) >= max(1, split_num // 2):
        chunks.append(leftover)
    else:
        chunks[-1].extend(leftover)
    return chunks


def select_keys(
    schema: Sequence[str],
    gold: Mapping[str, Sequence[Any]],
    *,
    negative_share: float,
    random_sort: bool,
    rng: random.Random,
) -> list[str]:
    """The schema keys one document is asked about, in prompt order (before chunking).

    Positive keys (with gold items) are always asked. Negative keys: all when
    ``negative_share == 1``; else ``k`` ~ Binomial(len(schema), negative_share) of them (at least
    one when there is no positive key, at most all), sampled with ``rng``.
    """
    positives = [key for key in schema if gold.get(key)]
    negatives = [key for key in schema if not gold.get(key)]
    if negative_share < 1.0:
        count = sum(rng.random() < negative_share for _ in schema)
        if not positives:
            count = max(count, 1)
        chosen = set(rng.sample(negatives, min(count, len(negatives))))
        negatives = [key for key in negatives if key in chosen]
    selected = set(positives) | set(negatives)
    keys = [key for key in schema if key in selected]
    if random_sort:
        rng.shuffle(keys)
    return keys


def render_answer(
    gold: Mapping[str, Sequence[Any]], keys: Sequence[str], *, task: str, settings: IEPileSettings
) -> str:
    """The answer JSON for ``keys`` (shown names, in order; RE pairs as head/tail objects)."""
    shown: dict[str, list] = {}
    for key in keys:
        items = list(gold.get(key, []))
        if task == "re":
            items = [{"head": head, "tail": tail} for head, tail in items]
        shown[settings.shown(key)] = items
    return json.dumps(shown, ensure_ascii=False)


def render_instruction(
    text: str, keys: Sequence[str], *, task: str, settings: IEPileSettings
) -> str:
    """The user message: IEPile's instruction JSON string for ``keys`` and ``text``."""
    return json.dumps(
        {
            "instruction": settings.task_instruction(task),
            "schema": [settings.shown(key) for key in keys],
            "input": text,
        },
        ensure_ascii=False,
    )


def render(
    doc: Document,
    *,
    task: str,
    settings: IEPileSettings,
    rng: random.Random,
    examples: Sequence[Example] = (),
) -> list[PromptInstance]:
    """One instance per schema chunk of ``doc`` (see the module docstring).

    Raises:
        ValueError: unknown task, no schema for it, or ``examples`` given (IEPile uses none).
    """
    if examples:
        raise ValueError("the IEPile format takes no in-context examples")
    schema = settings.keys_for(task)
    gold = gold_answer(doc, task=task, settings=settings)
    keys = select_keys(
        schema,
        gold,
        negative_share=settings.negative_share,
        random_sort=settings.random_sort,
        rng=rng,
    )
    chunks = chunk_schema(keys, settings.chunk_size(task))
    instances = []
    for index, chunk in enumerate(chunks):
        chunk_gold = {key: list(gold[key]) for key in chunk}
        instances.append(
            PromptInstance(
                id=instance_id(doc.source, doc.id, NAME, task, index),
                document_id=doc.id,
                source=doc.source,
                format=NAME,
                task=task,
                messages=(
                    *settings.system_messages(),
                    message(
                        "user", render_instruction(doc.text, chunk, task=task, settings=settings)
                    ),
                ),
                answer=render_answer(chunk_gold, chunk, task=task, settings=settings),
                gold=chunk_gold,
                keys=tuple(chunk),
                meta={
                    "chunk": index,
                    "chunks": len(chunks),
                    "negative_keys": [key for key in chunk if not gold[key]],
                    "labels": settings.label_map(chunk),
                    "dedupe": settings.dedupe if task == "ner" else True,
                },
            )
        )
    return instances


def parse(text: str, instance: PromptInstance, *, document_text: str | None = None) -> ParsedAnswer:
    """Read an IEPile answer object into ``{key: [items]}`` over the instance's keys.

    See :mod:`bioie_kedro.prompting.parsing` for the rules and problem codes; RE items must be
    ``{"head": …, "tail": …}`` objects.
    """
    return parse_keyed(
        text,
        keys=instance.keys,
        labels=instance.meta.get("labels") or {key: key for key in instance.keys},
        task=instance.task,
        dedupe=bool(instance.meta.get("dedupe", False)),
        document_text=document_text,
        pair_style="dict",
    )


def instance_from_record(
    record: Mapping[str, Any], *, index: int = 0, source: str = "iepile"
) -> PromptInstance:
    """An IEPile training record (``task``, ``instruction``, ``output``) as a :class:`PromptInstance`.

    Useful to check this parser against IEPile's own data, or to fine-tune on IEPile-format
    instruction sets. The document id is the record's ``id`` or ``index``; the input text is the
    instruction's ``input`` (also in ``meta["input"]``). IEPile deduplicates its items, so the
    instance's parser does too (``meta["dedupe"]``).

    Raises:
        ValueError: the record lacks a field, or its instruction or output is not IEPile's JSON.
    """
    try:
        task = str(record["task"]).lower()
        instruction = json.loads(record["instruction"])
        output = json.loads(record["output"])
        keys = tuple(instruction["schema"])
        text = instruction["input"]
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"record {index} is not an IEPile training record: {error}") from error
    if task not in TASKS:
        raise ValueError(f"record {index}: task {record['task']!r} is not NER or RE")
    if not isinstance(output, dict):
        raise ValueError(f"record {index}: output is not a JSON object")
    gold: dict[str, list] = {}
    for key in keys:
        items = output.get(key, [])
        if task == "re":
            items = [[item["head"], item["tail"]] for item in items]
        gold[key] = list(items)
    document_id = str(record.get("id", index))
    return PromptInstance(
        id=instance_id(source, document_id, NAME, task, index),
        document_id=document_id,
        source=source,
        format=NAME,
        task=task,
        messages=(message("user", record["instruction"]),),
        answer=record["output"],
        gold=gold,
        keys=keys,
        meta={"labels": {key: key for key in keys}, "dedupe": True, "input": text},
    )
