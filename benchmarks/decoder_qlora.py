"""QLoRA (4-bit NF4) against bf16 LoRA on CUDA: tokens/s and peak GPU memory of the project's SFT.

Builds a Llama-architecture decoder of TinyLlama-1.1B's shape from a config (random weights:
nothing can be downloaded on the benchmark machine, and neither speed nor memory depends on the
weights' values) with a byte-level BPE tokenizer trained on the instructions, saves it, and
fine-tunes it with the project's ``train_sft`` on NCBI-disease training instructions (DFPO list
format, one per sentence) for ``--steps`` optimiser steps, once per adaptation:

    python benchmarks/decoder_qlora.py --output /tmp/qlora [--steps 60] [--batch-size 16] \
        [--adaptations qlora lora]

``qlora`` uses the QLoRA block of ``conf/paper/parameters_decoder_sft.yml`` (NF4 with double
quantisation, bf16 compute, LoRA r 128 / alpha 256 on all linear layers, gradient checkpointing,
``paged_adamw_8bit``); ``lora`` the same adapter on the bf16-autocast full-precision base with
AdamW and no checkpointing. Needs CUDA (QLoRA is refused without it). Prints one JSON object and
writes it to ``<output>/result.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from decoder_sft import CORPORA, defaults, load_documents, merge

from bioie_kedro.decoders.build import CausalLM
from bioie_kedro.decoders.sft import LoraSettings, SFTSettings, train_sft
from bioie_kedro.pipelines.decoder_sft.nodes import (
    _examples,
    build_instructions,
    prepare_base_decoder,
)

#: TinyLlama-1.1B's shape (1.1 B parameters with a 32,000 vocabulary)
TINYLLAMA = {
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "vocab_size": 32000,
}
PAPER_LORA = {"r": 128, "lora_alpha": 256, "lora_dropout": 0.05, "target_modules": "all-linear"}


def settings_for(adaptation: str, steps: int, batch_size: int) -> SFTSettings:
    common: dict[str, Any] = {
        "learning_rate": 2e-4,
        "max_steps": steps,
        "per_device_train_batch_size": batch_size,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "logging_steps": 10,
        "save_strategy": "no",
        "max_length": 512,
        "adaptation": adaptation,
        "lora": LoraSettings(**PAPER_LORA),
        "merge_lora": False,
    }
    if adaptation == "qlora":
        common.update(gradient_checkpointing=True, optim="paged_adamw_8bit")
    return SFTSettings(**common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--adaptations", nargs="+", choices=("qlora", "lora", "full"), default=["qlora", "lora"]
    )
    parser.add_argument("--shape", default=json.dumps(TINYLLAMA), help="LlamaConfig fields (JSON)")
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    if "qlora" in args.adaptations and not cuda:
        raise SystemExit("QLoRA needs a CUDA GPU (bitsandbytes 4-bit)")
    _, type_map = CORPORA["ncbi_disease"]
    documents = load_documents(args.corpora, "ncbi_disease", ("train",))
    params = merge(
        defaults("ncbi_disease", args.output, type_map),
        {
            "base_model": {"shape": json.loads(args.shape)},
            "instructions": {"eval": []},
        },
    )
    train, _, _ = build_instructions(documents, {}, params)
    started = time.perf_counter()
    base = prepare_base_decoder(train, params)
    build_seconds = time.perf_counter() - started
    base_dir = args.output / "base"
    base.model.to(torch.bfloat16)
    base.save(base_dir)
    parameters = base.parameter_count()
    del base

    runs = []
    for adaptation in args.adaptations:
        model = CausalLM.load(base_dir, dtype=torch.float32)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        settings = settings_for(adaptation, args.steps, args.batch_size)
        tuned = train_sft(model, _examples(train), settings, output_dir=args.output / adaptation)
        log = tuned.training_log["sft"]
        runs.append(
            {
                "adaptation": adaptation,
                "steps": log["global_steps"],
                "train_seconds": log["train_seconds"],
                "train_tokens_per_second": log["train_tokens_per_second"],
                "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
                if cuda
                else None,
                "first_logged_loss": log["history"][0].get("loss") if log["history"] else None,
                "final_train_loss": log["final_train_loss"],
                "mean_train_loss": log["mean_train_loss"],
                "dropped_too_long": log["dropped_too_long"],
                "settings": {
                    k: v
                    for k, v in log["settings"].items()
                    if k in ("optim", "gradient_checkpointing", "lora", "learning_rate")
                },
            }
        )
        print(json.dumps(runs[-1]), flush=True)
        del model, tuned
    result = {
        "parameters_millions": round(parameters / 1e6, 1),
        "shape": json.loads(args.shape),
        "training_examples": len(train),
        "batch_size": args.batch_size,
        "build_seconds": round(build_seconds, 1),
        "runs": runs,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    (args.output / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
