"""Does DPOP keep the chosen answer's likelihood up where DPO lets it fall? (METHODS.md A)

From one stage-1 model and its mined preference pairs, keep the pairs whose chosen and rejected
answers differ in at most ``--max-token-diff`` tokens (where DPO is known to lower both), train
plain DPO (TRL ``sigmoid``) and DPOP (λ) from the same start with the same seed and data, and plot
the chosen answer's log-probability relative to the reference, ``rewards/chosen / beta``, per step:

    python benchmarks/dpop_chosen_logprob.py --model <stage-1 CausalLMDataset dir> \
        --pairs <preference_pairs.json> --output docs/img/dpop_chosen_logprob.png [--steps 60]
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import platform
import tempfile
from pathlib import Path

from bioie_kedro.decoders.build import CausalLM
from bioie_kedro.pipelines.dfpo.nodes import optimise_preferences


def token_diff(tokenizer, a: str, b: str) -> int:
    x = tokenizer(a, add_special_tokens=False)["input_ids"]
    y = tokenizer(b, add_special_tokens=False)["input_ids"]
    matcher = difflib.SequenceMatcher(a=x, b=y, autojunk=False)
    return sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="the plot (PNG)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--max-token-diff", type=int, default=8)
    parser.add_argument("--beta", type=float, default=0.4)
    parser.add_argument("--dpop-lambda", type=float, default=2.0)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    base = CausalLM.load(args.model)
    pairs = json.loads(args.pairs.read_text())
    close = [
        p
        for p in pairs
        if 0 < token_diff(base.tokenizer, p["chosen"], p["rejected"]) <= args.max_token_diff
    ]
    if not close:
        raise SystemExit(f"no pair of {len(pairs)} differs in 1..{args.max_token_diff} tokens")
    curves = {}
    for name, loss_type in (("DPO", "sigmoid"), (f"DPOP (λ={args.dpop_lambda:g})", "dpop")):
        lm = CausalLM(model=copy.deepcopy(base.model), tokenizer=base.tokenizer, base=base.base)
        with tempfile.TemporaryDirectory() as tmp:
            params = {
                "training": {
                    "loss_type": loss_type,
                    "beta": args.beta,
                    "dpop_lambda": args.dpop_lambda,
                    "learning_rate": args.learning_rate,
                    "max_steps": args.steps,
                    "per_device_train_batch_size": 4,
                    "max_length": 1024,
                    "seed": args.seed,
                    "logging_steps": 1,
                    "adaptation": "lora",
                },
                "trainer_output_dir": tmp,
            }
            _, log = optimise_preferences(lm, close, params)
        curves[name] = [
            (
                step["step"],
                step["rewards/chosen"] / args.beta,
                step.get("rewards/margins", 0.0) / args.beta,
            )
            for step in log["history"]
        ]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, points in curves.items():
        steps = [p[0] for p in points]
        axes[0].plot(steps, [p[1] for p in points], label=name)
        axes[1].plot(steps, [p[2] for p in points], label=name)
    axes[0].axhline(0, color="grey", linewidth=0.8)
    axes[0].set_title("chosen log-prob − reference (nats, batch mean)")
    axes[1].set_title("margin: chosen − rejected, relative to reference")
    for axis in axes:
        axis.set_xlabel("step")
        axis.legend()
    figure.suptitle(
        f"{len(close)} pairs differing in ≤{args.max_token_diff} tokens, lr {args.learning_rate:g}, β {args.beta:g}"
    )
    figure.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output, dpi=110)
    summary = {
        "pairs_used": len(close),
        "pairs_available": len(pairs),
        "final_chosen_minus_reference": {
            name: round(points[-1][1], 4) for name, points in curves.items()
        },
        "min_chosen_minus_reference": {
            name: round(min(p[1] for p in points), 4) for name, points in curves.items()
        },
        "final_margin": {name: round(points[-1][2], 4) for name, points in curves.items()},
        "plot": str(args.output),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
