"""Typed parameters of the encoder_ner pipeline (``conf/*/parameters_encoder_ner.yml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bioie_kedro.token_classification import BUNDLED_MINILM, TrainingSettings


class TrainingParams(BaseModel):
    """Fine-tuning settings; names follow Hugging Face ``TrainingArguments``."""

    model_config = ConfigDict(extra="forbid")

    model_name_or_path: str = Field(
        BUNDLED_MINILM, description="Local path or hub name of any encoder."
    )
    learning_rate: float = 1e-4
    per_device_train_batch_size: int = 32
    per_device_eval_batch_size: int = 64
    num_train_epochs: float = 6
    max_steps: int = Field(
        -1, description="Stop after this many optimiser steps (-1: run the epochs)."
    )
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    gradient_accumulation_steps: int = 1
    seed: int = 42
    early_stopping_patience: int = Field(
        3, description="Epochs without dev strict F1 gain before stopping."
    )
    keep: Literal["best", "last"] = Field(
        "best",
        description="best: the dev-selected epoch (early stopping); last: the final weights "
        "(train + dev at a fixed epoch count).",
    )
    max_length: int = Field(
        256, description="Sub-tokens per window; longer sentences are windowed, never cut."
    )
    stride: int = Field(16, description="Words shared by consecutive windows.")
    subtoken_labels: Literal["first", "all"] = "first"
    context_sentences: int = Field(
        0, ge=0, description="Neighbouring sentences on each side as untagged context."
    )
    logging_steps: int = 50
    bf16: bool | Literal["auto"] = Field(
        False,
        description="bf16 mixed precision; auto: on a CUDA GPU with bf16 or a CPU with "
        "AVX512-BF16 / AMX.",
    )
    trust_remote_code: bool = False

    def settings(self) -> TrainingSettings:
        return TrainingSettings(**self.model_dump())


class PredictionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = 64
    quantize: bool = Field(False, description="Dynamic int8 quantisation of linear layers (CPU).")
    resolve_abbreviations: bool = Field(
        True,
        description="Tag every occurrence of an abbreviation defined after a predicted mention "
        "('Cowden disease (CD)') with that mention's type.",
    )
    propagate_mentions: bool = Field(
        False, description="Tag every other occurrence of a predicted mention in the same document."
    )


class EncoderNerParams(BaseModel):
    """Root key ``encoder_ner``: one model per run, trained on ``corpus``."""

    model_config = ConfigDict(extra="forbid")

    corpus: str = Field(
        description="Corpus (partition prefix of `documents`) to train and predict on."
    )
    train_split: str | list[str] = Field(
        "train", description="Split, or splits pooled (e.g. [train, dev] with keep: last)."
    )
    dev_split: str = "dev"
    predict_splits: list[str] = Field(default_factory=lambda: ["test"])
    type_map: dict[str, str] = Field(default_factory=dict)
    types: list[str] | None = None
    trainer_output_dir: str = Field(
        "data/06_models/encoder_ner/checkpoints",
        description="Trainer checkpoints (resume point); the final model is the catalog dataset.",
    )
    resume: bool = True
    training: TrainingParams = Field(default_factory=TrainingParams)
    prediction: PredictionParams = Field(default_factory=PredictionParams)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> EncoderNerParams:
        return cls.model_validate(raw or {})
