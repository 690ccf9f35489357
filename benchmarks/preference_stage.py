"""The preference stage alone: mine pairs from a fine-tuned decoder, DPO or DPOP, score before/after.

Starts from a decoder that is already fine-tuned (a trainer checkpoint or a saved ``CausalLM``
directory), so the mining and preference settings can be compared on one model without training it
again. Uses the dfpo pipeline's own nodes (``mine_preference_pairs``, ``optimise_preferences``) on
the instructions of ``benchmarks/decoder_sft.py``:

    python benchmarks/preference_stage.py --model /tmp/dec/checkpoints/decoder_sft/checkpoint-1000 \
        --output /tmp/pref [--corpus ncbi_disease] [--before] \
        [--mining '{"balance_floor": 20}'] [--training '{"loss_type": "sigmoid"}']

``--mining`` and ``--training`` are merged into the defaults below (those of
``benchmarks/dfpo_ablation.py``). ``--before`` also scores the model as loaded. Prints one JSON
object (mining counts, pairs by error kind, test string- and span-level F1 with bootstrap
intervals, times) and writes it to ``<output>/result.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from decoder_sft import CORPORA, defaults, load_documents, merge

from bioie_kedro.decoders.build import METADATA_FILE, CausalLM
from bioie_kedro.metrics import score_entities
from bioie_kedro.metrics.strings import records_from_documents, score_strings
from bioie_kedro.pipelines.decoder_sft.nodes import (
    build_instructions,
    extract_predictions,
    generate_answers,
)
from bioie_kedro.pipelines.dfpo.nodes import mine_preference_pairs, optimise_preferences

MINING = {"samples": 2, "max_new_tokens": 64, "batch_size": 64, "seed": 42, "max_prompts": 1000}
TRAINING = {
    "loss_type": "dpop",
    "beta": 0.4,
    "dpop_lambda": 2.0,
    "learning_rate": 5e-5,
    "max_steps": 200,
    "per_device_train_batch_size": 8,
    "max_length": 512,
    "seed": 42,
    "logging_steps": 10,
    "adaptation": "lora",
}


def load_model(path: Path) -> CausalLM:
    if (path / METADATA_FILE).is_file():
        return CausalLM.load(path)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path)
    model.eval()
    return CausalLM(
        model=model, tokenizer=AutoTokenizer.from_pretrained(path), source=str(path), base=None
    )


def score(model: CausalLM, evaluation, documents, params, corpus: str, type_map) -> dict[str, Any]:
    started = time.perf_counter()
    generations, _ = generate_answers(model, evaluation, params)
    predictions, report = extract_predictions(evaluation, generations, documents, params)
    key = f"{corpus}/test"
    gold = documents[key]
    spans = score_entities(gold, predictions[key], type_map=type_map, bootstrap=1000, seed=0)
    strings = score_strings(
        records_from_documents(gold, predictions[key], type_map=type_map), bootstrap=1000, seed=0
    )
    return {
        "string_f1": strings.as_dict()["pooled"],
        "span_strict": spans.as_dict()["micro"]["strict"],
        "parse": report["partitions"][key]["parse"]["by_status"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--mining", default="{}", help="JSON merged into the mining settings")
    parser.add_argument("--training", default="{}", help="JSON merged into the DPO settings")
    parser.add_argument("--params", default="{}", help="JSON merged into decoder_sft parameters")
    parser.add_argument("--before", action="store_true", help="also score the model as loaded")
    args = parser.parse_args()

    _, type_map = CORPORA[args.corpus]
    documents = load_documents(args.corpora, args.corpus, ("train", "test"))
    params = merge(defaults(args.corpus, args.output, type_map), json.loads(args.params))
    train, evaluation, _ = build_instructions(documents, {}, params)
    model = load_model(args.model)
    result: dict[str, Any] = {"model": str(args.model), "corpus": args.corpus}
    if args.before:
        result["before"] = score(model, evaluation, documents, params, args.corpus, type_map)
    preference = {
        "mining": {**MINING, **json.loads(args.mining)},
        "training": {**TRAINING, **json.loads(args.training)},
        "trainer_output_dir": str(args.output / "preference"),
    }
    started = time.perf_counter()
    pairs, mining = mine_preference_pairs(model, train, preference, params)
    mining_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model, _ = optimise_preferences(model, pairs, preference)
    training_seconds = time.perf_counter() - started
    result.update(
        {
            "preference": preference,
            "mining": {k: v for k, v in mining.items() if k != "generation"},
            "mining_seconds": round(mining_seconds, 1),
            "training_seconds": round(training_seconds, 1),
            "after": score(model, evaluation, documents, params, args.corpus, type_map),
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
        }
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "result.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
