"""DFPO ablation: SFT only, SFT + DPO, SFT + DPOP and full DFPO from the same base, same budget.

Every arm gets the same number of optimiser steps in total (``--steps``); the preference arms
spend ``--preference-steps`` of them on DPO/DPOP (pairs mined from the arm's own SFT model), and
full DFPO splits its SFT steps between the pre-finetune mix (target + ``--mix`` corpora) and the
post-finetune on the target. Built from the pipelines' own nodes; one run per seed:

    python benchmarks/dfpo_ablation.py --corpus ncbi_disease --mix bc5cdr --output /tmp/abl \
        --steps 600 --preference-steps 60 --seeds 42 43 44

Prints and writes ``<output>/ablation.json``: per arm and seed, test string-level and span-level
strict F1 with bootstrap intervals, parse statistics, pairs mined and wall time per stage.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from decoder_sft import CORPORA, defaults, load_documents, merge

from bioie_kedro.metrics import score_entities
from bioie_kedro.metrics.strings import records_from_documents, score_strings
from bioie_kedro.pipelines.decoder_sft.nodes import (
    build_instructions,
    extract_predictions,
    fine_tune_decoder,
    generate_answers,
    prepare_base_decoder,
)
from bioie_kedro.pipelines.dfpo.nodes import mine_preference_pairs, optimise_preferences

ARMS = ("sft", "sft_dpo", "sft_dpop", "dfpo")


def load(corpora: Path, names: list[str]) -> dict[str, list]:
    return {key: docs for name in names for key, docs in load_documents(corpora, name).items()}


def sft_params(
    base: dict[str, Any], sources: list[dict[str, Any]], steps: int, seed: int, output: Path
) -> dict[str, Any]:
    return merge(
        base,
        {
            "instructions": {"train": sources},
            "training": {"max_steps": steps, "seed": seed, "save_strategy": "no"},
            "base_model": {"seed": seed},
            "trainer_output_dir": str(output),
        },
    )


def run_arm(arm: str, documents, target: str, mix: list[str], args, seed: int) -> dict[str, Any]:
    _, type_map = CORPORA[target]
    target_source = {"corpus": target, "split": "train", "tasks": ["ner"], "type_map": type_map}
    mix_sources = [target_source] + [
        {"corpus": name, "split": "train", "tasks": ["ner"], "type_map": CORPORA[name][1]}
        for name in mix
    ]
    base = defaults(target, args.output, type_map)
    base = merge(base, json.loads(args.params))
    out = args.output / arm / str(seed)
    timings: dict[str, float] = {}
    preference_steps = 0 if arm == "sft" else args.preference_steps
    sft_steps = args.steps - preference_steps

    # The tokenizer is trained on the same texts in every arm: the target plus the mix.
    vocabulary_params = sft_params(base, mix_sources, 1, seed, out / "vocab")
    vocabulary_train, _, _ = build_instructions(documents, {}, vocabulary_params)
    started = time.perf_counter()
    model = prepare_base_decoder(vocabulary_train, vocabulary_params)
    if arm == "dfpo":
        stage1 = sft_params(base, mix_sources, sft_steps // 2, seed, out / "stage1")
        model = fine_tune_decoder(model, vocabulary_train, stage1)
        timings["pre_finetune"] = time.perf_counter() - started
        remaining = sft_steps - sft_steps // 2
    else:
        remaining = sft_steps
        stage1 = None
    target_params = sft_params(base, [target_source], remaining, seed, out / "target")
    target_train, evaluation, _ = build_instructions(documents, {}, target_params)
    pairs_report: dict[str, Any] | None = None
    if arm == "dfpo":
        mining_instructions, mining_params = vocabulary_train, stage1
    else:
        started = time.perf_counter()
        model = fine_tune_decoder(model, target_train, target_params)
        timings["sft"] = time.perf_counter() - started
        mining_instructions, mining_params = target_train, target_params
    if preference_steps:
        started = time.perf_counter()
        preference = {
            "mining": {
                "samples": 2,
                "max_new_tokens": 64,
                "batch_size": 64,
                "seed": seed,
                "max_prompts": args.mining_prompts,
            },
            "training": {
                "loss_type": "sigmoid" if arm == "sft_dpo" else "dpop",
                "beta": 0.4,
                "dpop_lambda": 2.0,
                "learning_rate": args.preference_lr,
                "max_steps": preference_steps,
                "per_device_train_batch_size": 8,
                "max_length": 512,
                "seed": seed,
                "logging_steps": 5,
                "adaptation": "lora",
            },
            "trainer_output_dir": str(out / "preference"),
        }
        pairs, pairs_report = mine_preference_pairs(
            model, mining_instructions, preference, mining_params
        )
        timings["mining"] = time.perf_counter() - started
        started = time.perf_counter()
        model, _ = optimise_preferences(model, pairs, preference)
        timings["preference"] = time.perf_counter() - started
    if arm == "dfpo":
        started = time.perf_counter()
        model = fine_tune_decoder(model, target_train, target_params)
        timings["post_finetune"] = time.perf_counter() - started
    started = time.perf_counter()
    generations, _ = generate_answers(model, evaluation, target_params)
    predictions, report = extract_predictions(evaluation, generations, documents, target_params)
    timings["generation"] = time.perf_counter() - started
    key = f"{target}/test"
    gold = documents[key]
    spans = score_entities(
        gold, predictions[key], type_map=type_map, bootstrap=1000, seed=0
    ).as_dict()
    strings = score_strings(
        records_from_documents(gold, predictions[key], type_map=type_map), bootstrap=1000, seed=0
    )
    return {
        "arm": arm,
        "seed": seed,
        "sft_steps": sft_steps,
        "preference_steps": preference_steps,
        "pairs": None if pairs_report is None else pairs_report["pairs"],
        "pair_kinds": None if pairs_report is None else pairs_report["primary_kinds"]["kept"],
        "string_f1": strings.as_dict()["pooled"],
        "span_strict": spans["micro"]["strict"],
        "parse": report["partitions"][key]["parse"]["by_status"],
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--mix", nargs="*", default=["bc5cdr"], help="extra corpora of the pre-finetune mix"
    )
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--steps", type=int, default=600, help="optimiser steps per arm, all stages together"
    )
    parser.add_argument("--preference-steps", type=int, default=60)
    parser.add_argument("--preference-lr", type=float, default=5e-5)
    parser.add_argument("--mining-prompts", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument(
        "--params", default="{}", help="JSON merged into the decoder_sft parameters"
    )
    args = parser.parse_args()

    documents = load(args.corpora, [args.corpus, *args.mix])
    results = []
    for seed in args.seeds:
        for arm in args.arms:
            result = run_arm(arm, documents, args.corpus, args.mix, args, seed)
            results.append(result)
            print(json.dumps(result), flush=True)
            args.output.mkdir(parents=True, exist_ok=True)
            (args.output / "ablation.json").write_text(
                json.dumps(
                    {
                        "results": results,
                        "args": {k: str(v) for k, v in vars(args).items()},
                        "machine": f"{platform.machine()}, Python {platform.python_version()}",
                    },
                    indent=2,
                )
            )


if __name__ == "__main__":
    main()
