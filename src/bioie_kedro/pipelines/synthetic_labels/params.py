"""Typed parameters of the synthetic_labels pipeline (``conf/*/parameters_synthetic_labels.yml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bioie_kedro.annotation.backends import HttpSettings, VllmSettings
from bioie_kedro.relation_extraction.classifier import RelationTrainingSettings
from bioie_kedro.relation_extraction.specs import RelationSpec
from bioie_kedro.token_classification import BUNDLED_MINILM


class HttpParams(BaseModel):
    """An OpenAI-compatible chat-completions server (``vllm serve``, TGI, a hosted API)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field("", description="Base URL (http://host:8000/v1) or the full endpoint.")
    model: str = Field("", description="The model name the server serves.")
    timeout_s: float = Field(120.0, gt=0, description="Per request.")
    max_retries: int = Field(
        5, ge=0, description="Retries after 5xx/429, timeouts and connection errors."
    )
    backoff_initial_s: float = Field(1.0, ge=0, description="Doubled after every failed attempt.")
    backoff_max_s: float = Field(60.0, ge=0)
    max_concurrency: int = Field(8, ge=1, description="Requests in flight at once.")
    max_tokens: int = Field(512, ge=1)
    temperature: float = 0.0
    json_schema: bool = Field(
        True, description="Constrain answers with response_format json_schema."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="More request fields, e.g. {seed: 0}."
    )

    def settings(self) -> HttpSettings:
        return HttpSettings(**self.model_dump())


class VllmParams(BaseModel):
    """vLLM's offline engine in this process (needs vllm and a CUDA GPU)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("", description="Hub name or local path.")
    max_tokens: int = Field(512, ge=1)
    temperature: float = 0.0
    seed: int = 0
    engine_args: dict[str, Any] = Field(
        default_factory=dict,
        description="vllm.LLM keyword arguments (tensor_parallel_size, quantization, ...).",
    )

    def settings(self) -> VllmSettings:
        return VllmSettings(**self.model_dump())


class AnnotatorParams(BaseModel):
    """Which LLM answers the prompts, and where its answers are cached."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["transformers", "http", "vllm"] = Field(
        "transformers",
        description="transformers: the project's decoder (catalog decoder_model); http: a server; "
        "vllm: the offline engine.",
    )
    cache_path: str = Field(
        "data/02_intermediate/synthetic_labels/annotation_cache.sqlite",
        description="SQLite answer cache (resume point); answers are keyed by model and prompt.",
    )
    batch_size: int = Field(100, ge=1, description="Prompts handed to the backend at once.")
    model_id: str | None = Field(
        None, description="Model identity in the cache key; derived from the backend when unset."
    )
    decoder_name_or_path: str | None = Field(
        None,
        description="transformers backend: another causal LM (hub name or path) instead of "
        "decoder_model.",
    )
    generation: dict[str, Any] = Field(
        default_factory=lambda: {"max_new_tokens": 256, "batch_size": 8},
        description="transformers backend: bioie_kedro.decoders.generation.GenerationSettings.",
    )
    http: HttpParams = Field(default_factory=HttpParams)
    vllm: VllmParams = Field(default_factory=VllmParams)


class DatasetParams(BaseModel):
    """From validated triples to the relation dataset."""

    model_config = ConfigDict(extra="forbid")

    min_sample_count: int = Field(
        500, ge=1, description="Relations with fewer examples are dropped (none never is)."
    )
    split_fractions: tuple[float, float, float] = Field(
        (0.6, 0.2, 0.2), description="train / validation / test, by document."
    )
    seed: int = 42
    pair_order: Literal["all", "text"] = Field(
        "all", description="all: every ordered pair the spec lists; text: head before tail only."
    )
    entity_text: Literal["keep", "type", "all_types"] = Field(
        "type",
        description="type: the pair's mentions blinded to their types ([E1]@CHEMICAL$[/E1]), "
        "nested pairs excepted, as BLURB prepares ChemProt and DDI; all_types: the sentence's "
        "other mentions blinded too (@CHEMICAL$, no markers); keep: as written.",
    )
    same_text_pairs: Literal["keep", "skip"] = Field(
        "keep",
        description="skip: no example for a pair of two mentions with the same text (none by "
        "rule: one drug does not interact with itself); counted in the dataset report.",
    )
    keep_sentences_with_rejected_triples: bool = Field(
        True,
        description="false: a sentence with any rejected triple gives no examples at all.",
    )


