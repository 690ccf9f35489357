"""The shipped demo corpus: rebuilt from its annotated source, valid, and big enough to train on."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from bioie_kedro.corpora.pubtator import read_pubtator

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "01_raw" / "demo"


def test_shipped_files_match_the_annotated_source():
    result = subprocess.run(
        [sys.executable, "scripts/build_demo_corpus.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_corpus_has_three_splits_of_valid_documents():
    ids: set[str] = set()
    docs_per_split = {}
    for split in ("train", "dev", "test"):
        result = read_pubtator(DEMO / f"demo_{split}.PubTator.txt", source="demo", split=split)
        assert not result.skipped and not result.corrections
        docs_per_split[split] = result.documents
        split_ids = {d.id for d in result.documents}
        assert not split_ids & ids, "a document appears in two splits"
        ids |= split_ids
    assert sum(len(d) for d in docs_per_split.values()) >= 40
    train = docs_per_split["train"]
    types = Counter(e.type for d in train for e in d.entities)
    assert set(types) == {"Chemical", "Disease"} and min(types.values()) > 100
    assert sum(len(d.relations) for d in train) > 40
    assert all(r.type == "CID" for d in train for r in d.relations)
