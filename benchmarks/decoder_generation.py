"""Batched generation against one-prompt-at-a-time ``generate``: throughput and identical outputs.

Same model, same prompts, one run, side by side:

    python benchmarks/decoder_generation.py --model <CausalLMDataset directory> \
        --instructions <eval_instructions.json> [--prompts 200] [--batch-size 32] [--max-new-tokens 64]

The model is a directory saved by the catalog (e.g. ``data/06_models/decoder_sft/model/<version>/model``)
and the prompts the evaluation instructions next to it (``data/05_model_input/decoder_sft/eval_instructions.json``).
Prints the prompts per second of both, the speed-up and how many greedy answers are identical.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from bioie_kedro.decoders.build import CausalLM
from bioie_kedro.decoders.chat import render_prompt
from bioie_kedro.decoders.generation import GenerationSettings, generate, generate_one_by_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--instructions", type=Path, required=True)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    lm = CausalLM.load(args.model)
    records = json.loads(args.instructions.read_text())[: args.prompts]
    prompts = [render_prompt(lm.tokenizer, r["messages"]) for r in records]
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)

    started = time.perf_counter()
    single = generate_one_by_one(lm.model, lm.tokenizer, prompts, settings)
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    batched = generate(lm.model, lm.tokenizer, prompts, settings)
    batched_seconds = time.perf_counter() - started

    identical = sum(a == b for a, b in zip(single, batched, strict=True))
    result = {
        "model": str(args.model),
        "parameters_millions": round(lm.parameter_count() / 1e6, 2),
        "prompts": len(prompts),
        "mean_prompt_tokens": round(
            sum(len(lm.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
            / len(prompts),
            1,
        ),
        "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size,
        "one_by_one_prompts_per_second": round(len(prompts) / single_seconds, 2),
        "batched_prompts_per_second": round(len(prompts) / batched_seconds, 2),
        "speedup": round(single_seconds / batched_seconds, 2),
        "identical_greedy_answers": identical,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
