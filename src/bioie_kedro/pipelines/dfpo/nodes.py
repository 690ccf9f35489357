"""Nodes of DFPO's middle stage: mine preference pairs from the stage-1 model, then DPOP.

The stage-1 model answers its training prompts (greedy plus sampled answers);
each answer whose parsed extraction differs from gold becomes a rejected answer against the
gold-rendered chosen one (:func:`bioie_kedro.preference.mine_pairs`). Prompts are rendered with
the model's chat template exactly as in SFT and generation; answers end with the end-of-turn
token, as SFT trained them to.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from bioie_kedro.decoders.build import CausalLM, check_linear_lm_head
from bioie_kedro.decoders.sft import (
    answer_positions_only,
    checkpointing_setting,
    train_loss_summary,
)
from bioie_kedro.pipelines.decoder_sft.params import DecoderSftParams
from bioie_kedro.pipelines.dfpo.params import PreferenceParams
from bioie_kedro.preference import MiningCandidate, mine_pairs
from bioie_kedro.progress import interactive
from bioie_kedro.prompting import get_format, instances_from_records

logger = logging.getLogger(__name__)


def mine_preference_pairs(
    stage1_model: CausalLM,
    train_instructions: list[dict[str, Any]],
    preference_params: dict[str, Any],
    stage1_params: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Preference pairs from the stage-1 model's wrong answers to its own training prompts (the
    instruction mix, which holds the target corpus), and the mining report."""
    from bioie_kedro.decoders.chat import render_prompt
    from bioie_kedro.decoders.generation import GenerationSettings, generate_samples

    settings = PreferenceParams.parse(preference_params).mining
    fmt = get_format(DecoderSftParams.parse(stage1_params).instructions.format)
    instances = instances_from_records(train_instructions)[: settings.max_prompts]
    tokenizer = stage1_model.tokenizer
    prompts = [render_prompt(tokenizer, i.messages) for i in instances]
    greedy, greedy_stats = generate_samples(
        stage1_model.model,
        tokenizer,
        prompts,
        GenerationSettings(max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size),
    )
    sampled: list[list[str]] = [[] for _ in prompts]
    sample_stats = None
    if settings.samples:
        sampled, sample_stats = generate_samples(
            stage1_model.model,
            tokenizer,
            prompts,
            GenerationSettings(
                max_new_tokens=settings.max_new_tokens,
                batch_size=settings.batch_size,
                do_sample=True,
                temperature=settings.temperature,
                top_p=settings.top_p,
                num_return_sequences=settings.samples,
                seed=settings.seed,
            ),
        )
    candidates = []
    for instance, prompt, first, others in zip(instances, prompts, greedy, sampled, strict=True):
        answers = tuple(
            (text, fmt.parse(text, instance, document_text=None).answer)
            for text in [*first, *others]
        )
        candidates.append(
            MiningCandidate(
                instance_id=instance.id,
                prompt=prompt,
                chosen=instance.answer,
                task=instance.task,
                gold=instance.gold,
                answers=answers,
            )
        )
    pairs, report = mine_pairs(
        candidates,
        seed=settings.seed,
        max_pairs=settings.max_pairs,
        balance=settings.balance,
        balance_factor=settings.balance_factor,
        max_per_kind=settings.max_per_kind,
        balance_floor=settings.balance_floor,
    )
    report["generation"] = {
        "greedy": greedy_stats.as_dict(),
        "sampled": sample_stats.as_dict() if sample_stats else None,
    }
    logger.info("Mined %d preference pairs from %d prompts", len(pairs), len(prompts))
    return pairs, report


def optimise_preferences(
    stage1_model: CausalLM,
    preference_pairs: list[dict[str, Any]],
    preference_params: dict[str, Any],
) -> tuple[CausalLM, dict[str, Any]]:
    """DPOP (or the configured TRL loss) on the mined pairs; LoRA adapters are merged after.

    The reference is the policy with its adapter disabled (LoRA) or a frozen copy (full).
    Returns the optimised model and the training log (rewards, margins, penalty per step).
    """
    import torch
    from datasets import Dataset
    from transformers import set_seed

    from bioie_kedro.preference import DPOPConfig, DPOPTrainer

    settings = PreferenceParams.parse(preference_params)
    train = settings.training
    if not preference_pairs:
        logger.warning("No preference pair was mined: the stage-1 model passes on unchanged")
        return stage1_model, {"pairs": 0, "skipped": "no preference pairs", "history": []}
    set_seed(train.seed)
    cuda = torch.cuda.is_available()
    output_dir = Path(settings.trainer_output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = DPOPConfig(
        output_dir=str(output_dir),
        loss_type=train.loss_type,
        beta=train.beta,
        dpop_lambda=train.dpop_lambda,
        label_smoothing=train.label_smoothing,
        learning_rate=train.learning_rate,
        num_train_epochs=train.num_train_epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_train_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        lr_scheduler_type=train.lr_scheduler_type,
        warmup_steps=train.warmup_steps,
        max_length=train.max_length,
        seed=train.seed,
        logging_steps=train.logging_steps,
        save_strategy="no",
        report_to="none",
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        disable_tqdm=not interactive(),
        **checkpointing_setting(DPOPConfig, False),
    )
    peft_config = None
    model = stage1_model.model
    if train.adaptation == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(task_type="CAUSAL_LM", target_modules="all-linear", **train.lora)
    else:
        model.requires_grad_(True)
    dataset = Dataset.from_list(
        [{k: pair[k] for k in ("prompt", "chosen", "rejected")} for pair in preference_pairs]
    )
    check_linear_lm_head(model, what="the stage-1 model")
    trainer = DPOPTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=stage1_model.tokenizer,
        peft_config=peft_config,
    )
    started = time.perf_counter()
    with answer_positions_only():  # TRL's fused head: the completion positions only, on CPU too
        result = trainer.train()
    seconds = time.perf_counter() - started
    tuned = trainer.model
    if peft_config is not None:
        tuned = tuned.merge_and_unload()
    tuned.eval()
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    log = {
        "pairs": len(preference_pairs),
        "settings": train.model_dump(),
        "global_steps": result.global_step,
        "train_seconds": round(seconds, 1),
        **train_loss_summary(result.training_loss, history),
        "history": history,
    }
    logger.info(
        "Preference optimisation: %d pairs, %d steps, %.0f s",
        len(preference_pairs),
        result.global_step,
        seconds,
    )
    return (
        CausalLM(
            model=tuned,
            tokenizer=stage1_model.tokenizer,
            base=stage1_model.base,
            training_log={**stage1_model.training_log, "preference": log},
        ),
        log,
    )
