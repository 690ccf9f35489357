"""Hugging Face ``Trainer`` plumbing shared by the encoder fine-tuners.

Both :func:`bioie_kedro.token_classification.train_token_classifier` (NER) and
:func:`bioie_kedro.relation_extraction.classifier.train_relation_classifier` (relation students)
train an encoder with model selection on a development split: evaluate and checkpoint at the same
points, restore the best weights at the end, keep two checkpoints, resume from the newest one.
They differ in the data, the model head and the selection metric; what they share lives here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bioie_kedro.progress import interactive


def selection_training_arguments(
    settings: Any,
    *,
    output_dir: str | Path,
    metric: str,
    eval_strategy: str = "epoch",
    eval_steps: int | None = None,
    bf16: bool = False,
    keep_best: bool = True,
    **extra: Any,
):
    """``TrainingArguments`` from a settings object with the ``TrainingArguments`` field names.

    ``settings`` supplies ``learning_rate``, the batch sizes, ``num_train_epochs``, ``max_steps``,
    ``warmup_ratio``, ``weight_decay``, ``lr_scheduler_type``, ``gradient_accumulation_steps``,
    ``seed`` and ``logging_steps``. Evaluation and checkpoints happen at the same points (each
    epoch, or every ``eval_steps`` steps) so that ``load_best_model_at_end`` can restore the
    checkpoint with the best ``metric`` (greater is better); ``keep_best=False`` keeps the final
    weights instead. ``settings.save_total_limit`` (when it has one; else 2: the best and the
    newest) bounds the checkpoints kept. CPU when CUDA is absent; ``extra`` goes to
    ``TrainingArguments`` unchanged.
    """
    import torch
    from transformers import TrainingArguments

    steps = {"eval_steps": eval_steps, "save_steps": eval_steps} if eval_steps else {}
    return TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.per_device_train_batch_size,
        per_device_eval_batch_size=settings.per_device_eval_batch_size,
        num_train_epochs=settings.num_train_epochs,
        max_steps=settings.max_steps,
        warmup_steps=settings.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.lr_scheduler_type,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        eval_strategy=eval_strategy,
        save_strategy=eval_strategy,
        **steps,
        load_best_model_at_end=keep_best,
        metric_for_best_model=metric,
        greater_is_better=True,
        save_total_limit=getattr(settings, "save_total_limit", 2),
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=settings.logging_steps,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        bf16=bf16,
        disable_tqdm=not interactive(),
        **extra,
    )


def bf16_supported() -> bool:
    """Whether bf16 mixed precision pays off here: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX tiles (on other CPUs bf16 matrix products are emulated and slower)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_bf16(value: bool | str) -> bool:
    """``bf16`` settings: ``true``, ``false`` or ``"auto"`` (:func:`bf16_supported`)."""
    if isinstance(value, bool):
        return value
    if value == "auto":
        return bf16_supported()
    raise ValueError(f"bf16 must be true, false or 'auto', got {value!r}")


def without_mixed_precision_wrapper(model: Any) -> Any:
    """The trained model with accelerate's autocast wrapper taken off its ``forward``.

    After bf16 training accelerate leaves ``model.forward`` running under autocast, so the model
    a training function returns would predict in bf16 while the same weights saved and reloaded
    predict in fp32. Unwrapping makes both the same.
    """
    from accelerate.utils import extract_model_from_parallel

    return extract_model_from_parallel(model, keep_fp32_wrapper=False)


def sequential_eval_trainer_class():
    """A ``Trainer`` whose evaluation keeps the dataset order and leaves the training's random
    numbers alone.

    ``train_sampling_strategy="group_by_length"`` speeds up training (little padding), but
    transformers then also orders the evaluation set by length; metrics that line predictions up
    with the dataset (windows, labels kept aside) need it in dataset order.

    Each evaluation's data loader draws its base seed from torch's global generator, the one
    dropout and the training sampler use, so evaluating more or less often would change every
    dropout mask after the first evaluation. The generators' states are saved before an
    evaluation and restored after it: ``eval_steps`` does not change the trained weights.
    """
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import Trainer

    class SequentialEvalTrainer(Trainer):
        def _get_eval_sampler(self, eval_dataset):
            return SequentialSampler(eval_dataset) if eval_dataset is not None else None

        def evaluate(self, *args, **kwargs):
            cpu_state = torch.random.get_rng_state()
            cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                torch.random.set_rng_state(cpu_state)
                if cuda_states is not None:
                    torch.cuda.set_rng_state_all(cuda_states)

    return SequentialEvalTrainer


