"""A scripted OpenAI-compatible chat server on the loopback interface, for tests.

Tests drive the real LLM client (litellm) against it::

    with ScriptedLLMServer(["```python\\n...\\n```", Error(429, "slow down")]) as server:
        model = ChatModel("openai/test-model", api_base=server.url)
        ...
        assert server.requests[0]["messages"][0]["role"] == "system"

Each request takes the next script entry; a request for ``n`` choices takes one entry
per choice (only the first may be an error). An entry is a ``str`` (the answer), a
:class:`Reply` (answer with a finish reason, a delay, usage), an :class:`Error` or an
``(status, message)`` tuple (an HTTP error), or a callable that gets the request JSON and
returns any of these. When the script runs out the server answers ``default`` (or 500).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One answer.

    Args:
        content: The message text ("" for an empty answer).
        finish_reason: ``"stop"``, or ``"length"`` for an answer cut off by the token limit.
        delay: Seconds to wait before answering (longer than the client's timeout to
            simulate a timeout).
        prompt_tokens: Reported prompt tokens.
        completion_tokens: Reported completion tokens.
    """

    content: str
    finish_reason: str = "stop"
    delay: float = 0.0
    prompt_tokens: int = 10
    completion_tokens: int = 20


@dataclass
class Error:
    """An HTTP error answer, e.g. ``Error(429, "rate limited")``."""

    status: int
    message: str = "error"
    delay: float = 0.0


Entry = str | Reply | Error | tuple[int, str] | Callable[[dict[str, Any]], Any]


def _resolve(entry: Any, request: dict[str, Any]) -> Reply | Error:
    if callable(entry) and not isinstance(entry, Reply | Error):
        entry = entry(request)
    if isinstance(entry, tuple):
        return Error(int(entry[0]), str(entry[1]))
    if isinstance(entry, str):
        return Reply(entry)
    if isinstance(entry, Reply | Error):
        return entry
    raise TypeError(f"script entry must be str, Reply, Error or (status, message), not {entry!r}")


class ScriptedLLMServer:
    """Context manager serving ``POST /v1/chat/completions`` from a script.

    Args:
        script: Entries answered in order (see the module docstring).
        default: Entry used once the script is exhausted (``None``: HTTP 500).
        max_choices: Answer at most this many choices whatever ``n`` asks (a provider that
            ignores ``n``).

    Attributes:
        requests: Every request body received, parsed, in arrival order.
        url: The API base, ``http://127.0.0.1:PORT/v1``.
    """

    def __init__(
        self,
        script: list[Entry] | None = None,
        default: Entry | None = None,
        max_choices: int | None = None,
    ) -> None:
        self.script: list[Entry] = list(script or [])
        self.default = default
        self.max_choices = max_choices
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def add(self, *entries: Entry) -> None:
        """Append entries to the script."""
        with self._lock:
            self.script.extend(entries)

    def _next(self, request: dict[str, Any]) -> Reply | Error:
        with self._lock:
            if self.script:
                entry = self.script.pop(0)
            elif self.default is not None:
                entry = self.default
            else:
                return Error(500, "ScriptedLLMServer: script exhausted")
        return _resolve(entry, request)

    def _answer(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            self.requests.append(request)
        n = int(request.get("n") or 1)
        if self.max_choices is not None:
            n = min(n, self.max_choices)
        first = self._next(request)
        if isinstance(first, Error):
            body = {"error": {"message": first.message, "type": "scripted", "code": first.status}}
            return first.status, body, first.delay
        replies = [first]
        for _ in range(n - 1):
            more = self._next(request)
            if isinstance(more, Error):
                break  # fewer choices than asked: a provider that ignores n
            replies.append(more)
        body = {
            "id": f"chatcmpl-scripted-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test-model"),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": r.content},
                    "finish_reason": r.finish_reason,
                }
                for i, r in enumerate(replies)
            ],
            "usage": {
                "prompt_tokens": first.prompt_tokens,
                "completion_tokens": sum(r.completion_tokens for r in replies),
                "total_tokens": first.prompt_tokens + sum(r.completion_tokens for r in replies),
            },
        }
        return 200, body, max(r.delay for r in replies)

    def __enter__(self) -> ScriptedLLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API names it
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    status, body, delay = 404, {"error": {"message": "not found"}}, 0.0
                else:
                    status, body, delay = owner._answer(request)
                if delay:
                    time.sleep(delay)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a simulated timeout)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
