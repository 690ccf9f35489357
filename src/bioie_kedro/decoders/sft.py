"""Supervised fine-tuning of a causal LM on instruction data with TRL's ``SFTTrainer``.

Each example is a prompt (chat messages from :mod:`bioie_kedro.prompting`) and its gold answer.
Examples are tokenized here with :func:`~bioie_kedro.decoders.chat.encode_prompt` and
:func:`~bioie_kedro.decoders.chat.encode_completion` — the functions generation uses — and handed
to the trainer pre-tokenized with a completion mask, so the loss covers the answer tokens only and
the trained prompt is the served prompt, id for id. Examples longer than ``max_length`` are dropped
and counted (as DFPO drops sequences of 3000+ tokens), never cut silently.

TRL's fused LM head projects only the answer positions, on a CPU as on a GPU
(:func:`answer_positions_only`; TRL keeps every position off Triton devices): with the loss on
answers only, most positions of an instruction are prompt.

Adaptation: full fine-tuning (small models), LoRA through peft, or QLoRA (the base reloaded in
4-bit NF4 with bitsandbytes). QLoRA needs CUDA and is refused without it: bitsandbytes itself
does not fail on CPU. Precision follows the hardware: bf16 on a GPU that supports it, fp32 on CPU.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict

from bioie_kedro.decoders.build import CausalLM, check_linear_lm_head, restore_linear_lm_head
from bioie_kedro.decoders.chat import encode_completion, encode_prompt
from bioie_kedro.progress import interactive

logger = logging.getLogger(__name__)


@dataclass
class LoraSettings:
    """peft ``LoraConfig`` fields."""

    # pydantic validates this dataclass inside the pipelines' parameter models: unknown keys fail
    __pydantic_config__ = ConfigDict(extra="forbid")

    r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    modules_to_save: list[str] | None = None


@dataclass
class SFTSettings:
    """Fine-tuning settings; the names are TRL ``SFTConfig`` / ``TrainingArguments`` ones.

    ``adaptation`` picks full fine-tuning, LoRA or QLoRA; ``lora`` configures the last two.
    ``merge_lora`` saves merged weights after LoRA (the default for small models; QLoRA and
    ``merge_lora: false`` save the adapter).

    The ``training`` block of ``parameters_decoder_sft.yml`` (and of both DFPO fine-tuning
    stages) is validated against this class directly: one definition of the names and defaults.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    learning_rate: float = 1e-3
    num_train_epochs: float = 3
    max_steps: int = -1
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 16
    gradient_accumulation_steps: int = 1
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 0.05
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    max_length: int = 1024
    packing: bool = False
    gradient_checkpointing: bool = False
    optim: str = "adamw_torch"
    #: ``group_by_length`` batches examples of similar length (little padding)
    train_sampling_strategy: Literal["random", "group_by_length", "sequential"] = "group_by_length"
    logging_steps: int = 10
    save_strategy: str = "epoch"
    #: with ``save_strategy: steps``: a checkpoint every N steps (a float below 1: a ratio)
    save_steps: float = 500
    save_total_limit: int = 1
    adaptation: Literal["full", "lora", "qlora"] = "full"
    lora: LoraSettings = field(default_factory=LoraSettings)
    merge_lora: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SFTSettings:
        data = dict(data)
        lora = LoraSettings(**(data.pop("lora", None) or {}))
        return cls(lora=lora, **data)


@dataclass
class SFTExample:
    """One training example: the prompt messages and the gold answer text."""

    messages: Sequence[Mapping[str, str]]
    answer: str


@dataclass
class TokenizedExamples:
    rows: list[dict[str, list[int]]]
    dropped_too_long: int
    tokens: int
    answer_tokens: int


def tokenize_examples(
    tokenizer: Any, examples: Sequence[SFTExample], *, max_length: int
) -> TokenizedExamples:
    """``input_ids`` = prompt ids + answer ids + end of turn; ``completion_mask`` marks the answer."""
    rows, dropped, tokens, answer_tokens = [], 0, 0, 0
    for example in examples:
        prompt = encode_prompt(tokenizer, example.messages)
        completion = encode_completion(tokenizer, example.answer)
        if len(prompt) + len(completion) > max_length:
            dropped += 1
            continue
        rows.append(
            {
                "input_ids": prompt + completion,
                "completion_mask": [0] * len(prompt) + [1] * len(completion),
            }
        )
        tokens += len(prompt) + len(completion)
        answer_tokens += len(completion)
    return TokenizedExamples(rows, dropped, tokens, answer_tokens)


