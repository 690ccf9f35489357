"""Typed parameters of the decoder_sft pipeline (``conf/*/parameters_decoder_sft.yml``).

The same model validates both DFPO fine-tuning stages (``dfpo.pre_finetune`` and
``dfpo.post_finetune``), which instantiate this pipeline under namespaces.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bioie_kedro.decoders.build import SCRATCH_LLAMA, BaseModelSettings, LlamaShape
from bioie_kedro.decoders.generation import GenerationSettings
from bioie_kedro.decoders.sft import SFTSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShapeParams(_Strict):
    """Size of the ``scratch:llama`` model (``LlamaConfig`` names)."""

    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 2048
    vocab_size: int = Field(8000, description="BPE vocabulary trained on the instruction texts.")
    tie_word_embeddings: bool = True
    pretokenizer: Literal["bytelevel", "words"] = Field(
        "bytelevel",
        description="bytelevel: GPT-2's pre-tokenizer (the better one on NCBI-disease); words: a "
        "word keeps its tokens after a space, quote or bracket.",
    )


class BaseModelParams(_Strict):
    model_name_or_path: str = Field(
        SCRATCH_LLAMA,
        description="scratch:llama, bundled:minilm-decoder, or any causal LM path / hub name.",
    )
    shape: ShapeParams = Field(default_factory=ShapeParams)
    seed: int = 42
    trust_remote_code: bool = False
    torch_dtype: str = "auto"

    def settings(self) -> BaseModelSettings:
        data = self.model_dump()
        return BaseModelSettings(**{**data, "shape": LlamaShape(**data["shape"])})


class InstructionSource(_Strict):
    """One corpus split of the instruction mix and the tasks asked of it."""

    corpus: str
    split: str
    tasks: list[Literal["ner", "re"]] = Field(default_factory=lambda: ["ner"])
    entity_types: list[str] | None = Field(
        None, description="Schema of the corpus (None: the types of its training split, sorted)."
    )
    relation_types: list[str] | None = None
    type_map: dict[str, str] = Field(default_factory=dict)


class RaitParams(_Strict):
    """RA-IT: retrieved training examples prepended to each instruction (METHODS.md B)."""

    enabled: bool = False
    strategy: str = Field(
        "nearest", description="A strategy of the retrieval pipeline's neighbours."
    )
    k: int = Field(2, ge=0)


class InstructionParams(_Strict):
    format: Literal["listing", "conversation", "iepile"] = "listing"
    unit: Literal["document", "sentence"] = Field(
        "document", description="What one instruction reads: a whole document or one sentence."
    )
    train: list[InstructionSource]
    eval: list[InstructionSource] = Field(default_factory=list)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Format settings (split_num, negative_share, …)."
    )
    rait: RaitParams = Field(default_factory=RaitParams)
    seed: int = 42

    @model_validator(mode="after")
    def _examples_need_a_format_that_shows_them(self) -> InstructionParams:
        if self.rait.enabled and self.format == "iepile":
            raise ValueError(
                "RA-IT examples need the conversation or listing format; IEPile shows none"
            )
        return self


class GenerationParams(_Strict):
    max_new_tokens: int = 128
    batch_size: int = 16
    backend: Literal["transformers", "vllm", "auto"] = "transformers"
    copy_mentions: bool = Field(
        False,
        description="Greedy decoding copies every answer string from the instruction's text "
        "(listing and conversation formats; bioie_kedro.decoders.generation).",
    )
    copy_top_k: int = Field(16, ge=1, description="Tokens tried per step by copy_mentions.")

    def settings(self) -> GenerationSettings:
        return GenerationSettings(**self.model_dump())


class MappingParams(_Strict):
    """How answers come back to character spans (:func:`bioie_kedro.mentions.find_mentions`)."""

    case_insensitive: bool = False
    word_boundaries: bool = True


class DecoderSftParams(_Strict):
    """Root key ``decoder_sft`` (or ``dfpo.pre_finetune`` / ``dfpo.post_finetune``)."""

    system: str = Field("decoder_sft", description="Name of the system in predictions and reports.")
    base_model: BaseModelParams = Field(default_factory=BaseModelParams)
    instructions: InstructionParams
    training: SFTSettings = Field(
        default_factory=SFTSettings,
        description="TRL SFTConfig names, validated by bioie_kedro.decoders.sft.SFTSettings.",
    )
    trainer_output_dir: str = "data/06_models/decoder_sft/checkpoints"
    resume: bool = False
    generation: GenerationParams = Field(default_factory=GenerationParams)
    mapping: MappingParams = Field(default_factory=MappingParams)

    @model_validator(mode="after")
    def _copying_needs_mention_answers(self) -> DecoderSftParams:
        if self.generation.copy_mentions and self.instructions.format == "iepile":
            raise ValueError(
                "generation.copy_mentions needs answers whose strings are all mentions (listing "
                "or conversation format); IEPile's JSON keys are type names"
            )
        return self

    @classmethod
    def parse(cls, params: dict[str, Any]) -> DecoderSftParams:
        return cls.model_validate(params)