class StudentParams(BaseModel):
    """The student's fine-tuning; names follow Hugging Face ``TrainingArguments``."""

    model_config = ConfigDict(extra="forbid")

    model_name_or_path: str = Field(BUNDLED_MINILM, description="Any encoder path or hub name.")
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 64
    num_train_epochs: float = 5
    max_steps: int = Field(-1, description="Stop after this many optimiser steps (-1: epochs).")
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    gradient_accumulation_steps: int = 1
    seed: int = 42
    early_stopping_patience: int = Field(
        3, description="Evaluations without a gain in the selection metric before stopping."
    )
    selection_metric: Literal["positive_macro_f1", "positive_micro_f1"] = Field(
        "positive_macro_f1",
        description="The validation score that picks the checkpoint kept (none excluded): macro "
        "(every relation type counts the same) or micro (the score DDI and ChemProt report).",
    )
    average_last_checkpoints: int = Field(
        0,
        ge=0,
        description="2 or more: the final student is the mean of the weights of the last this-many "
        "checkpoints (one per evaluation), not the selected one; 0: the selected checkpoint.",
    )
    snapshot_last_checkpoints: int = Field(
        0,
        ge=0,
        description="2 or more: the student is an ensemble of its last this-many checkpoints, "
        "label distributions averaged at prediction (one pass each); 0: one model. Exclusive "
        "with average_last_checkpoints.",
    )
    eval_strategy: Literal["epoch", "steps"] = "epoch"
    eval_steps: int | None = None
    logging_steps: int = 50
    max_length: int = Field(
        256, description="Sub-tokens; longer texts keep a window around the markers."
    )
    class_weighting: Literal["balanced", "none"] = "balanced"
    train_sampling_strategy: Literal["group_by_length", "random"] = Field(
        "group_by_length", description="group_by_length: batches of similar length, little padding."
    )
    pooling: Literal["cls", "entity_start"] = Field(
        "entity_start",
        description="entity_start: a linear layer on the [E1] and [E2] marker vectors; cls: the "
        "encoder's sequence-classification head.",
    )
    bf16: bool | Literal["auto"] = Field(
        False,
        description="bf16 mixed precision; auto: on a CUDA GPU with bf16 or a CPU with "
        "AVX512-BF16 / AMX.",
    )
    trust_remote_code: bool = False
    ensemble_seeds: list[int] = Field(
        default_factory=list,
        description="Train one student per seed (each selected on validation) and average their "
        "label distributions at prediction; empty: one student with `seed`. On the command line "
        '(kedro splits --params at commas): "synthetic_labels.student.ensemble_seeds=42 43 44".',
    )

    tune_none_scale: bool = Field(
        False,
        description="After training, choose on validation the factor on the none probability "
        "that maximises positive micro-F1 (a decision threshold; class-weighted students "
        "over-predict relations) and predict with it.",
    )

    @field_validator("ensemble_seeds", mode="before")
    @classmethod
    def _seeds_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(";", " ").split()
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("ensemble_seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"ensemble_seeds repeat a seed: {value}")
        return value

    @model_validator(mode="after")
    def _one_way_to_use_the_last_checkpoints(self) -> StudentParams:
        if self.average_last_checkpoints > 1 and self.snapshot_last_checkpoints > 1:
            raise ValueError(
                "average_last_checkpoints and snapshot_last_checkpoints exclude each other: "
                "average the last checkpoints' weights or ensemble them, not both"
            )
        return self

    def settings(self) -> RelationTrainingSettings:
        return RelationTrainingSettings(
            **self.model_dump(exclude={"ensemble_seeds", "tune_none_scale"})
        )


class EvaluationParams(BaseModel):
    """How the student's test predictions are scored."""

    model_config = ConfigDict(extra="forbid")

    bootstrap: int = Field(1000, ge=0, description="Resamples over documents (0: no interval).")
    seed: int = 0
    gold_relation_map: dict[str, str] = Field(
        default_factory=dict,
        description="Synthetic relation -> the corpus's own relation type (e.g. causes: CID); "
        "when set, predictions and synthetic labels are also scored against the corpus gold.",
    )
    gold_relation_mode: Literal["mention", "concept"] = Field(
        "concept", description="concept: pairs of normalized ids per document (BC5CDR CID)."
    )


class SyntheticLabelsParams(BaseModel):
    """Root key ``synthetic_labels``."""

    model_config = ConfigDict(extra="forbid")

    corpus: str = Field(description="Partition prefix of `documents` to annotate.")
    splits: list[str] = Field(
        default_factory=lambda: ["train"],
        description="Partitions pooled; the synthetic dataset is split by document itself.",
    )
    type_map: dict[str, str] = Field(
        default_factory=dict, description="Corpus entity type -> spec type."
    )
    relation_specs: dict[str, list[str]] = Field(
        description='"HeadType|TailType" -> allowed relations (relation_specs.json).'
    )
    target_sentence_count: int | None = Field(
        None, ge=1, description="Stop selecting after this many sentences with a candidate pair."
    )
    annotator: AnnotatorParams = Field(default_factory=AnnotatorParams)
    dataset: DatasetParams = Field(default_factory=DatasetParams)
    student: StudentParams = Field(default_factory=StudentParams)
    trainer_output_dir: str = Field(
        "data/06_models/synthetic_labels/checkpoints",
        description="Trainer checkpoints (resume point); the final model is the catalog dataset.",
    )
    resume: bool = True
    prediction_batch_size: int = Field(64, ge=1)
    prediction_bf16: bool | Literal["auto"] = Field(
        False,
        description="Predict (and tune the decision threshold) under bf16 autocast: true, false "
        "or auto (a CUDA GPU with bf16 or a CPU with AVX512-BF16 / AMX). 2.9x faster on this "
        "project's CPU (DDI: 1 label of 5,334 changed); false keeps fp32 probabilities.",
    )
    evaluation: EvaluationParams = Field(default_factory=EvaluationParams)

    @field_validator("relation_specs")
    @classmethod
    def _valid_spec(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        RelationSpec.from_mapping(value)
        return value

    def spec(self) -> RelationSpec:
        return RelationSpec.from_mapping(self.relation_specs)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> SyntheticLabelsParams:
        return cls.model_validate(raw or {})