def _check_adaptation(settings: SFTSettings, base: CausalLM) -> None:
    if settings.adaptation != "qlora":
        return
    import torch

    # bitsandbytes loads 4-bit weights on CPU without complaint and then fails or crawls later:
    # refuse QLoRA up front unless CUDA is really there.
    if not torch.cuda.is_available():
        raise RuntimeError(
            "adaptation 'qlora' needs a CUDA GPU (bitsandbytes 4-bit); use 'lora' or 'full' on CPU"
        )
    if not base.source:
        raise ValueError("QLoRA reloads the base model in 4 bit and needs its path or hub name")


def _load_4bit(base: CausalLM) -> Any:
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        base.source, quantization_config=quantization, dtype=torch.bfloat16
    )
    restore_linear_lm_head(model)
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)


def _sft_config(
    settings: SFTSettings, output_dir: Path, has_eval: bool, cuda: bool, bf16: bool
) -> Any:
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.num_train_epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.per_device_train_batch_size,
        per_device_eval_batch_size=settings.per_device_eval_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        lr_scheduler_type=settings.lr_scheduler_type,
        warmup_steps=settings.warmup_steps,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        seed=settings.seed,
        max_length=settings.max_length,
        packing=settings.packing,
        completion_only_loss=True,
        optim=settings.optim,
        train_sampling_strategy=settings.train_sampling_strategy,
        logging_steps=settings.logging_steps,
        save_strategy=settings.save_strategy,
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        eval_strategy=settings.save_strategy if has_eval else "no",
        bf16=bf16,
        fp16=False,
        use_cpu=not cuda,
        report_to="none",
        disable_tqdm=not interactive(),
        dataloader_num_workers=0,
        # TRL turns activation checkpointing on by default (slow on CPU): always say which
        **checkpointing_setting(SFTConfig, settings.gradient_checkpointing),
    )


def checkpointing_setting(config_class: type, enabled: bool) -> dict[str, bool]:
    """``{field: enabled}`` for a trainer config's activation checkpointing switch.

    transformers 5.2x calls it ``activation_checkpointing`` (``gradient_checkpointing`` stays a
    deprecated mirror); 5.1x only knows ``gradient_checkpointing``. TRL's configs turn it on by
    default, which is slow on a CPU, so every trainer here states it under the installed name.
    """
    import dataclasses

    names = {field.name for field in dataclasses.fields(config_class)}
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else "gradient_checkpointing"
    )
    return {name: enabled}


@contextmanager
def answer_positions_only() -> Iterator[bool]:
    """Within the block, TRL's fused LM head scores only the positions that have a label, on a CPU too.

    TRL 1.x trains every causal LM through a fused head (``add_fused_lm_head``): the output
    embeddings are applied to the backbone's hidden states in tiles, so the ``(batch, length,
    vocabulary)`` logits never exist at once. Only on Triton devices (CUDA, XPU) does it keep just
    the positions whose label is not ``-100``; elsewhere it scores every position, because on
    compiled backends such as Neuron a varying token count would recompile the tiles. A CPU runs
    eagerly and compiles nothing, and with the loss on answers only most positions are prompt: on
    NCBI-disease sentence instructions one token in ten is an answer token, so the head did ten times
    the work it needs, forward and again in the backward recomputation (the MiniLM decoder's
    30,526-word head is then about half of a training step). The loss, the gradients and the logged
    entropy and accuracy are the same either way (both paths compute the same sums; only the order
    of floating-point additions may differ).

    Yields whether the switch took effect: ``False`` when the installed TRL has no such decision to
    make (a TRL without the fused head, or one that moved it), and then nothing is changed.
    """
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:  # pragma: no cover - TRL is a dependency of the project
        yield False
        return
    decide = getattr(trl_utils, "_use_triton", None)
    if decide is None or not hasattr(trl_utils, "add_fused_lm_head"):
        logger.debug("TRL %s has no fused-head position switch; scoring as TRL does", trl_utils)
        yield False
        return

    def compact(device: Any) -> bool:
        return getattr(device, "type", None) == "cpu" or decide(device)

    trl_utils._use_triton = compact
    try:
        yield True
    finally:
        trl_utils._use_triton = decide


