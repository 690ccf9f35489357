"""Readers that turn every supported corpus format into :class:`bioie_kedro.schema.Document`s.

Each reader is a function ``read_<format>(location, *, source, split, **options) -> ReadResult``
that raises :class:`CorpusFormatError` (naming the file and the line or record) on malformed
input and lists every record it leaves out in ``ReadResult.skipped``. :func:`read_corpus` picks
the reader by format name, as the catalog's ``CorpusCollectionDataset`` does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bioie_kedro.corpora.base import CorpusFormatError, ReadResult, SkippedRecord, read_text_file

__all__ = [
    "FORMATS",
    "CorpusFormatError",
    "ReadResult",
    "SkippedRecord",
    "read_corpus",
    "read_text_file",
]

#: Format name -> "module:function". Modules are imported on first use.
FORMATS: dict[str, str] = {
    "pubtator": "bioie_kedro.corpora.pubtator:read_pubtator",
    "bioc_xml": "bioie_kedro.corpora.bioc:read_bioc_xml",
    "bioc_json": "bioie_kedro.corpora.bioc:read_bioc_json",
    "bioc_xml_archive": "bioie_kedro.corpora.bioc:read_bioc_xml_archive",
    "conll": "bioie_kedro.corpora.conll:read_conll",
    "ddi": "bioie_kedro.corpora.ddi:read_ddi",
    "chemprot": "bioie_kedro.corpora.chemprot:read_chemprot",
    "bigbio_jsonl": "bioie_kedro.corpora.bigbio:read_bigbio_jsonl",
    "bigbio_hub": "bioie_kedro.corpora:_read_bigbio_hub_location",
}


def _resolve(format_name: str) -> Callable[..., ReadResult]:
    try:
        target = FORMATS[format_name]
    except KeyError:
        raise ValueError(
            f"unknown corpus format {format_name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def read_corpus(
    format_name: str,
    location: str | Path | Mapping[str, Any],
    *,
    source: str,
    split: str,
    **options: Any,
) -> ReadResult:
    """Read one corpus split with the reader registered for ``format_name``."""
    return _resolve(format_name)(location, source=source, split=split, **options)


def _read_bigbio_hub_location(
    location: Mapping[str, Any], *, source: str, split: str, **options: Any
) -> ReadResult:
    """``location`` = ``{name, config, split}`` of a BigBio dataset on the Hugging Face hub."""
    from bioie_kedro.corpora.bigbio import read_bigbio_hub

    spec = dict(location)
    try:
        name, config = spec.pop("name"), spec.pop("config")
    except KeyError as exc:
        raise ValueError(
            f"bigbio_hub location needs 'name' and 'config', got {location!r}"
        ) from exc
    hub_split = spec.pop("split", split)
    return read_bigbio_hub(
        name, config=config, split=hub_split, source=source, split_name=split, **spec, **options
    )
