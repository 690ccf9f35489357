"""Train the default decoder on a real corpus and score it: string- and span-level F1, time.

Runs the decoder_sft pipeline's own nodes (instructions → base model → SFT → batched generation →
answers mapped to spans) on the PubTator files of ../shared/data, then the project's evaluator:

    python benchmarks/decoder_sft.py --corpus ncbi_disease --output /tmp/dec \
        [--params '{"base_model": {"model_name_or_path": "bundled:minilm-decoder"}}'] \
        [--rait nearest]   # RA-IT: k=2 nearest training sentences (bundled MiniLM embeddings)
        [--neighbours FILE]  # with --rait: read the neighbours from FILE when it exists,
                             # else compute them and write them there (reuse across seeds)

``--evaluate-only`` skips training and scores the base model as it is, e.g. a trainer checkpoint
of an earlier run named in ``--params '{"base_model": {"model_name_or_path": "<dir>"}}'``.

``--params`` is merged (recursively) into the defaults below. Prints one JSON object with the
training log, generation throughput, parse statistics and test scores (span level; string level
exact, and normalised as RA-IT scores: lower-case, no punctuation or articles); writes it to
``<output>/result.json``, and every test answer (prompt id, raw answer) to
``<output>/answers.jsonl``. ``--save-model`` also saves the tuned model to ``<output>/model``
(safetensors and tokenizer), to be re-scored later with ``--evaluate-only``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics import score_entities
from bioie_kedro.metrics.strings import records_from_documents, score_strings
from bioie_kedro.pipelines.decoder_sft.nodes import (
    build_instructions,
    extract_predictions,
    fine_tune_decoder,
    generate_answers,
    prepare_base_decoder,
)
from bioie_kedro.segmentation import segment_document

NCBI_TYPES = dict.fromkeys(
    ["SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"], "Disease"
)
CORPORA = {
    "ncbi_disease": (
        {
            "train": "ncbi_disease/NCBItrainset_corpus.txt",
            "dev": "ncbi_disease/NCBIdevelopset_corpus.txt",
            "test": "ncbi_disease/NCBItestset_corpus.txt",
        },
        NCBI_TYPES,
    ),
    "bc5cdr": (
        {
            "train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
            "dev": "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
            "test": "bc5cdr/CDR_TestSet.PubTator.txt",
        },
        {},
    ),
}


def defaults(corpus: str, output: Path, type_map: dict[str, str]) -> dict[str, Any]:
    return {
        "system": "decoder_sft",
        "base_model": {
            "model_name_or_path": "scratch:llama",
            "shape": {
                "hidden_size": 256,
                "intermediate_size": 688,
                "num_hidden_layers": 4,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "vocab_size": 8000,
            },
            "seed": 42,
        },
        "instructions": {
            "format": "listing",
            "unit": "sentence",
            "train": [{"corpus": corpus, "split": "train", "tasks": ["ner"], "type_map": type_map}],
            "eval": [{"corpus": corpus, "split": "test", "tasks": ["ner"], "type_map": type_map}],
            "seed": 42,
        },
        "training": {
            "learning_rate": 1e-3,
            "num_train_epochs": 12,
            "per_device_train_batch_size": 32,
            "lr_scheduler_type": "cosine",
            "warmup_steps": 0.03,
            "seed": 42,
            "max_length": 512,
            "logging_steps": 50,
            "save_strategy": "epoch",
        },
        "trainer_output_dir": str(output / "checkpoints"),
        "generation": {"max_new_tokens": 64, "batch_size": 64},
    }


def load_documents(
    corpora: Path, corpus: str, splits: tuple[str, ...] = ("train", "dev", "test")
) -> dict[str, list]:
    """``{"<corpus>/<split>": segmented documents}`` read from the corpus's PubTator files."""
    files, _ = CORPORA[corpus]
    return {
        f"{corpus}/{split}": [
            segment_document(d)
            for d in read_pubtator(corpora / files[split], source=corpus, split=split).documents
        ]
        for split in splits
    }


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def rait_neighbours(
    documents: dict[str, list], corpus: str, strategy: str, k: int, seed: int
) -> dict[str, Any]:
    """Neighbours of every train and test sentence among the training sentences (MiniLM)."""
    from bioie_kedro.pipelines.retrieval.nodes import build_rait_neighbours, build_retrieval_index

    params = {
        "corpus": corpus,
        "train_split": "train",
        "granularity": "sentence",
        "seed": seed,
        "neighbours": {"k": k, "strategies": [strategy], "splits": ["train", "test"]},
    }
    index = build_retrieval_index(documents, params)
    return build_rait_neighbours(index, documents, params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="ncbi_disease")
    parser.add_argument(
        "--corpora",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--params", default="{}", help="JSON merged into the decoder_sft parameters"
    )
    parser.add_argument(
        "--rait", default=None, help="RA-IT neighbour strategy (e.g. nearest); none by default"
    )
    parser.add_argument(
        "--neighbours",
        type=Path,
        default=None,
        help="with --rait: RA-IT neighbours JSON to reuse (written when it does not exist)",
    )
    parser.add_argument(
        "--save-model",
        action="store_true",
        help="save the tuned model (safetensors, tokenizer) to <output>/model",
    )
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="no training: generate with the base model (e.g. a checkpoint directory) and score",
    )
    args = parser.parse_args()

    _, type_map = CORPORA[args.corpus]
    documents = load_documents(args.corpora, args.corpus)
    params = merge(defaults(args.corpus, args.output, type_map), json.loads(args.params))
    neighbours: dict[str, Any] = {}
    if args.rait:
        params = merge(
            params,
            {
                "instructions": {
                    "format": params["instructions"]["format"],
                    "rait": {"enabled": True, "strategy": args.rait, "k": 2},
                }
            },
        )
        if args.neighbours is not None and args.neighbours.exists():
            neighbours = json.loads(args.neighbours.read_text())
            print(f"retrieval: neighbours read from {args.neighbours}")
        else:
            started = time.perf_counter()
            neighbours = rait_neighbours(
                documents, args.corpus, args.rait, 2, params["instructions"]["seed"]
            )
            print(f"retrieval: {time.perf_counter() - started:.1f} s")
            if args.neighbours is not None:
                args.neighbours.parent.mkdir(parents=True, exist_ok=True)
                args.neighbours.write_text(json.dumps(neighbours))
    train, evaluation, instruction_report = build_instructions(documents, neighbours, params)
    base = prepare_base_decoder(train, params)
    model = base if args.evaluate_only else fine_tune_decoder(base, train, params)
    if args.save_model and not args.evaluate_only:
        model.save(args.output / "model")
    generations, generation_report = generate_answers(model, evaluation, params)
    predictions, prediction_report = extract_predictions(evaluation, generations, documents, params)
    key = f"{args.corpus}/test"
    gold = documents[key]
    spans = score_entities(gold, predictions[key], type_map=type_map, bootstrap=1000, seed=0)
    records = records_from_documents(gold, predictions[key], type_map=type_map)
    strings = score_strings(records, bootstrap=1000, seed=0)
    # RA-IT / UniversalNER's convention (lower-case, no punctuation or articles): a cased and an
    # uncased decoder compared on what they extract, not on how they spell it
    normalized = score_strings(records, bootstrap=1000, seed=0, normalize=True)
    result = {
        "corpus": args.corpus,
        "params": params,
        "rait": args.rait,
        "evaluate_only": args.evaluate_only,
        "instructions": instruction_report,
        "training": model.training_log.get("sft", {}),
        "parameters_millions": round(model.parameter_count() / 1e6, 2),
        "generation": generation_report,
        "parse": prediction_report["partitions"][key]["parse"],
        **{
            name: prediction_report["partitions"][key][name]
            for name in (
                "mentions_not_placed",
                "documents_unparsable",
                "documents_partly_unparsable",
            )
        },
        "test_sentence_strings": prediction_report["partitions"][key].get("ner_strings"),
        "test_spans": {
            scheme: spans.as_dict()["micro"][scheme] for scheme in ("strict", "partial")
        },
        "test_strings": strings.as_dict()["pooled"],
        "test_strings_normalized": normalized.as_dict()["pooled"],
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    result["training"].pop("history", None)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "result.json").write_text(json.dumps(result, indent=2, default=str))
    with (args.output / "answers.jsonl").open("w", encoding="utf-8") as out:
        for generation in generations:
            out.write(json.dumps(generation, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("params", "instructions")},
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
