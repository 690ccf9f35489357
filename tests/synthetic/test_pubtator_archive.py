"""A PubTator3 BioCXML archive (tar.gz of BioC XML files) is streamed member by member."""

from __future__ import annotations

import io
import tarfile

import pytest

from bioie_kedro.corpora import CorpusFormatError, read_corpus
from bioie_kedro.corpora.bioc import iter_bioc_xml_archive, read_bioc_xml_archive


def bioc_collection(*documents: tuple[str, str, list[tuple[str, str, int, str]]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><collection><source>PubTator3</source>']
    for pmid, title, mentions in documents:
        parts.append(f'<document><id>{pmid}</id><passage><infon key="type">title</infon>')
        parts.append(f"<offset>0</offset><text>{title}</text>")
        for aid, atype, start, text in mentions:
            parts.append(
                f'<annotation id="{aid}"><infon key="type">{atype}</infon>'
                f'<infon key="identifier">MESH:D00{aid}</infon>'
                f'<location offset="{start}" length="{len(text)}"/><text>{text}</text></annotation>'
            )
        parts.append("</passage></document>")
    parts.append("</collection>")
    return "".join(parts).encode()


def write_archive(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "BioCXML.0.tar.gz"
    write_archive(
        path,
        {
            "output/BioCXML/1.BioC.XML": bioc_collection(
                (
                    "101",
                    "Lithium causes tremor.",
                    [("1", "Chemical", 0, "Lithium"), ("2", "Disease", 15, "tremor")],
                ),
                ("102", "Aspirin and ulcers.", [("3", "Chemical", 0, "Aspirin")]),
            ),
            "output/README.txt": b"not xml",
            "output/BioCXML/2.BioC.XML": bioc_collection(
                ("103", "BRCA1 in breast cancer.", [("4", "Gene", 0, "BRCA1")]),
                ("101", "Lithium causes tremor.", []),  # a repeated id
            ),
        },
    )
    return path


def test_documents_stream_in_archive_order(archive):
    docs = [doc for doc, _ in iter_bioc_xml_archive(archive, source="pt3", split="all")]
    assert [d.id for d in docs] == ["101", "102", "103", "101"]
    assert [(e.type, e.text) for e in docs[0].entities] == [
        ("Chemical", "Lithium"),
        ("Disease", "tremor"),
    ]
    assert docs[0].entities[0].normalized[0].curie == "MESH:D001"


def test_reading_stops_at_max_documents_and_skips_repeated_ids(archive):
    first = read_bioc_xml_archive(archive, source="pt3", split="all", max_documents=2)
    assert [d.id for d in first.documents] == ["101", "102"]
    every = read_corpus("bioc_xml_archive", archive, source="pt3", split="all")
    assert [d.id for d in every.documents] == ["101", "102", "103"]
    (skipped,) = every.skipped
    assert skipped.record == "101" and "duplicate document id" in skipped.reason


def test_a_broken_archive_or_member_is_named(tmp_path):
    with pytest.raises(CorpusFormatError, match="not a tar archive"):
        (tmp_path / "x.tar.gz").write_bytes(b"plain bytes")
        list(iter_bioc_xml_archive(tmp_path / "x.tar.gz", source="pt3", split="all"))
    broken = tmp_path / "broken.tar.gz"
    write_archive(broken, {"a.xml": b"<collection><document><id>1</id>"})
    with pytest.raises(CorpusFormatError, match=r"broken.tar.gz::a.xml.*malformed XML"):
        list(iter_bioc_xml_archive(broken, source="pt3", split="all"))
