"""Run prompts through an annotator with every answer cached on disk: resumable, never asked twice.

:func:`annotate_with_cache` looks every prompt up in the :class:`~bioie_kedro.annotation.cache.AnswerCache`
first (key: the annotator's ``cache_model`` and the prompt's sha256), sends only the missing
ones, in batches, and stores each answer the moment the backend hands it over. A run that is
killed loses at most the requests in flight; the next run asks exactly the prompts that have no
stored answer. Identical prompts are asked once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bioie_kedro.annotation.backends import AnnotationError, Annotator
from bioie_kedro.annotation.cache import AnswerCache
from bioie_kedro.annotation.prompts import AnnotationPrompt

logger = logging.getLogger(__name__)


@dataclass
class AnnotationRunStats:
    """What one run did: prompts, answers found in the cache, prompts sent, time spent."""

    prompts: int = 0
    unique_prompts: int = 0
    from_cache: int = 0
    asked: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def annotate_with_cache(
    prompts: Sequence[AnnotationPrompt],
    annotator: Annotator,
    cache: AnswerCache,
    *,
    batch_size: int = 100,
) -> tuple[list[str], list[bool], AnnotationRunStats]:
    """An answer for every prompt, from the cache or from ``annotator``.

    Returns:
        The answers in prompt order, whether each came from the cache, and the run's counts.

    Raises:
        AnnotationError: the backend failed for good; every answer received before is stored.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    model = annotator.cache_model
    hashes = [prompt.sha256 for prompt in prompts]
    first_of: dict[str, int] = {}
    for index, digest in enumerate(hashes):
        first_of.setdefault(digest, index)
    stored = cache.get_many(model, first_of)
    stats = AnnotationRunStats(
        prompts=len(prompts), unique_prompts=len(first_of), from_cache=len(stored)
    )
    missing = [digest for digest in first_of if digest not in stored]
    logger.info(
        "Annotation: %d prompts (%d unique), %d answered in the cache, %d to ask (%s)",
        len(prompts),
        len(first_of),
        len(stored),
        len(missing),
        model,
    )
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]

        def store(index: int, answer: str, batch: list[str] = batch) -> None:
            digest = batch[index]
            if digest not in stored:
                cache.put(model, digest, answer)
                stored[digest] = answer
                stats.asked += 1

        answers = annotator.annotate([prompts[first_of[d]] for d in batch], on_answer=store)
        if len(answers) != len(batch):
            raise AnnotationError(f"the annotator returned {len(answers)} answers for {len(batch)}")
        for index, answer in enumerate(answers):
            store(index, answer)
        logger.info(
            "Annotated %d of %d prompts to ask (%.0f s)",
            min(start + batch_size, len(missing)),
            len(missing),
            time.perf_counter() - started,
        )
    stats.seconds = time.perf_counter() - started
    cached = {d for d in first_of if d not in missing}
    return [stored[d] for d in hashes], [d in cached for d in hashes], stats
