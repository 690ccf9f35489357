"""Score a system's output against gold annotations, like the official BioCreative scorers.

    python -m bioie_kedro.metrics GOLD PRED [--format pubtator] [--type-map SpecificDisease=Disease …]

GOLD and PRED are PubTator files by default (``--format bioc_xml``, ``bioc_json`` or ``parquet``
for the project's document tables; ``--pred-format`` when the two differ). Prints one JSON object
with precision, recall and F1 for every SemEval scheme (micro, per type, per entity length) and,
with ``--relations``, relation scores; writes nothing else. Exit status 2 on bad input (a
prediction for an unknown document, a text that differs from the gold text, a malformed file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FORMATS = ("pubtator", "bioc_xml", "bioc_json", "parquet")


def _read(path: Path, fmt: str, role: str) -> list:
    if fmt == "parquet":
        from bioie_kedro.datasets import DocumentsDataset

        return DocumentsDataset(filepath=str(path)).load()
    from bioie_kedro.corpora import read_corpus

    return read_corpus(fmt, path, source=role, split=role).documents


def _type_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise argparse.ArgumentTypeError(f"--type-map expects FROM=TO, got {pair!r}")
        mapping[source] = target
    return mapping


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bioie_kedro.metrics", description=__doc__.splitlines()[0]
    )
    parser.add_argument("gold", type=Path, help="gold annotations")
    parser.add_argument("prediction", type=Path, help="system output for the same documents")
    parser.add_argument(
        "--format", choices=FORMATS, default="pubtator", help="format of GOLD (and PRED)"
    )
    parser.add_argument(
        "--pred-format", choices=FORMATS, help="format of PRED when it differs from GOLD"
    )
    parser.add_argument(
        "--type-map",
        nargs="*",
        default=[],
        metavar="FROM=TO",
        help="rename entity types on both sides",
    )
    parser.add_argument(
        "--types", nargs="*", help="score only these entity types (after --type-map)"
    )
    parser.add_argument(
        "--relations",
        choices=("none", "mention", "concept"),
        default="none",
        help="also score relations: argument spans (mention) or normalized id pairs per document (concept)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples for F1 intervals (0 = none)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from kedro.io import DatasetError

    from bioie_kedro.corpora import CorpusFormatError
    from bioie_kedro.metrics import DocumentMismatchError, score_entities, score_relations

    try:
        type_map = _type_map(args.type_map)
        gold = _read(args.gold, args.format, "gold")
        predicted = _read(args.prediction, args.pred_format or args.format, "prediction")
        result = {
            "gold": str(args.gold),
            "prediction": str(args.prediction),
            "documents": len(gold),
            "ner": score_entities(
                gold,
                predicted,
                types=args.types,
                type_map=type_map,
                bootstrap=args.bootstrap,
                seed=args.seed,
            ).as_dict(),
        }
        if args.relations != "none":
            result["relations"] = score_relations(
                gold, predicted, mode=args.relations, bootstrap=args.bootstrap, seed=args.seed
            ).as_dict()
    except (
        CorpusFormatError,
        DatasetError,
        DocumentMismatchError,
        argparse.ArgumentTypeError,
        OSError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