@dataclass
class TrainerRun:
    """What :func:`train_resumable` reports: steps, wall time, the checkpoint resumed from, and
    the evaluations that carry ``metric`` (``trainer.state.log_history`` entries)."""

    global_steps: int
    seconds: float
    resumed_from: str | None
    best_metric: float | None
    best_checkpoint: str | None
    evaluations: list[dict[str, Any]]


def train_resumable(
    trainer: Any, output_dir: str | Path, *, resume: bool, metric: str
) -> TrainerRun:
    """``trainer.train()``, continuing from the newest checkpoint of ``output_dir`` when
    ``resume`` is set and one exists; timed."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = (
        get_last_checkpoint(str(output_dir)) if resume and Path(output_dir).is_dir() else None
    )
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - started
    return TrainerRun(
        global_steps=result.global_step,
        seconds=round(seconds, 1),
        resumed_from=checkpoint,
        best_metric=trainer.state.best_metric,
        best_checkpoint=trainer.state.best_model_checkpoint,
        evaluations=[e for e in trainer.state.log_history if f"eval_{metric}" in e],
    )


def checkpoints_by_step(output_dir: str | Path) -> list[Path]:
    """The ``checkpoint-<step>`` directories of a Trainer output directory, oldest first."""
    directory = Path(output_dir)
    if not directory.is_dir():
        return []
    found = [
        (int(p.name.rpartition("-")[2]), p)
        for p in directory.glob("checkpoint-*")
        if p.is_dir() and p.name.rpartition("-")[2].isdigit()
    ]
    return [p for _, p in sorted(found)]


def average_checkpoint_weights(model: Any, checkpoints: list[Path]) -> None:
    """Load the mean of the checkpoints' weights (``model.safetensors``) into ``model``.

    Averaging the weights of the last few checkpoints of one fine-tuning run (Izmailov et al.
    2018, "stochastic weight averaging"; Wortsman et al. 2022, "model soups") gives one model
    that is usually better than any single checkpoint. Floating-point tensors are averaged in
    float64 and cast back; others (integer buffers) come from the last checkpoint. Every
    checkpoint must hold exactly the model's parameters: a missing or extra name is an error
    naming the checkpoint.
    """
    import torch
    from safetensors.torch import load_file

    if not checkpoints:
        raise ValueError("average_checkpoint_weights needs at least one checkpoint")
    expected = model.state_dict()
    total: dict[str, Any] = {}
    for checkpoint in checkpoints:
        file = Path(checkpoint) / "model.safetensors"
        if not file.is_file():
            raise FileNotFoundError(f"{checkpoint}: no model.safetensors to average")
        state = load_file(str(file))
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        if missing or extra:
            raise ValueError(
                f"{file}: not this model's weights (missing {missing[:3]}, extra {extra[:3]})"
            )
        for name, tensor in state.items():
            if tensor.is_floating_point():
                total[name] = total.get(name, 0) + tensor.to(torch.float64)
            else:
                total[name] = tensor
    averaged = {
        name: (value / len(checkpoints)).to(expected[name].dtype)
        if expected[name].is_floating_point()
        else value
        for name, value in total.items()
    }
    model.load_state_dict(averaged)


def load_encoder_directory(
    directory: str | Path,
    model_class: Any,
    *,
    metadata_file: str,
    what: str,
    device: str | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Model, tokenizer and metadata of a directory written by a classifier's ``save``.

    ``model_class`` has ``from_pretrained``, or is a function of the metadata that returns such
    a class (when the metadata says which model the directory holds).

    Raises:
        FileNotFoundError: ``directory`` has no ``metadata_file`` (it is not a ``what``).
    """
    from transformers import AutoTokenizer

    directory = Path(directory)
    marker = directory / metadata_file
    if not marker.is_file():
        raise FileNotFoundError(f"{directory} is not a bioie-kedro {what} (no {metadata_file})")
    meta = json.loads(marker.read_text())
    if not hasattr(model_class, "from_pretrained"):
        model_class = model_class(meta)
    model = model_class.from_pretrained(directory)
    if device:
        model.to(device)
    return model, AutoTokenizer.from_pretrained(directory), meta
