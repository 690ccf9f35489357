"""Wiring of the dictionary baseline."""

from kedro.pipeline import Node, Pipeline

from bioie_kedro.pipelines.dictionary_baseline.nodes import (
    build_mention_dictionaries,
    tag_with_dictionaries,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_mention_dictionaries,
                inputs=["documents", "params:dictionary_baseline"],
                outputs="mention_dictionaries",
                name="build_mention_dictionaries",
                tags=["training", "dictionary_baseline"],
            ),
            Node(
                tag_with_dictionaries,
                inputs=["mention_dictionaries", "documents", "params:dictionary_baseline"],
                outputs="dictionary_predictions",
                name="tag_with_dictionaries",
                tags=["inference", "dictionary_baseline"],
            ),
        ]
    )
