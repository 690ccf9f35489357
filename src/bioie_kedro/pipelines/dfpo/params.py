"""Typed parameters of DFPO's preference stage (``dfpo.preference`` in parameters_dfpo.yml).

The two fine-tuning stages (``dfpo.pre_finetune``, ``dfpo.post_finetune``) are validated by
:class:`bioie_kedro.pipelines.decoder_sft.params.DecoderSftParams`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MiningParams(_Strict):
    """How the stage-1 model's own errors become preference pairs (MFPEA-style)."""

    samples: int = Field(2, ge=0, description="Sampled answers per prompt, besides the greedy one.")
    temperature: float = Field(1.0, gt=0)
    top_p: float = 1.0
    max_new_tokens: int = 128
    batch_size: int = 16
    max_prompts: int | None = Field(None, description="Mine on the first N training prompts only.")
    seed: int = 42
    balance: bool = True
    balance_factor: float = 3.0
    max_per_kind: int | None = None
    balance_floor: int = Field(
        1,
        ge=1,
        description="Kinds rarer than this do not shrink the others: the cap per kind is "
        "balance_factor × max(rarest kind's count, balance_floor).",
    )
    max_pairs: int | None = None


class PreferenceTrainingParams(_Strict):
    """TRL ``DPOConfig`` names, plus ``dpop_lambda``; LoRA through peft by default."""

    loss_type: str = Field("dpop", description="dpop, or a TRL loss type (sigmoid = plain DPO).")
    beta: float = 0.4
    dpop_lambda: float = 2.0
    label_smoothing: float = 0.0
    learning_rate: float = 2e-7
    num_train_epochs: float = 2
    max_steps: int = -1
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    lr_scheduler_type: str = "linear"
    warmup_steps: float = 0.0
    max_length: int = 2048
    seed: int = 42
    logging_steps: int = 10
    adaptation: Literal["lora", "full"] = "lora"
    lora: dict[str, Any] = Field(
        default_factory=lambda: {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05}
    )


class PreferenceParams(_Strict):
    mining: MiningParams = Field(default_factory=MiningParams)
    training: PreferenceTrainingParams = Field(default_factory=PreferenceTrainingParams)
    trainer_output_dir: str = "data/06_models/dfpo/preference/checkpoints"

    @classmethod
    def parse(cls, params: dict[str, Any]) -> PreferenceParams:
        return cls.model_validate(params)
