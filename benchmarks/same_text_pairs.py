"""Count the candidate pairs that ``same_text_pairs: skip`` leaves out (two mentions with the same
text) on DDI or ChemProt, and the gold relations among them, per split:

    python benchmarks/same_text_pairs.py --corpus ddi

Prints one JSON object: per split, the candidate pairs, the same-text pairs skipped and how many of
those carry a gold relation.
"""

from __future__ import annotations

import argparse
import json

from relation_student import CORPORA, add_corpus_arguments, examples

from bioie_kedro.relation_extraction import RelationSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser, examples=False)
    args = parser.parse_args()
    spec = RelationSpec.from_mapping(CORPORA[args.corpus]["spec"])
    result = {}
    for split in CORPORA[args.corpus]["splits"]:
        kept, _ = examples(args.corpus, split, args.corpora, spec)
        skipped, counts = examples(args.corpus, split, args.corpora, spec, same_text_pairs="skip")
        remaining = {row["id"] for row in skipped}
        gone = [row for row in kept if row["id"] not in remaining]
        result[split] = {
            "candidate_pairs": len(kept),
            "same_text_pairs_skipped": counts["same_text_pairs_skipped"],
            "skipped_with_a_gold_relation": sum(row["label"] != "none" for row in gone),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
