"""What the web demo does, without the web: annotate a text with a trained model of the catalog.

Models are loaded through the project's Kedro catalog (the latest version of each versioned
dataset, as ``kedro run`` left it), never from hard-coded paths:

* the encoder (``encoder_ner_model``) tags the text's tokens
  (:func:`bioie_kedro.token_classification.predict_documents`);
* a decoder (``decoder_model``, ``dfpo_model``) answers the same instructions it was trained on:
  rendered by its prompt format (:func:`bioie_kedro.prompting.get_format`), generated greedily,
  parsed by the same format, and its mention strings placed back in the text
  (:func:`bioie_kedro.mentions.entities_from_mentions`). The training units nearest to the text
  in ``retrieval_index`` are shown with their scores, and put in the prompt when the decoder was
  trained with RA-IT examples.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from bioie_kedro.schema import Document, Entity, Passage

#: Retrieved training units shown for a decoder.
DEFAULT_EXAMPLES = 3
#: Longest text accepted (characters): a decoder prompt must fit its context.
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class ModelSpec:
    """A trained model of the catalog the demo can serve."""

    dataset: str
    kind: Literal["encoder", "decoder"]
    label: str
    #: decoders: the parameters (``params:<key>``) and instruction report of their training
    params_key: str | None = None
    instructions_report: str | None = None


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("encoder_ner_model", "encoder", "Encoder token classification (encoder_ner)"),
    ModelSpec(
        "decoder_model",
        "decoder",
        "Instruction-tuned decoder (decoder_sft)",
        params_key="decoder_sft",
        instructions_report="decoder_sft.instructions_report",
    ),
    ModelSpec(
        "dfpo_model",
        "decoder",
        "DFPO decoder (pre-finetune, DPOP, post-finetune)",
        params_key="dfpo.post_finetune",
        instructions_report="dfpo.post_finetune.instructions_report",
    ),
)


class DemoError(ValueError):
    """A request the demo cannot serve (unknown or untrained model, text too long)."""


def input_document(text: str) -> Document:
    """The pasted text as one document; line breaks become spaces so offsets stay those of
    ``text``."""
    flat = text.replace("\r", " ").replace("\n", " ")
    return Document(
        "input",
        "demo",
        "input",
        flat,
        passages=[Passage("input-text", "paragraph", flat, [(0, len(flat))])] if flat else [],
    )


def _map_types(doc: Document, type_map: Mapping[str, str]) -> Document:
    """``doc`` with its entity types renamed (a corpus's types to those a model was trained on)."""
    if not type_map:
        return doc
    return replace(
        doc, entities=[replace(e, type=type_map.get(e.type, e.type)) for e in doc.entities]
    )


def entity_rows(entities: Sequence[Entity]) -> list[dict[str, Any]]:
    """Entities as JSON rows ``{start, end, type, text}``, in text order."""
    return [
        {"start": e.start, "end": e.end, "type": e.type, "text": e.text}
        for e in sorted(entities, key=lambda e: (e.start, -e.end, e.type))
    ]


class DemoService:
    """Annotates texts with the models of one Kedro catalog (loaded once, on first use).

    Args:
        catalog: the project's ``DataCatalog`` (``context.catalog``), or anything with
            ``load(name)`` and ``exists(name)``.
        models: the models offered (default :data:`MODELS`).
    """

    def __init__(self, catalog: Any, models: Sequence[ModelSpec] = MODELS) -> None:
        self._catalog = catalog
        self._models = {spec.dataset: spec for spec in models}
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()  # one inference at a time; models are not thread-safe

    @classmethod
    def from_project(
        cls,
        project_path: str,
        *,
        env: str | None = None,
        runtime_params: Mapping[str, Any] | None = None,
    ) -> DemoService:
        """The service over the catalog of the Kedro project at ``project_path``."""
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(project_path)
        session = KedroSession.create(
            project_path, env=env, runtime_params=dict(runtime_params or {})
        )
        return cls(session.load_context().catalog)

    # ---- what is offered ---------------------------------------------------------------------

    def _exists(self, name: str) -> bool:
        try:
            return bool(self._catalog.exists(name))
        except Exception:  # noqa: BLE001 - an undeclared or unreadable dataset is "not there"
            return False

    def models(self) -> list[dict[str, Any]]:
        """Every offered model with whether the catalog holds a trained one."""
        return [
            {
                "name": spec.dataset,
                "kind": spec.kind,
                "label": spec.label,
                "available": self._exists(spec.dataset),
            }
            for spec in self._models.values()
        ]

    def _model(self, name: str) -> Any:
        if name not in self._loaded:
            spec = self._models.get(name)
            if spec is None:
                raise DemoError(f"unknown model {name!r}; offered: {', '.join(self._models)}")
            if not self._exists(name):
                raise DemoError(
                    f"{name} is not trained yet in this catalog: run its pipeline first "
                    "(e.g. `kedro run --pipelines=encoder_ner`)"
                )
            self._loaded[name] = self._catalog.load(name)
        return self._loaded[name]

    # ---- annotation ----------------------------------------------------------------------------

    def annotate(self, text: str, model: str, *, examples: int = DEFAULT_EXAMPLES) -> dict:
        """Entities (character spans into ``text``), relations, and for a decoder its prompts,
        raw answers and the retrieved training examples.

        Raises:
            DemoError: unknown or untrained model, or a text longer than :data:`MAX_TEXT_CHARS`.
        """
        if model not in self._models:
            raise DemoError(f"unknown model {model!r}; offered: {', '.join(self._models)}")
        if len(text) > MAX_TEXT_CHARS:
            raise DemoError(f"text too long: {len(text)} characters (at most {MAX_TEXT_CHARS})")
        spec = self._models[model]
        result: dict[str, Any] = {
            "model": model,
            "kind": spec.kind,
            "text": text,
            "entities": [],
            "relations": [],
            "examples": [],
            "answers": [],
        }
        if not text.strip():
            return result
        started = time.perf_counter()
        with self._lock:
            if spec.kind == "encoder":
                result["entities"] = self._encode(text, self._model(model))
            else:
                result.update(self._decode(text, spec, self._model(model), examples))
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result

    def _encode(self, text: str, classifier: Any) -> list[dict[str, Any]]:
        from bioie_kedro.segmentation import segment_document
        from bioie_kedro.token_classification import predict_documents

        (predicted,), _ = predict_documents(classifier, [segment_document(input_document(text))])
        return entity_rows(predicted.entities)

    def _decode(self, text: str, spec: ModelSpec, lm: Any, k: int) -> dict[str, Any]:
        from bioie_kedro.decoders.chat import render_prompt
        from bioie_kedro.decoders.generation import generate
        from bioie_kedro.mentions import entities_from_mentions
        from bioie_kedro.pipelines.decoder_sft.params import DecoderSftParams
        from bioie_kedro.prompting import get_format, make_example
        from bioie_kedro.segmentation import segment_document
        from bioie_kedro.views import entities_to_parent, sentence_documents

        settings = DecoderSftParams.parse(self._catalog.load(f"params:{spec.params_key}"))
        instructions = settings.instructions
        source = (instructions.eval or instructions.train)[0]
        entity_types, relation_types = self._schema(spec, source)
        fmt = get_format(instructions.format)
        fmt_settings = fmt.Settings(
            entity_types=entity_types if "ner" in source.tasks else (),
            relation_types=relation_types if "re" in source.tasks else (),
            **instructions.options,
        )
        doc = segment_document(input_document(text))
        units = [doc] if instructions.unit == "document" else sentence_documents([doc]).documents
        retrieved = self._retrieve([u.text for u in units], k=max(k, instructions.rait.k))
        in_prompt = instructions.rait.enabled and instructions.rait.k > 0
        rng = random.Random(instructions.seed)
        instances = []
        for unit, hits in zip(units, retrieved, strict=True):
            for task in source.tasks:
                if task == "re" and instructions.unit == "sentence":
                    continue  # sentence units carry no relations (as in training)
                shown = [
                    make_example(
                        _map_types(h["document"], source.type_map), task=task, settings=fmt_settings
                    )
                    for h in (hits[: instructions.rait.k] if in_prompt else [])
                ]
                for instance in fmt.render(
                    unit, task=task, settings=fmt_settings, rng=rng, examples=shown
                ):
                    instances.append((unit, instance))
        prompts = [render_prompt(lm.tokenizer, inst.messages) for _, inst in instances]
        answers = generate(
            lm.model, lm.tokenizer, prompts, settings.generation.settings(), model_path=lm.source
        )
        entities: list[Entity] = []
        relations: list[dict[str, str]] = []
        rows = []
        for (unit, instance), answer in zip(instances, answers, strict=True):
            parsed = fmt.parse(answer, instance, document_text=unit.text)
            rows.append({"task": instance.task, "answer": answer, "status": str(parsed.status)})
            if parsed.answer is None:
                continue
            if instance.task == "ner":
                placed = entities_from_mentions(
                    unit,
                    parsed.answer,
                    case_insensitive=settings.mapping.case_insensitive,
                    word_boundaries=settings.mapping.word_boundaries,
                )
                entities += entities_to_parent(unit, placed) if unit is not doc else placed
            else:
                for rtype, pairs in parsed.answer.items():
                    relations += [{"type": rtype, "head": h, "tail": t} for h, t in pairs]
        unique = {(e.start, e.end, e.type): e for e in entities}
        examples = [
            {key: value for key, value in hit.items() if key != "document"}
            for hits in retrieved
            for hit in hits[:k]
        ]
        return {
            "entities": entity_rows(list(unique.values())),
            "relations": relations,
            "answers": rows,
            "examples": examples,
            "examples_in_prompt": in_prompt,
            "format": instructions.format,
        }

    def _schema(self, spec: ModelSpec, source: Any) -> tuple[list[str], list[str]]:
        """The entity and relation types the decoder was trained with: configured, else those
        its run recorded in the instruction report."""
        entity_types, relation_types = source.entity_types, source.relation_types
        if (entity_types is None or relation_types is None) and self._exists(
            spec.instructions_report
        ):
            report = self._catalog.load(spec.instructions_report)
            recorded = next(iter({**report.get("train", {}), **report.get("eval", {})}.values()))
            entity_types = entity_types or recorded.get("entity_types", [])
            relation_types = relation_types or recorded.get("relation_types", [])
        if not entity_types and not relation_types:
            raise DemoError(
                f"no schema for {spec.dataset}: set entity_types in params:{spec.params_key} "
                f"or run its pipeline (it records them in {spec.instructions_report})"
            )
        return list(entity_types or []), list(relation_types or [])

    def _retrieve(self, texts: Sequence[str], k: int) -> list[list[dict[str, Any]]]:
        """Per text, the ``k`` nearest training units of ``retrieval_index`` (empty lists when
        there is no index or no document to show)."""
        if k <= 0 or not self._exists("retrieval_index") or not self._exists("documents"):
            return [[] for _ in texts]
        from bioie_kedro.datasets.partitions import load_partition, partition_key
        from bioie_kedro.views import sentence_documents

        index = self._catalog.load("retrieval_index")
        meta = index.metadata
        docs = load_partition(
            self._catalog.load("documents"), partition_key(meta["corpus"], meta["split"])
        )
        pool = {
            d.id: d
            for d in (
                sentence_documents(docs).documents if meta["granularity"] == "sentence" else docs
            )
        }
        out = []
        for hits in index.search_texts(list(texts), k):
            rows = []
            for unit_id, score in hits:
                unit = pool.get(unit_id)
                if unit is None:
                    continue
                rows.append(
                    {
                        "id": unit_id,
                        "score": round(score, 4),
                        "text": unit.text,
                        "entities": entity_rows(unit.entities),
                        "document": unit,
                    }
                )
            out.append(rows)
        return out
