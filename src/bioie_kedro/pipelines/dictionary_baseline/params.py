"""Typed parameters of the dictionary baseline (``conf/*/parameters_dictionary_baseline.yml``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CorpusDictionaryParams(BaseModel):
    """Which split of a corpus builds the dictionary and which splits it tags."""

    model_config = ConfigDict(extra="forbid")

    train: str = Field("train", description="Split whose mentions make the dictionary.")
    predict: list[str] = Field(default_factory=lambda: ["test"], description="Splits to tag.")
    type_map: dict[str, str] = Field(
        default_factory=dict, description="Rename entity types, e.g. NCBI's four to Disease."
    )


class DictionaryBaselineParams(BaseModel):
    """Root key ``dictionary_baseline``."""

    model_config = ConfigDict(extra="forbid")

    corpora: dict[str, CorpusDictionaryParams] = Field(
        description="Corpus name (a partition prefix of `documents`) -> its splits."
    )
    case_insensitive: bool = Field(
        False, description="Match ignoring case (acronyms then match words: WAS, MG, NO)."
    )
    min_length: int = Field(
        2, ge=1, description="Shorter training mentions are not dictionary entries."
    )
    stopwords: list[str] = Field(
        default_factory=list, description="Mention strings never used as entries."
    )

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> DictionaryBaselineParams:
        return cls.model_validate(raw or {})
