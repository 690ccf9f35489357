#!/usr/bin/env python3
"""Build the bioie-kedro demo corpus (PubTator files) from its annotated source text.

The source, ``scripts/demo_corpus/abstracts.txt``, holds short abstracts written for
this project with inline entity markup (the format is documented at the top of that
file). This script parses it, computes every character offset itself, validates the
annotation and writes BC5CDR-style PubTator files plus a README with the counts:

    data/01_raw/demo/demo_train.PubTator.txt
    data/01_raw/demo/demo_dev.PubTator.txt
    data/01_raw/demo/demo_test.PubTator.txt
    data/01_raw/demo/README.md

PubTator layout (as in BC5CDR), one block per document, each followed by a blank line::

    PMID|t|Title
    PMID|a|Abstract
    PMID<TAB>start<TAB>end<TAB>mention<TAB>Type<TAB>ID[<TAB>part1|part2]
    PMID<TAB>CID<TAB>ChemicalID<TAB>DiseaseID

Offsets index ``title + " " + abstract``; ``end`` is exclusive.

Usage (from the repository root, standard library only)::

    python scripts/build_demo_corpus.py           # validate and (re)write the files
    python scripts/build_demo_corpus.py --check   # validate; exit 1 if files are stale

Validation failures exit with status 2 and name the document and mention at fault.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "scripts" / "demo_corpus" / "abstracts.txt"
DEFAULT_OUT_DIR = REPO_ROOT / "data" / "01_raw" / "demo"

SPLITS = ("train", "dev", "test")
ENTITY_TYPES = ("Chemical", "Disease")
MENTION_RE = re.compile(r"\[\[(.*?)\]\]")
HEADER_RE = re.compile(r"^### (\d{7}) (\S+)$")
CONCEPT_ID_RE = re.compile(r"^(?:[CD]\d{6}|D\d{9}|-1)$")
PMID_RE = re.compile(r"^9\d{6}$")


class CorpusError(Exception):
    """The source file is malformed or its annotation is inconsistent."""


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    type: str
    ids: tuple[str, ...]
    parts: tuple[str, ...] = ()

    def pubtator_line(self, pmid: str) -> str:
        cols = [pmid, str(self.start), str(self.end), self.text, self.type, "|".join(self.ids)]
        if self.parts:
            cols.append("|".join(self.parts))
        return "\t".join(cols)


@dataclass(slots=True)
class Document:
    pmid: str
    split: str
    line: int
    title: str = ""
    abstract: str = ""
    mentions: list[Mention] = field(default_factory=list)
    relations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"

    def concept_ids(self, entity_type: str) -> set[str]:
        return {i for m in self.mentions if m.type == entity_type for i in m.ids if i != "-1"}

    def to_pubtator(self) -> str:
        lines = [f"{self.pmid}|t|{self.title}", f"{self.pmid}|a|{self.abstract}"]
        lines += [m.pubtator_line(self.pmid) for m in sorted(self.mentions, key=lambda m: m.start)]
        lines += [f"{self.pmid}\tCID\t{chem}\t{dis}" for chem, dis in self.relations]
        return "\n".join(lines) + "\n\n"


def parse_marked_text(marked: str, offset: int, where: str) -> tuple[str, list[Mention]]:
    """Strip ``[[surface|Type|IDs[|parts]]]`` markup; offsets are shifted by ``offset``."""
    plain: list[str] = []
    mentions: list[Mention] = []
    pos = 0  # position in the plain text built so far
    last = 0  # position in the marked text
    for match in MENTION_RE.finditer(marked):
        before = marked[last : match.start()]
        plain.append(before)
        pos += len(before)
        fields = match.group(1).split("|")
        if len(fields) not in (3, 4):
            raise CorpusError(
                f"{where}: mention {match.group(0)!r} needs 'surface|Type|IDs[|parts]'"
            )
        surface, etype, id_field = fields[:3]
        ids = tuple(id_field.split("+"))
        parts = tuple(fields[3].split(";")) if len(fields) == 4 else ()
        if not surface or surface != surface.strip():
            raise CorpusError(
                f"{where}: mention {match.group(0)!r} has empty or padded surface text"
            )
        if etype not in ENTITY_TYPES:
            raise CorpusError(
                f"{where}: mention {surface!r} has type {etype!r}, expected one of {ENTITY_TYPES}"
            )
        for concept in ids:
            if not CONCEPT_ID_RE.match(concept):
                raise CorpusError(
                    f"{where}: mention {surface!r} has malformed concept id {concept!r}"
                )
        if "-1" in ids and len(ids) > 1:
            raise CorpusError(f"{where}: mention {surface!r} mixes -1 with concept ids")
        if len(set(ids)) != len(ids):
            raise CorpusError(f"{where}: mention {surface!r} repeats a concept id")
        if parts and len(parts) != len(ids):
            raise CorpusError(
                f"{where}: composite mention {surface!r} has {len(ids)} ids but {len(parts)} parts"
            )
        start = offset + pos
        mentions.append(Mention(start, start + len(surface), surface, etype, ids, parts))
        plain.append(surface)
        pos += len(surface)
        last = match.end()
    plain.append(marked[last:])
    text = "".join(plain)
    for token in ("[[", "]]", "\t"):
        if token in text:
            raise CorpusError(f"{where}: stray {token!r} left in text after removing markup")
    if text != text.strip() or "  " in text:
        raise CorpusError(f"{where}: leading/trailing or doubled whitespace in text")
    return text, mentions


def parse_source(path: Path) -> list[Document]:
    """Read the annotated source file into documents (no cross-document checks yet)."""
    docs: list[Document] = []
    doc: Document | None = None
    seen_fields: set[str] = set()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip()
        where = f"{path.name}:{lineno}"
        if not line:
            continue
        if line.startswith("###"):
            header = HEADER_RE.match(line)
            if not header:
                raise CorpusError(
                    f"{where}: bad document header {line!r}, expected '### 9xxxxxx split'"
                )
            pmid, split = header.groups()
            if split not in SPLITS:
                raise CorpusError(f"{where}: document {pmid} has unknown split {split!r}")
            doc = Document(pmid=pmid, split=split, line=lineno)
            docs.append(doc)
            seen_fields = set()
            continue
        if line.startswith("#"):
            continue  # comment
        if doc is None:
            raise CorpusError(f"{where}: content before the first '### PMID split' header")
        key, sep, value = line.partition(": ")
        if not sep or key not in ("T", "A", "R"):
            raise CorpusError(
                f"{where}: document {doc.pmid}: expected a 'T: ', 'A: ' or 'R: ' line"
            )
        where = f"{where} (document {doc.pmid})"
        if key in ("T", "A"):
            if key in seen_fields:
                raise CorpusError(f"{where}: second {key}: line")
            seen_fields.add(key)
        if key == "T":
            doc.title, mentions = parse_marked_text(value, 0, where)
            doc.mentions.extend(mentions)
        elif key == "A":
            if "T" not in seen_fields:
                raise CorpusError(f"{where}: A: line before T: line")
            doc.abstract, mentions = parse_marked_text(value, len(doc.title) + 1, where)
            doc.mentions.extend(mentions)
        else:
            pair = value.split()
            if len(pair) != 2:
                raise CorpusError(f"{where}: R: line needs 'ChemicalID DiseaseID', got {value!r}")
            doc.relations.append((pair[0], pair[1]))
    for d in docs:
        if not d.title or not d.abstract:
            raise CorpusError(f"{path.name}:{d.line}: document {d.pmid} lacks a T: or A: line")
    return docs


def _occurrences(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def validate(docs: list[Document]) -> None:
    """Check offsets, overlaps, relations and annotation consistency; raise CorpusError."""
    problems: list[str] = []
    pmids = Counter(d.pmid for d in docs)
    for pmid, n in pmids.items():
        if n > 1:
            problems.append(f"document {pmid} appears {n} times")
    for d in docs:
        if not PMID_RE.match(d.pmid):
            problems.append(f"document {d.pmid}: demo PMIDs are 7 digits starting with 9")
        text = d.text
        ordered = sorted(d.mentions, key=lambda m: (m.start, m.end))
        for m in ordered:
            if text[m.start : m.end] != m.text:
                problems.append(
                    f"document {d.pmid}: mention {m.text!r} at {m.start}-{m.end} does not match text {text[m.start : m.end]!r}"
                )
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                problems.append(
                    f"document {d.pmid}: mentions {a.text!r} ({a.start}-{a.end}) and {b.text!r} ({b.start}-{b.end}) overlap"
                )
        chemicals, diseases = d.concept_ids("Chemical"), d.concept_ids("Disease")
        for chem, dis in d.relations:
            if chem not in chemicals:
                problems.append(
                    f"document {d.pmid}: CID relation {chem} {dis}: {chem} is not a Chemical id of this document"
                )
            if dis not in diseases:
                problems.append(
                    f"document {d.pmid}: CID relation {chem} {dis}: {dis} is not a Disease id of this document"
                )
        for pair, n in Counter(d.relations).items():
            if n > 1:
                problems.append(
                    f"document {d.pmid}: CID relation {pair[0]} {pair[1]} listed {n} times"
                )

    # Consistency across the corpus: a surface form is always annotated the same way,
    # and wherever it occurs it is annotated (unless it lies inside a longer mention).
    labels: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
    for d in docs:
        for m in d.mentions:
            labels.setdefault(_surface_key(m.text), set()).add((m.type, m.ids))
    for key, seen in sorted(labels.items()):
        if len(seen) > 1:
            shown = "; ".join(f"{t} {'|'.join(i)}" for t, i in sorted(seen))
            problems.append(f"surface form {key!r} is annotated inconsistently: {shown}")
    patterns = {key: _surface_pattern(key) for key in labels}
    for d in docs:
        text = d.text
        covered = [(m.start, m.end) for m in d.mentions]
        for key, pattern in patterns.items():
            for start, end in _occurrences(pattern, text):
                if not any(s <= start and end <= e for s, e in covered):
                    problems.append(
                        f"document {d.pmid}: {text[start:end]!r} at {start}-{end} is annotated elsewhere but not here"
                    )
    if problems:
        raise CorpusError("\n".join(problems))


def _is_case_sensitive(surface: str) -> bool:
    """Abbreviation-like forms ("ALL", "PD", "CsA", "5-FU") are matched case-sensitively so
    that they do not match ordinary words; other forms ignore case ("Cisplatin" = "cisplatin")."""
    return any(c.isupper() for c in surface[1:])


def _surface_key(surface: str) -> str:
    return surface if _is_case_sensitive(surface) else surface.lower()


def _surface_pattern(key: str) -> re.Pattern[str]:
    flags = 0 if _is_case_sensitive(key) else re.IGNORECASE
    return re.compile(rf"(?<!\w){re.escape(key)}(?!\w)", flags)


def split_counts(docs: list[Document]) -> dict[str, dict[str, int]]:
    counts = {}
    for split in SPLITS:
        part = [d for d in docs if d.split == split]
        counts[split] = {
            "documents": len(part),
            "Chemical": sum(m.type == "Chemical" for d in part for m in d.mentions),
            "Disease": sum(m.type == "Disease" for d in part for m in d.mentions),
            "CID": sum(len(d.relations) for d in part),
        }
    return counts


def render_readme(counts: dict[str, dict[str, int]]) -> str:
    rows = "\n".join(
        f"| {s} | {c['documents']} | {c['Chemical']} | {c['Disease']} | {c['CID']} |"
        for s, c in counts.items()
    )
    return (
        "# bioie-kedro demo corpus (generated by scripts/build_demo_corpus.py; do not edit)\n\n"
        "Short PubMed-style abstracts on chemical-induced diseases and drug treatments, written for bioie-kedro (not taken from any real corpus).\n"
        "The studies, numbers and people described are invented for demonstration and are not medical evidence; PMIDs 9000001-9000060 are fake.\n"
        "Annotation follows BC5CDR: Chemical and Disease mentions with MeSH ids (-1 = no id, composite ids joined by |) and document-level CID relations, in PubTator format.\n"
        "Licence: free to use, same terms as the project (CC0-like; no attribution required).\n\n"
        "| split | documents | Chemical | Disease | CID |\n|---|---|---|---|---|\n"
        f"{rows}\n\n"
        "Rebuild from `scripts/demo_corpus/abstracts.txt` with `python scripts/build_demo_corpus.py` (add `--check` to verify these files are up to date).\n"
    )


def render_outputs(docs: list[Document]) -> dict[str, str]:
    outputs = {
        f"demo_{split}.PubTator.txt": "".join(d.to_pubtator() for d in docs if d.split == split)
        for split in SPLITS
    }
    outputs["README.md"] = render_readme(split_counts(docs))
    return outputs


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to a temporary file next to ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o666 & ~umask  # mkstemp creates 0600 files; give the result ordinary permissions
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help="annotated abstracts file"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the PubTator files go"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files on disk differ"
    )
    args = parser.parse_args(argv)

    try:
        docs = parse_source(args.source)
        validate(docs)
    except CorpusError as err:
        print(f"build_demo_corpus: invalid corpus source {args.source}:\n{err}", file=sys.stderr)
        return 2
    outputs = render_outputs(docs)

    if args.check:
        stale = []
        for name, content in outputs.items():
            path = args.out_dir / name
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                stale.append(str(path))
        if stale:
            print(
                "build_demo_corpus: out of date (run python scripts/build_demo_corpus.py):",
                *stale,
                sep="\n  ",
                file=sys.stderr,
            )
            return 1
        print(f"build_demo_corpus: {len(outputs)} files in {args.out_dir} are up to date")
        return 0

    for name, content in outputs.items():
        write_atomically(args.out_dir / name, content)
    for split, c in split_counts(docs).items():
        print(
            f"{split:5}  documents {c['documents']:3}  Chemical {c['Chemical']:4}  Disease {c['Disease']:4}  CID {c['CID']:3}"
        )
    print(f"build_demo_corpus: wrote {len(outputs)} files to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
