"""Nodes of decoder_sft: instructions → base decoder → fine-tuned decoder → answers → spans.

Instructions are rendered by :mod:`bioie_kedro.prompting` (one place for every format and its
parser), prompts are tokenized by :mod:`bioie_kedro.decoders.chat` both for training and for
generation, and answers are parsed by the same format, then mapped back to character spans with
:func:`bioie_kedro.mentions.entities_from_mentions`, so the evaluation pipeline scores decoders
like every other system (span level and string level).
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bioie_kedro.datasets.partitions import Partitions, load_partition, partition_key
from bioie_kedro.decoders.build import CausalLM, build_base_model
from bioie_kedro.mentions import entities_from_mentions
from bioie_kedro.metrics.strings import (
    PARSE_STATUS_ATTRIBUTE,
    PREDICTED_MENTIONS_ATTRIBUTE,
    UNPARSABLE,
    UNPARSABLE_UNITS_ATTRIBUTE,
    score_strings,
)
from bioie_kedro.pipelines.decoder_sft.params import DecoderSftParams, InstructionSource
from bioie_kedro.prompting import (
    Example,
    PromptInstance,
    get_format,
    instances_from_records,
    instances_to_records,
    make_example,
    parse_report,
    to_string_records,
)
from bioie_kedro.schema import Document, Entity
from bioie_kedro.views import entities_to_parent, sentence_documents

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Instruction sets
# --------------------------------------------------------------------------------------------


def _map_types(docs: Sequence[Document], type_map: Mapping[str, str]) -> list[Document]:
    if not type_map:
        return list(docs)
    return [
        replace(doc, entities=[replace(e, type=type_map.get(e.type, e.type)) for e in doc.entities])
        for doc in docs
    ]


def _units(docs: Sequence[Document], unit: str) -> tuple[list[Document], int]:
    """The texts instructions read, and how many entities cross a sentence boundary."""
    if unit == "document":
        return list(docs), 0
    split = sentence_documents(docs)
    return split.documents, len(split.crossing_entities)


def _schema(
    source: InstructionSource, documents: Partitions, docs: Sequence[Document]
) -> tuple[list[str], list[str]]:
    """Entity and relation types of a corpus: configured, else those of its training split."""
    reference = docs
    train_key = partition_key(source.corpus, "train")
    if (source.entity_types is None or source.relation_types is None) and train_key in documents:
        reference = _map_types(load_partition(documents, train_key), source.type_map)
    entity_types = source.entity_types or sorted({e.type for d in reference for e in d.entities})
    relation_types = source.relation_types or sorted(
        {r.type for d in reference for r in d.relations}
    )
    return entity_types, relation_types


def _neighbour_examples(
    rait_neighbours: Mapping[str, Any],
    source: InstructionSource,
    params: DecoderSftParams,
    pool: Mapping[str, Document],
) -> Mapping[str, list[str]]:
    """RA-IT example ids per unit id of ``source`` from the retrieval pipeline's neighbours."""
    rait = params.instructions.rait
    granularity = rait_neighbours.get("granularity")
    if granularity != params.instructions.unit:
        raise ValueError(
            f"RA-IT needs neighbours at the granularity of the instructions "
            f"({params.instructions.unit!r}); rait_neighbours holds {granularity!r} units "
            "(set retrieval.granularity)"
        )
    if rait_neighbours.get("corpus") != source.corpus:
        raise ValueError(
            f"rait_neighbours were retrieved for corpus {rait_neighbours.get('corpus')!r}, "
            f"not {source.corpus!r} (set retrieval.corpus)"
        )
    by_split = rait_neighbours.get("neighbours", {}).get(source.split)
    if by_split is None or rait.strategy not in by_split:
        raise ValueError(
            f"rait_neighbours has no {rait.strategy!r} neighbours for split {source.split!r} "
            "(set retrieval.neighbours.splits and strategies)"
        )
    return {
        unit_id: [n["id"] for n in found[: rait.k] if n["id"] in pool]
        for unit_id, found in by_split[rait.strategy].items()
    }


