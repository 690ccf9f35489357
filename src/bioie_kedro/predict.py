"""Tag new text with a trained encoder model: plain text or PubTator in, PubTator or JSON out.

    python -m bioie_kedro.predict MODEL_DIR INPUT [--input-format text|pubtator]
                                  [--output-format pubtator|json] [--output FILE]

MODEL_DIR is a directory written by the ``encoder_ner`` pipeline (``data/06_models/encoder_ner/
model/<version>/model``). Plain text: each block separated by a blank line is one document (ids
1, 2, …; line breaks inside a block become spaces so offsets hold). JSON output: one object per
document with its entities as ``{"start", "end", "type", "text"}`` (end exclusive).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from bioie_kedro.schema import Document, Passage


def documents_from_text(text: str) -> list[Document]:
    """One document per blank-line-separated block, line breaks replaced by spaces."""
    docs = []
    for index, block in enumerate(b for b in re.split(r"\n\s*\n", text) if b.strip()):
        flat = block.strip().replace("\r", " ").replace("\n", " ")
        docs.append(
            Document(
                str(index + 1),
                "input",
                "predict",
                flat,
                passages=[Passage(f"{index + 1}-text", "paragraph", flat, [(0, len(flat))])],
            )
        )
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bioie_kedro.predict", description=__doc__.splitlines()[0]
    )
    parser.add_argument("model", type=Path, help="directory of a trained encoder_ner model")
    parser.add_argument("input", type=Path, help="plain text or PubTator file")
    parser.add_argument("--input-format", choices=("text", "pubtator"), default="text")
    parser.add_argument("--output-format", choices=("pubtator", "json"), default="pubtator")
    parser.add_argument("--output", type=Path, help="write here instead of standard output")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quantize", action="store_true", help="dynamic int8 quantisation (CPU)")
    parser.add_argument(
        "--no-abbreviations",
        dest="abbreviations",
        action="store_false",
        help="do not tag the abbreviations defined after predicted mentions ('Cowden disease (CD)')",
    )
    args = parser.parse_args(argv)

    from bioie_kedro.corpora import CorpusFormatError
    from bioie_kedro.corpora.base import read_text_file
    from bioie_kedro.corpora.pubtator import format_pubtator, read_pubtator
    from bioie_kedro.segmentation import segment_document
    from bioie_kedro.token_classification import TokenClassifier, predict_documents

    try:
        classifier = TokenClassifier.load(args.model)
        if args.input_format == "pubtator":
            docs = read_pubtator(args.input, source="input", split="predict").documents
        else:
            docs = documents_from_text(read_text_file(args.input))
    except (CorpusFormatError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    segmented = [segment_document(doc) for doc in docs]
    predicted, _ = predict_documents(
        classifier,
        segmented,
        batch_size=args.batch_size,
        quantize=args.quantize,
        abbreviations=args.abbreviations,
    )
    if args.output_format == "pubtator":
        out = format_pubtator(predicted)
    else:
        out = json.dumps(
            [
                {
                    "id": doc.id,
                    "text": doc.text,
                    "entities": [
                        {"start": e.start, "end": e.end, "type": e.type, "text": e.text}
                        for e in doc.entities
                    ],
                }
                for doc in predicted
            ],
            indent=2,
            ensure_ascii=False,
        )
        out += "\n"
    if args.output:
        partial = args.output.with_name(args.output.name + ".partial")
        partial.write_text(out, encoding="utf-8")
        partial.replace(args.output)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
