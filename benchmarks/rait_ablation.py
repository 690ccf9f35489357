"""RA-IT against vanilla instruction tuning at equal steps, several seeds (issue 6).

Each run is one ``benchmarks/decoder_sft.py`` process (same corpus, base model, format and step
count; RA-IT adds the k=2 nearest training sentences as examples to every instruction, found with
the bundled MiniLM embeddings). Seeds set the base model's initialisation, the instruction order
and the trainer's sampling:

    python benchmarks/rait_ablation.py --output /tmp/rait --seeds 42 43 44 \
        --params '{"training": {"max_steps": 500}}'

``--params`` is merged into every run's parameters (see decoder_sft.py). Runs whose
``result.json`` exists are not repeated, so an interrupted ablation resumes. Writes
``<output>/rait_ablation.json`` and prints a Markdown table: per run, test span-level strict F1
and document-level string F1 with 95 % bootstrap intervals, training time, and per arm the mean ±
sd over seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from decoder_sft import merge

HERE = Path(__file__).resolve().parent
ARMS = {"vanilla": None, "rait": "nearest"}


def run_one(output: Path, arm: str, seed: int, params: dict[str, Any], corpus: str) -> dict:
    directory = output / f"{arm}_{seed}"
    result_file = directory / "result.json"
    if not result_file.exists():
        seeded = merge(
            params,
            {
                "base_model": {"seed": seed},
                "instructions": {"seed": seed},
                "training": {"seed": seed},
            },
        )
        command = [
            sys.executable,
            str(HERE / "decoder_sft.py"),
            "--corpus",
            corpus,
            "--output",
            str(directory),
            "--params",
            json.dumps(seeded),
        ]
        if ARMS[arm]:
            command += ["--rait", ARMS[arm]]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    return json.loads(result_file.read_text())


def summary_row(arm: str, seed: int, result: dict) -> dict[str, Any]:
    spans = result["test_spans"]["strict"]
    strings = result["test_strings"]
    return {
        "arm": arm,
        "seed": seed,
        "span_f1": spans["f1"],
        "span_f1_ci": spans["f1_ci"],
        "string_f1": strings["f1"],
        "string_f1_ci": strings["f1_ci"],
        "train_seconds": result["training"].get("train_seconds"),
        "train_tokens_per_epoch": result["training"].get("tokens_per_epoch"),
        "global_steps": result["training"].get("global_steps"),
        "parse": result["parse"]["by_status"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    def pct(value: float) -> str:
        return f"{100 * value:.2f}"

    def interval(ci: list[float] | None) -> str:
        return f"{pct(ci[0])}–{pct(ci[1])}" if ci else "–"

    lines = [
        "| arm | seed | steps | training time | span strict F1 (95 % interval) | string F1 (95 % interval) | ok / repaired / unparsable |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        parse = row["parse"]
        lines.append(
            f"| {row['arm']} | {row['seed']} | {row['global_steps']} | {row['train_seconds']:,.0f} s"
            f" | {pct(row['span_f1'])} ({interval(row['span_f1_ci'])})"
            f" | {pct(row['string_f1'])} ({interval(row['string_f1_ci'])})"
            f" | {parse['ok']} / {parse['repaired']} / {parse['unparsable']} |"
        )
    for arm in ARMS:
        spans = [100 * r["span_f1"] for r in rows if r["arm"] == arm]
        strings = [100 * r["string_f1"] for r in rows if r["arm"] == arm]
        if len(spans) >= 2:
            lines.append(
                f"| **{arm}** | mean ± sd | | | {statistics.mean(spans):.2f} ± "
                f"{statistics.stdev(spans):.2f} | {statistics.mean(strings):.2f} ± "
                f"{statistics.stdev(strings):.2f} | |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="ncbi_disease")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--arms", nargs="+", choices=sorted(ARMS), default=list(ARMS))
    parser.add_argument("--params", default="{}", help="JSON merged into every run's parameters")
    args = parser.parse_args()

    params = json.loads(args.params)
    rows = []
    for seed in args.seeds:
        for arm in args.arms:
            rows.append(
                summary_row(arm, seed, run_one(args.output, arm, seed, params, args.corpus))
            )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "rait_ablation.json").write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