def _latest_checkpoint(output_dir: Path) -> Path | None:
    checkpoints = sorted(
        (p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return checkpoints[-1] if checkpoints else None


def train_sft(
    base: CausalLM,
    train: Sequence[SFTExample],
    settings: SFTSettings,
    *,
    output_dir: Path,
    eval_examples: Sequence[SFTExample] = (),
    resume: bool = False,
) -> CausalLM:
    """Fine-tune ``base`` on ``train`` and return the tuned model (merged, or with its adapter).

    ``base.model`` is trained in place (no copy of a possibly large model is made).

    Args:
        base: the model to start from (its tokenizer's chat template renders the prompts).
        train: training examples; their order is shuffled by the trainer with ``settings.seed``.
        settings: SFT settings.
        output_dir: the trainer's checkpoints (the resume point).
        eval_examples: optional examples whose loss is logged at each save.
        resume: continue from the newest checkpoint in ``output_dir`` when there is one.
    """
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTTrainer

    _check_adaptation(settings, base)
    set_seed(settings.seed)
    tokenizer = base.tokenizer
    tokenized = tokenize_examples(tokenizer, train, max_length=settings.max_length)
    if not tokenized.rows:
        raise ValueError(
            f"no training example fits max_length={settings.max_length} "
            f"({tokenized.dropped_too_long} dropped)"
        )
    if tokenized.dropped_too_long:
        logger.warning(
            "%d of %d training examples are longer than max_length=%d and were dropped",
            tokenized.dropped_too_long,
            len(train),
            settings.max_length,
        )
    evaluation = tokenize_examples(tokenizer, eval_examples, max_length=settings.max_length)

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    output_dir.mkdir(parents=True, exist_ok=True)
    config = _sft_config(settings, output_dir, bool(evaluation.rows), cuda, bf16)
    model = base.model
    if settings.adaptation == "full":
        model.requires_grad_(True)  # a model that went through peft may come back frozen
    peft_config = None
    if settings.adaptation in ("lora", "qlora"):
        from peft import LoraConfig

        if settings.adaptation == "qlora":
            model = _load_4bit(base)
        peft_config = LoraConfig(task_type="CAUSAL_LM", **asdict(settings.lora))
    check_linear_lm_head(model, what=f"the base model {base.base or base.source!r}")
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(tokenized.rows),
        eval_dataset=Dataset.from_list(evaluation.rows) if evaluation.rows else None,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    checkpoint = _latest_checkpoint(output_dir) if resume else None
    if checkpoint is not None:
        logger.info("Resuming fine-tuning from %s", checkpoint)
    started = time.perf_counter()
    with answer_positions_only():
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    tuned = trainer.model
    adapter = False
    if peft_config is not None:
        if settings.adaptation == "lora" and settings.merge_lora:
            tuned = tuned.merge_and_unload()
        else:
            adapter = True
    tuned.eval()
    epochs = settings.num_train_epochs if settings.max_steps < 0 else None
    log = {
        "settings": asdict(settings),
        "examples": len(tokenized.rows),
        "dropped_too_long": tokenized.dropped_too_long,
        "tokens_per_epoch": tokenized.tokens,
        "answer_tokens_per_epoch": tokenized.answer_tokens,
        "global_steps": result.global_step,
        "epochs": epochs,
        "train_seconds": round(seconds, 1),
        "train_tokens_per_second": round(
            tokenized.tokens
            * (
                result.global_step
                * settings.per_device_train_batch_size
                * settings.gradient_accumulation_steps
                / max(len(tokenized.rows), 1)
            )
            / seconds,
            1,
        )
        if seconds
        else None,
        **train_loss_summary(result.training_loss, trainer.state.log_history),
        "history": [
            {key: value for key, value in entry.items() if key in _LOGGED}
            for entry in trainer.state.log_history
            if "loss" in entry or "eval_loss" in entry
        ],
        "resumed_from": str(checkpoint) if checkpoint else None,
        "device": "cuda" if cuda else "cpu",
        "bf16": bf16,
    }
    logger.info(
        "Fine-tuned %d examples, %d steps in %.0f s (loss: last logged %s, mean %.4f)",
        len(tokenized.rows),
        result.global_step,
        seconds,
        log["final_train_loss"],
        result.training_loss,
    )
    return CausalLM(
        model=tuned,
        tokenizer=tokenizer,
        source=None,
        base=base.base or base.source,
        training_log={**base.training_log, "sft": log},
        adapter=adapter,
    )


_LOGGED = {"loss", "eval_loss", "learning_rate", "grad_norm", "epoch", "step"}


def train_loss_summary(
    mean_loss: float, log_history: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    """``final_train_loss``: the last logged training loss (``None`` when none was logged);
    ``mean_train_loss``: the trainer's ``training_loss``, which is the mean over the whole run."""
    logged = [float(entry["loss"]) for entry in log_history if "loss" in entry]
    return {
        "final_train_loss": round(logged[-1], 4) if logged else None,
        "mean_train_loss": round(mean_loss, 4),
    }
