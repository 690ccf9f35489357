"""Typed parameters of the ingestion pipeline (``conf/*/parameters_ingestion.yml``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bioie_kedro.segmentation import DEFAULT_ABBREVIATIONS, SentenceSplitter


class SentenceSplitterParams(BaseModel):
    """Settings of :class:`bioie_kedro.segmentation.SentenceSplitter`."""

    model_config = ConfigDict(extra="forbid")

    extra_abbreviations: list[str] = Field(
        default_factory=list,
        description="Words (lower-case, without the final stop) added to the built-in abbreviations.",
    )
    max_bracket_span: int = Field(
        200,
        ge=0,
        description="A stop inside brackets that close within this many characters is no boundary.",
    )

    def build(self) -> SentenceSplitter:
        abbreviations = DEFAULT_ABBREVIATIONS | {
            a.lower().rstrip(".") for a in self.extra_abbreviations
        }
        return SentenceSplitter(
            abbreviations=frozenset(abbreviations), max_bracket_span=self.max_bracket_span
        )


class IngestionParams(BaseModel):
    """Root key ``ingestion`` of the parameter files."""

    model_config = ConfigDict(extra="forbid")

    sentence_splitter: SentenceSplitterParams = Field(default_factory=SentenceSplitterParams)
    max_report_examples: int = Field(
        20,
        ge=0,
        description="How many example entities cut by a sentence boundary the report lists.",
    )

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> IngestionParams:
        return cls.model_validate(raw or {})
