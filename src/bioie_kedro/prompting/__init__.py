"""Instruction formats: the one place where prompts are rendered and model answers parsed.

Three formats, each a module with ``NAME``, ``TASKS``, a ``Settings`` dataclass, ``render`` and a
strict ``parse`` that inverts it:

* ``"iepile"`` (:mod:`~bioie_kedro.prompting.iepile`): IEPile / InstructKGC schema-chunked JSON
  instructions, NER and RE (seed 004).
* ``"conversation"`` (:mod:`~bioie_kedro.prompting.conversation`): RA-IT / UniversalNER, one
  question per entity type, optional retrieved examples (seed 001).
* ``"listing"`` (:mod:`~bioie_kedro.prompting.listing`): the RAG-ICL / DFPO prompt answered by one
  list of strings (or head/tail pairs), optional numbered examples (seed 000).

Typical use in a node::

    fmt = get_format("iepile")
    settings = fmt.Settings(entity_types=("Chemical", "Disease"))
    instances = fmt.render(doc, task="ner", settings=settings, rng=random.Random(seed))
    parsed = [fmt.parse(output, inst, document_text=doc.text) for output, inst in ...]
    report = parse_report(parsed)
    records = to_string_records(instances, parsed)  # for metrics.strings.score_strings

Nothing here does I/O: records go through the catalog (:func:`instances_to_records`).
"""

from __future__ import annotations

from bioie_kedro.prompting import conversation, iepile, listing
from bioie_kedro.prompting.base import (
    PARSE_STATUSES,
    PROBLEMS,
    TASKS,
    Answer,
    Example,
    ParsedAnswer,
    ParseStatus,
    PromptFormat,
    PromptInstance,
    SchemaSettings,
    gold_answer,
    instances_from_records,
    instances_to_records,
    make_example,
    ner_gold,
    parse_report,
    re_gold,
    settings_help,
    to_string_records,
)
from bioie_kedro.prompting.conversation import ConversationSettings
from bioie_kedro.prompting.iepile import IEPileSettings, chunk_schema
from bioie_kedro.prompting.listing import ListingSettings

__all__ = [
    "FORMATS",
    "PARSE_STATUSES",
    "PROBLEMS",
    "TASKS",
    "Answer",
    "ConversationSettings",
    "Example",
    "IEPileSettings",
    "ListingSettings",
    "ParseStatus",
    "ParsedAnswer",
    "PromptFormat",
    "PromptInstance",
    "SchemaSettings",
    "chunk_schema",
    "get_format",
    "gold_answer",
    "instances_from_records",
    "instances_to_records",
    "make_example",
    "ner_gold",
    "parse_report",
    "re_gold",
    "settings_help",
    "to_string_records",
]

#: Format name → format module.
FORMATS: dict[str, PromptFormat] = {
    iepile.NAME: iepile,  # type: ignore[dict-item]
    conversation.NAME: conversation,  # type: ignore[dict-item]
    listing.NAME: listing,  # type: ignore[dict-item]
}


def get_format(name: str) -> PromptFormat:
    """The format module registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown prompt format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None
