"""DFPO / RAG-ICL list answers: one prompt per type, answered by one JSON list (seed 000_a9221db2e45e6f99.txt).

METHODS.md A's ICL prompt, worded after the RAG-ICL-DFPO authors' ``build_prompt``
(``scripts/RAG-ICL/scripts/reproduce_icl_raw.py``), with "JSON list" where they asked for a
Python list, and the text order of the answer stated. One user message::

    Your task is to identify and extract Disease entities from the given text. Below are some
    examples demonstrating the input text and the expected output format. Provide the output as a
    single JSON list containing the Disease entities as strings, in the order they appear in the
    text, and an empty list if there are none.

    ### Example 1
    Input: <example text>
    Output: ["<mention>", …]

    Now, extract the Disease entities from the following text. Do not output anything except for
    the extracted information. Do not add any clarifying information.

    Input: <document text>
    Output:

Without examples the sentence about them, the examples and the "Now, …" paragraph are left out.
The answer is ``json.dumps`` of the gold list (``ensure_ascii=False``): NER mention strings in text
order (a multiset unless ``dedupe``), RE ``[head, tail]`` pairs (see
:func:`~bioie_kedro.prompting.base.re_gold`). One instance per schema type, every type asked;
absent types answer ``[]``. The rng is not used (nothing is random in this format).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bioie_kedro.prompting.base import (
    Example,
    ParsedAnswer,
    PromptInstance,
    SchemaSettings,
    gold_answer,
    instance_id,
    message,
)
from bioie_kedro.prompting.parsing import parse_single
from bioie_kedro.schema import Document

NAME = "listing"
TASKS = ("ner", "re")

TASK_LINES = {
    "ner": "Your task is to identify and extract {label} entities from the given text.",
    "re": "Your task is to identify and extract {label} relations from the given text.",
}
EXAMPLES_LINE = (
    " Below are some examples demonstrating the input text and the expected output format."
)
OUTPUT_LINES = {
    "ner": " Provide the output as a single JSON list containing the {label} entities as strings,"
    " in the order they appear in the text, and an empty list if there are none.",
    "re": " Provide the output as a single JSON list containing the {label} relations as"
    " [head, tail] pairs of strings, in the order they appear in the text, and an empty list if"
    " there are none.",
}
EXAMPLE_BLOCK = "### Example {number}\nInput: {text}\nOutput: {output}\n\n"
FINAL_LINES = {
    "ner": "Now, extract the {label} entities from the following text. Do not output anything"
    " except for the extracted information. Do not add any clarifying information.\n\n",
    "re": "Now, extract the {label} relations from the following text. Do not output anything"
    " except for the extracted information. Do not add any clarifying information.\n\n",
}
QUERY = "Input: {text}\nOutput:"


@dataclass(frozen=True)
class ListingSettings(SchemaSettings):
    """Options of the list-answer format: the schema, its shown names, ``dedupe``, system prompt."""


Settings = ListingSettings


def render_prompt(
    text: str, key: str, *, task: str, settings: ListingSettings, examples: Sequence[Example] = ()
) -> str:
    """The user message asking for ``key`` in ``text``, with ``examples`` shown first."""
    label = settings.shown(key)
    parts = [TASK_LINES[task].format(label=label)]
    if examples:
        parts.append(EXAMPLES_LINE)
    parts.append(OUTPUT_LINES[task].format(label=label))
    parts.append("\n\n")
    if examples:
        for number, example in enumerate(examples, start=1):
            output = json.dumps(list(example.answer.get(key, [])), ensure_ascii=False)
            parts.append(EXAMPLE_BLOCK.format(number=number, text=example.text, output=output))
        parts.append(FINAL_LINES[task].format(label=label))
    parts.append(QUERY.format(text=text))
    return "".join(parts)


def render(
    doc: Document,
    *,
    task: str,
    settings: ListingSettings,
    rng: random.Random,
    examples: Sequence[Example] = (),
) -> list[PromptInstance]:
    """One instance per schema type of ``task``, in schema order (see the module docstring).

    Raises:
        ValueError: unknown task, or no schema for it.
    """
    schema = settings.keys_for(task)
    gold = gold_answer(doc, task=task, settings=settings)
    example_ids = [example.id for example in examples]
    return [
        PromptInstance(
            id=instance_id(doc.source, doc.id, NAME, task, key),
            document_id=doc.id,
            source=doc.source,
            format=NAME,
            task=task,
            messages=(
                *settings.system_messages(),
                message(
                    "user",
                    render_prompt(doc.text, key, task=task, settings=settings, examples=examples),
                ),
            ),
            answer=json.dumps(gold[key], ensure_ascii=False),
            gold={key: list(gold[key])},
            keys=(key,),
            meta={
                "negative": not gold[key],
                "labels": settings.label_map([key]),
                "dedupe": settings.dedupe if task == "ner" else True,
                "example_ids": example_ids,
                "text": doc.text,  # what answers copy from (generation's copy_mentions)
            },
        )
        for key in schema
    ]


def parse(text: str, instance: PromptInstance, *, document_text: str | None = None) -> ParsedAnswer:
    """Read a JSON list (mentions, or ``[head, tail]`` pairs for RE) into ``{key: [items]}``.

    See :mod:`bioie_kedro.prompting.parsing` for the rules and problem codes.
    """
    (key,) = instance.keys
    return parse_single(
        text,
        key=key,
        task=instance.task,
        dedupe=bool(instance.meta.get("dedupe", False)),
        document_text=document_text,
        pair_style="list",
    )