def _render_source(
    source: InstructionSource,
    documents: Partitions,
    params: DecoderSftParams,
    rait_neighbours: Mapping[str, Any],
    rng: random.Random,
) -> tuple[list[PromptInstance], dict[str, Any]]:
    instructions = params.instructions
    fmt = get_format(instructions.format)
    docs = _map_types(
        load_partition(documents, partition_key(source.corpus, source.split)), source.type_map
    )
    entity_types, relation_types = _schema(source, documents, docs)
    units, crossing = _units(docs, instructions.unit)
    settings = fmt.Settings(
        entity_types=entity_types if "ner" in source.tasks else (),
        relation_types=relation_types if "re" in source.tasks else (),
        **instructions.options,
    )
    examples_of: Mapping[str, list[str]] = {}
    pool: dict[str, Document] = {}
    if instructions.rait.enabled:
        train_docs = _map_types(
            load_partition(documents, partition_key(source.corpus, "train")), source.type_map
        )
        pool = {unit.id: unit for unit in _units(train_docs, instructions.unit)[0]}
        examples_of = _neighbour_examples(rait_neighbours, source, params, pool)
    instances: list[PromptInstance] = []
    skipped_tasks: Counter = Counter()
    with_examples = 0
    for unit in units:
        for task in source.tasks:
            if task == "re" and instructions.unit == "sentence":
                skipped_tasks["re_on_sentences"] += 1  # sentence units carry no relations
                continue
            examples: list[Example] = [
                make_example(pool[example_id], task=task, settings=settings)
                for example_id in examples_of.get(unit.id, [])
            ]
            with_examples += bool(examples)
            instances.extend(
                fmt.render(unit, task=task, settings=settings, rng=rng, examples=examples)
            )
    summary = {
        "documents": len(docs),
        "units": len(units),
        "instances": len(instances),
        "instances_by_task": dict(Counter(i.task for i in instances)),
        "entity_types": entity_types,
        "relation_types": relation_types if "re" in source.tasks else [],
        "entities_crossing_sentences": crossing,
        "units_with_rait_examples": with_examples,
        "skipped": dict(skipped_tasks),
    }
    return instances, summary


