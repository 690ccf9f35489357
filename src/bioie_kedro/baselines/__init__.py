"""Baseline systems: simple taggers that give every learned model a floor to beat."""

from bioie_kedro.baselines.dictionary import (
    MentionDictionary,
    build_dictionary,
    mention_key,
    tag_documents,
)

__all__ = ["MentionDictionary", "build_dictionary", "mention_key", "tag_documents"]
