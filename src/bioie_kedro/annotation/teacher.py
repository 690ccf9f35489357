"""Gold relations written as annotation answers, to fine-tune a decoder into a relation teacher.

Seed 003's teacher is a large instruction model asked zero-shot. A small offline decoder cannot do
that, but it can learn the annotation task itself: fine-tuned on a labelled corpus's relations
rendered exactly as the annotator is asked and expected to answer (:func:`relation_prompt`, the
JSON object ``{"relations": [{"relation", "head", "tail"}]}`` with entity ids), it becomes a
teacher for sentences it has not seen. Prompts and answers come from the same functions the
annotation run uses, so training and serving cannot drift apart, and
:func:`~bioie_kedro.annotation.prompts.validate_answer` reads every gold answer back to the gold
triples (a test checks it on DDI).

What cannot be written is counted, never dropped silently: sentences without a candidate pair
(no prompt), and gold relations that are not between two listed entities or whose relation the
spec does not allow for the pair's types.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping

from bioie_kedro.annotation.prompts import AnnotationPrompt, prompt_entities, relation_prompt
from bioie_kedro.relation_extraction.candidates import SentenceUnit
from bioie_kedro.relation_extraction.examples import PairLabels
from bioie_kedro.relation_extraction.specs import RelationSpec


def gold_relation_answer(
    unit: SentenceUnit, spec: RelationSpec, labels: PairLabels, counts: Counter[str] | None = None
) -> str | None:
    """The answer stating ``labels`` (entity-id pairs → relation) for ``unit``'s prompt.

    Triples are in the order of their head, then tail, in the sentence. ``None`` when the
    sentence has no prompt. ``counts`` (optional) receives ``gold_relations_written`` and, per
    relation that cannot be written, ``gold_relations_not_listed`` (an argument not among the
    prompt's entities) or ``gold_relations_not_allowed`` (the spec does not allow it for the
    types).
    """
    counts = counts if counts is not None else Counter()
    listed = prompt_entities(unit, spec)
    if not listed:
        return None
    label_of = {entity.id: label for label, entity in listed}
    entity_of = {entity.id: entity for _, entity in listed}
    position = {entity.id: index for index, (_, entity) in enumerate(listed)}
    triples = []
    for (head, tail), relation in sorted(
        labels.items(),
        key=lambda item: (position.get(item[0][0], -1), position.get(item[0][1], -1)),
    ):
        if head not in label_of or tail not in label_of:
            counts["gold_relations_not_listed"] += 1
            continue
        if not spec.allows(entity_of[head].type, entity_of[tail].type, relation):
            counts["gold_relations_not_allowed"] += 1
            continue
        counts["gold_relations_written"] += 1
        triples.append({"relation": relation, "head": label_of[head], "tail": label_of[tail]})
    return json.dumps({"relations": triples}, ensure_ascii=False)


def teacher_examples(
    units: Iterable[SentenceUnit],
    spec: RelationSpec,
    labels: Mapping[str, PairLabels],
) -> tuple[list[tuple[AnnotationPrompt, str]], Counter[str]]:
    """``(prompt, gold answer)`` for every sentence with a candidate pair, and counts.

    ``labels`` maps a sentence key to its gold pair labels (as from
    :func:`~bioie_kedro.relation_extraction.examples.gold_pair_labels`); a sentence without an
    entry states no relation (its answer is the empty list, which the teacher must learn too).
    Counts: ``sentences``, ``sentences_without_candidate_pair``, ``examples``,
    ``examples_with_relations`` and those of :func:`gold_relation_answer`.
    """
    counts: Counter[str] = Counter()
    out = []
    for unit in units:
        counts["sentences"] += 1
        prompt = relation_prompt(unit, spec)
        answer = gold_relation_answer(unit, spec, labels.get(unit.key, {}), counts)
        if prompt is None or answer is None:
            counts["sentences_without_candidate_pair"] += 1
            continue
        counts["examples"] += 1
        counts["examples_with_relations"] += answer != '{"relations": []}'
        out.append((prompt, answer))
    return out, counts
