"""Annotate numbered prompts through the HTTP backend with the answer cache (run as a process by
the kill-and-resume test): ``python annotate_subprocess.py URL CACHE N``; prints the answers."""

from __future__ import annotations

import json
import sys

from bioie_kedro.annotation import (
    AnnotationPrompt,
    AnswerCache,
    HttpChatAnnotator,
    HttpSettings,
    annotate_with_cache,
)


def main() -> None:
    url, cache_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prompts = [
        AnnotationPrompt(({"role": "user", "content": f"prompt {i}"},)) for i in range(count)
    ]
    settings = HttpSettings(url=url, model="test", max_concurrency=1, max_retries=0, timeout_s=60)
    with AnswerCache(cache_path) as cache:
        answers, _, stats = annotate_with_cache(
            prompts, HttpChatAnnotator(settings), cache, batch_size=4
        )
    print(json.dumps({"answers": answers, "stats": stats.as_dict()}))


if __name__ == "__main__":
    main()
