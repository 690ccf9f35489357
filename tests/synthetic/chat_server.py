"""A scripted OpenAI-compatible chat-completions server for the tests (http.server in a thread).

``ChatServer(script)`` listens on 127.0.0.1 (a free port) and answers ``POST /v1/chat/completions``
with what ``script(body, attempt)`` returns for the request, a :class:`Reply`; ``attempt`` counts
the requests carrying the same prompt (the last message's content). It records every request,
how many times each prompt was *answered* (a 200 written), the most requests in flight at once,
and can hold every request after the first ``hold_after`` ones until :meth:`release_held`, then
drop them unanswered (to kill a client with a request in flight).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    content: str | None = '{"relations": []}'
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[dict[str, Any], int], Reply]


def prompt_key(body: dict[str, Any]) -> str:
    return body["messages"][-1]["content"]


class ChatServer:
    def __init__(self, script: Script | None = None, *, hold_after: int | None = None) -> None:
        self.script = script or (lambda body, attempt: Reply())
        self.hold_after = hold_after
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.attempts: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def release_held(self) -> None:
        """Let held requests go (they are dropped without an answer) and hold no more."""
        self.hold_after = None
        self._release.set()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = prompt_key(body)
                with server._lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    server.attempts[key] += 1
                    attempt = server.attempts[key]
                    held = (
                        server.hold_after is not None and len(server.requests) > server.hold_after
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                # The request counts as in flight until its answer is ready, not until the
                # handler thread has finished writing: once the answer is on the wire the
                # client may send its next request before this thread gets scheduled again,
                # which would count one request twice (a measurement artefact, seen in CI).
                done = False

                def finished() -> None:
                    nonlocal done
                    if not done:
                        done = True
                        with server._lock:
                            server.in_flight -= 1

                try:
                    if held:
                        server._release.wait(timeout=30)
                        self.close_connection = True
                        return  # dropped: no answer
                    reply = server.script(body, attempt)
                    if reply.delay:
                        time.sleep(reply.delay)
                    finished()
                    payload = json.dumps(
                        {
                            "id": "chatcmpl-test",
                            "object": "chat.completion",
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": reply.content},
                                    "finish_reason": "stop",
                                }
                            ],
                        }
                        if reply.status == 200
                        else {"error": {"message": f"scripted {reply.status}"}}
                    ).encode()
                    try:
                        self.send_response(reply.status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        for name, value in reply.headers.items():
                            self.send_header(name, value)
                        self.end_headers()
                        self.wfile.write(payload)
                        self.wfile.flush()
                    except OSError:
                        return  # the client is gone
                    if reply.status == 200:
                        with server._lock:
                            server.answered[key] += 1
                finally:
                    finished()

        return Handler


# --------------------------------------------------------------------------------------------
# A deterministic "annotator" for relation prompts (bioie_kedro.annotation.prompts)
# --------------------------------------------------------------------------------------------

_ENTITY_LINE = re.compile(r"^(E\d+) \| (\S+) \| (.*)$", re.MULTILINE)


def relation_reply(body: dict[str, Any], attempt: int = 1) -> Reply:
    """Answers a relation prompt: the first Chemical ``causes`` the first Disease, a second
    Chemical ``treats`` the last Disease, and, chosen by a hash of the prompt, one kind of mistake
    (see :func:`scripted_relations`)."""
    content, _ = scripted_relations(prompt_key(body))
    return Reply(content=content)


def scripted_relations(user_message: str) -> tuple[str, Counter[str]]:
    """The answer to one prompt and what validation must make of it: a Counter with
    ``invalid_json`` / ``malformed_answer`` for unusable answers, rejection reasons, and
    ``accepted:<relation>`` for the triples that must pass."""
    entities = _ENTITY_LINE.findall(user_message)
    chemicals = [label for label, etype, _ in entities if etype == "Chemical"]
    diseases = [label for label, etype, _ in entities if etype == "Disease"]
    variant = int(hashlib.sha256(user_message.encode()).hexdigest()[:8], 16) % 10
    expected: Counter[str] = Counter()
    if variant == 0:
        expected["invalid_json"] += 1
        return '```json\n{"relations": []}\n```', expected
    if variant == 1:
        expected["malformed_answer"] += 1
        return '{"relations": [], "explanation": "none found"}', expected
    triples = []
    if chemicals and diseases:
        triples.append({"relation": "causes", "head": chemicals[0], "tail": diseases[0]})
        expected["accepted:causes"] += 1
        if len(chemicals) > 1:
            triples.append({"relation": "treats", "head": chemicals[1], "tail": diseases[-1]})
            expected["accepted:treats"] += 1
        mistakes = {
            2: (
                {"relation": "treats", "head": diseases[0], "tail": chemicals[0]},
                "reversed_arguments",
            ),
            3: ({"relation": "causes", "head": "E99", "tail": diseases[0]}, "unknown_head"),
            4: (dict(triples[0]), "duplicate"),
            5: (
                {"relation": "prevents", "head": chemicals[0], "tail": diseases[0]},
                "conflicting_label",
            ),
            6: (
                {"relation": "inhibits", "head": chemicals[0], "tail": diseases[0]},
                "unknown_relation",
            ),
            7: (
                {"relation": "causes", "head": chemicals[0], "tail": chemicals[0]},
                "same_head_and_tail",
            ),
        }
        if variant in mistakes:
            triple, reason = mistakes[variant]
            triples.append(triple)
            expected[reason] += 1
    return json.dumps({"relations": triples}), expected
