"""TRL's fused LM head on a CPU: every position scored (TRL as installed) vs answer positions only.

Side by side in one process, on the same model, data, seed and steps: the decoder_sft pipeline's
own nodes build the NCBI-disease sentence instructions and the base decoder, then
:func:`bioie_kedro.decoders.sft.train_sft` runs ``--steps`` optimiser steps twice — once with TRL's
own choice (on a CPU it projects every prompt and answer position through the output embeddings)
and once inside :func:`~bioie_kedro.decoders.sft.answer_positions_only` (what ``train_sft`` always
does). The arms alternate ``--rounds`` times so that a slow stretch of a shared machine hits both.
Prints seconds per step per arm, the ratio, and the largest difference between the two arms'
logged losses (the same training, so they should agree to float rounding):

    OMP_NUM_THREADS=2 python benchmarks/sft_answer_positions.py --output /tmp/fused \
        [--model bundled:minilm-decoder] [--steps 20] [--rounds 2] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decoder_sft import CORPORA, defaults, load_documents, merge  # noqa: E402

from bioie_kedro.decoders import sft  # noqa: E402
from bioie_kedro.pipelines.decoder_sft.nodes import (  # noqa: E402
    build_instructions,
    fine_tune_decoder,
    prepare_base_decoder,
)


@contextlib.contextmanager
def trl_as_installed():
    yield False


def run_arm(documents, params, *, compact: bool) -> dict:
    original = sft.answer_positions_only
    if not compact:
        sft.answer_positions_only = trl_as_installed
    try:
        train, _, _ = build_instructions(documents, {}, params)
        base = prepare_base_decoder(train, params)
        started = time.perf_counter()
        tuned = fine_tune_decoder(base, train, params)
        seconds = time.perf_counter() - started
    finally:
        sft.answer_positions_only = original
    log = tuned.training_log["sft"]
    return {
        "seconds": round(seconds, 2),
        "train_seconds": log["train_seconds"],
        "seconds_per_step": round(log["train_seconds"] / log["global_steps"], 3),
        "losses": [entry["loss"] for entry in log["history"] if "loss" in entry],
        "answer_tokens_per_epoch": log["answer_tokens_per_epoch"],
        "tokens_per_epoch": log["tokens_per_epoch"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--model", default="bundled:minilm-decoder")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    _, type_map = CORPORA[args.corpus]
    documents = load_documents(args.corpora, args.corpus, splits=("train",))
    params = merge(
        defaults(args.corpus, args.output, type_map),
        {
            "base_model": {"model_name_or_path": args.model},
            "instructions": {"eval": []},
            "training": {
                "learning_rate": 3e-4,
                "per_device_train_batch_size": args.batch_size,
                "max_steps": args.steps,
                "logging_steps": 1,
                "save_strategy": "no",
            },
        },
    )
    arms: dict[str, list[dict]] = {"every_position": [], "answer_positions": []}
    for _ in range(args.rounds):
        for name, runs in arms.items():
            runs.append(run_arm(documents, params, compact=name == "answer_positions"))
    per_step = {
        name: statistics.median(run["seconds_per_step"] for run in runs)
        for name, runs in arms.items()
    }
    first = {name: runs[0]["losses"] for name, runs in arms.items()}
    result = {
        "model": args.model,
        "corpus": args.corpus,
        "steps": args.steps,
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "answer_token_share": round(
            arms["answer_positions"][0]["answer_tokens_per_epoch"]
            / arms["answer_positions"][0]["tokens_per_epoch"],
            4,
        ),
        "median_seconds_per_step": per_step,
        "speed_up": round(per_step["every_position"] / per_step["answer_positions"], 2),
        "max_logged_loss_difference": max(
            abs(a - b) for a, b in zip(first["every_position"], first["answer_positions"])
        ),
        "runs": arms,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