def build_instructions(
    documents: Partitions, rait_neighbours: Mapping[str, Any], params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Training and evaluation instructions (JSON records of prompt instances) and a summary.

    The training mix is every ``instructions.train`` source with its tasks (NER, RE), in the
    configured format; RA-IT examples come from ``rait_neighbours`` when ``rait.enabled``.
    """
    settings = DecoderSftParams.parse(params)
    rng = random.Random(settings.instructions.seed)
    report: dict[str, Any] = {
        "format": settings.instructions.format,
        "unit": settings.instructions.unit,
        "rait": settings.instructions.rait.model_dump(),
        "train": {},
        "eval": {},
    }
    sets: dict[str, list[PromptInstance]] = {"train": [], "eval": []}
    for part in ("train", "eval"):
        for source in getattr(settings.instructions, part):
            instances, summary = _render_source(source, documents, settings, rait_neighbours, rng)
            sets[part].extend(instances)
            report[part][partition_key(source.corpus, source.split)] = summary
            logger.info(
                "%s instructions from %s/%s: %d", part, source.corpus, source.split, len(instances)
            )
    return instances_to_records(sets["train"]), instances_to_records(sets["eval"]), report


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _examples(records: Sequence[Mapping[str, Any]]):
    from bioie_kedro.decoders.sft import SFTExample

    return [SFTExample(record["messages"], record["answer"]) for record in records]


def prepare_base_decoder(
    train_instructions: list[dict[str, Any]], params: dict[str, Any]
) -> CausalLM:
    """The base model; ``scratch:llama`` trains its BPE tokenizer on the instruction texts."""
    settings = DecoderSftParams.parse(params)
    texts = [
        "\n".join([*(m["content"] for m in record["messages"]), record["answer"]])
        for record in train_instructions
    ]
    return build_base_model(settings.base_model.settings(), texts)


def fine_tune_decoder(
    decoder_base: CausalLM, train_instructions: list[dict[str, Any]], params: dict[str, Any]
) -> CausalLM:
    """Supervised fine-tuning (one node wraps the whole ``SFTTrainer`` run)."""
    from bioie_kedro.decoders.sft import train_sft

    settings = DecoderSftParams.parse(params)
    if not train_instructions:
        raise ValueError("no training instruction: check instructions.train")
    return train_sft(
        decoder_base,
        _examples(train_instructions),
        settings.training,
        output_dir=Path(settings.trainer_output_dir) / settings.system,
        resume=settings.resume,
    )


def generate_answers(
    decoder_model: CausalLM, eval_instructions: list[dict[str, Any]], params: dict[str, Any]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Greedy answers to the evaluation instructions (batched, prompts sorted by length)."""
    from bioie_kedro.decoders.chat import render_prompt
    from bioie_kedro.decoders.generation import generate_samples

    settings = DecoderSftParams.parse(params)
    prompts = [render_prompt(decoder_model.tokenizer, r["messages"]) for r in eval_instructions]
    sources = None
    if settings.generation.copy_mentions:
        sources = [record.get("meta", {}).get("text") for record in eval_instructions]
        lacking = [r["id"] for r, text in zip(eval_instructions, sources, strict=True) if not text]
        if lacking:
            raise ValueError(
                f"generation.copy_mentions: {len(lacking)} instructions carry no source text "
                f"(meta.text), e.g. {lacking[:3]}; rebuild them with the listing or conversation "
                "format"
            )
    answers, stats = generate_samples(
        decoder_model.model,
        decoder_model.tokenizer,
        prompts,
        settings.generation.settings(),
        model_path=decoder_model.source,
        sources=sources,
    )
    generations = [
        {"id": record["id"], "text": texts[0]}
        for record, texts in zip(eval_instructions, answers, strict=True)
    ]
    logger.info("Generated %s", stats.as_dict())
    return generations, stats.as_dict()


# --------------------------------------------------------------------------------------------
# Answers → spans
# --------------------------------------------------------------------------------------------


def extract_predictions(
    eval_instructions: list[dict[str, Any]],
    generations: list[dict[str, str]],
    documents: Partitions,
    params: dict[str, Any],
) -> tuple[dict[str, list[Document]], dict[str, Any]]:
    """Parse every answer, map mentions to character spans, and report what was lost.

    Returns predicted documents per ``<corpus>/<split>`` (entities with spans; the raw answer in
    :data:`~bioie_kedro.metrics.strings.PREDICTED_MENTIONS_ATTRIBUTE` and unparsable answers
    marked, for string-level scores) and a report: parse statuses and problems, mentions that
    could not be placed in the text, string-level NER and RE scores.
    """
    settings = DecoderSftParams.parse(params)
    fmt = get_format(settings.instructions.format)
    instances = instances_from_records(eval_instructions)
    by_id = {g["id"]: g["text"] for g in generations}
    missing = [i.id for i in instances if i.id not in by_id]
    if missing:
        raise ValueError(
            f"{len(missing)} instructions have no generated answer, e.g. {missing[:3]}"
        )
    split_of = {partition_key(s.corpus, s.split): s for s in settings.instructions.eval}
    predictions: dict[str, list[Document]] = {}
    report: dict[str, Any] = {"system": settings.system, "partitions": {}}
    for key, source in split_of.items():
        docs = load_partition(documents, key)
        mapped = _map_types(docs, source.type_map)
        units = {u.id: u for u in _units(mapped, settings.instructions.unit)[0]}
        part = [i for i in instances if i.source == source.corpus and i.document_id in units]
        parsed = [fmt.parse(by_id[i.id], i, document_text=units[i.document_id].text) for i in part]
        mentions: dict[str, dict[str, list[str]]] = {}
        unparsable: set[str] = set()
        for instance, answer in zip(part, parsed, strict=True):
            if instance.task != "ner":
                continue
            unit_id = instance.document_id
            if answer.answer is None:
                unparsable.add(unit_id)
                continue
            found = mentions.setdefault(unit_id, {})
            for etype, items in answer.answer.items():
                found.setdefault(etype, []).extend(items)
        predicted_docs, unplaced = _predicted_documents(docs, units, mentions, unparsable, settings)
        predictions[key] = predicted_docs
        ner = [(i, a) for i, a in zip(part, parsed, strict=True) if i.task == "ner"]
        rel = [(i, a) for i, a in zip(part, parsed, strict=True) if i.task == "re"]
        entry: dict[str, Any] = {
            "instances": len(part),
            "parse": parse_report(parsed),
            "mentions_not_placed": unplaced,
            "documents_unparsable": sum(
                PARSE_STATUS_ATTRIBUTE in d.attributes for d in predicted_docs
            ),
            "documents_partly_unparsable": sum(
                UNPARSABLE_UNITS_ATTRIBUTE in d.attributes
                and PARSE_STATUS_ATTRIBUTE not in d.attributes
                for d in predicted_docs
            ),
        }
        for task, pairs in (("ner", ner), ("re", rel)):
            if pairs:
                records = to_string_records([p[0] for p in pairs], [p[1] for p in pairs])
                entry[f"{task}_strings"] = score_strings(records, bootstrap=0).as_dict()["pooled"]
        report["partitions"][key] = entry
        logger.info("Parsed %s: %s", key, entry["parse"]["by_status"])
    return predictions, report


def _predicted_documents(
    docs: Sequence[Document],
    units: Mapping[str, Document],
    mentions: Mapping[str, Mapping[str, list[str]]],
    unparsable: set[str],
    settings: DecoderSftParams,
) -> tuple[list[Document], int]:
    out = []
    unplaced = 0
    units_of: dict[str, list[Document]] = {}
    for unit_doc in units.values():
        units_of.setdefault(unit_doc.attributes.get("parent", unit_doc.id), []).append(unit_doc)
    for doc in docs:
        doc_units = units_of.get(doc.id, [])
        entities: list[Entity] = []
        raw: dict[str, list[str]] = {}
        failed = sum(unit_doc.id in unparsable for unit_doc in doc_units)
        for unit_doc in doc_units:
            found = mentions.get(unit_doc.id, {})
            placed = entities_from_mentions(
                unit_doc,
                found,
                case_insensitive=settings.mapping.case_insensitive,
                word_boundaries=settings.mapping.word_boundaries,
            )
            unplaced += _unplaced(found, placed, settings.mapping.case_insensitive)
            if "parent" in unit_doc.attributes:
                placed = entities_to_parent(unit_doc, placed)
            entities.extend(placed)
            for etype, items in found.items():
                raw.setdefault(etype, []).extend(items)
        entities = [replace(e, id=f"P{index}") for index, e in enumerate(entities, start=1)]
        attributes = {PREDICTED_MENTIONS_ATTRIBUTE: json.dumps(raw, ensure_ascii=False)}
        if failed:
            # the document's string-level answer is the union of the units that parsed (the gold
            # of the others counts as missed); it is unparsable only when no unit parsed
            attributes[UNPARSABLE_UNITS_ATTRIBUTE] = str(failed)
            if failed == len(doc_units):
                attributes[PARSE_STATUS_ATTRIBUTE] = UNPARSABLE
        out.append(
            Document(
                id=doc.id,
                source=doc.source,
                split=doc.split,
                text=doc.text,
                passages=list(doc.passages),
                entities=entities,
                sentences=list(doc.sentences),
                attributes=attributes,
            )
        )
    return out, unplaced


def _unplaced(
    found: Mapping[str, list[str]], placed: Sequence[Entity], case_insensitive: bool
) -> int:
    """Answered mentions that matched nowhere in the text (e.g. not at word boundaries)."""

    def fold(text: str) -> str:
        return text.lower() if case_insensitive else text

    placed_keys = {(e.type, fold(e.text)) for e in placed}
    return sum(
        (etype, fold(item)) not in placed_keys for etype, items in found.items() for item in items
    )
