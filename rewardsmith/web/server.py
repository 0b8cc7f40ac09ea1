"""The local ranking page: a small stdlib HTTP server on 127.0.0.1, guarded by a token.

Every URL starts with a random token (``http://127.0.0.1:PORT/TOKEN/``), so other users of
the machine, who can reach the loopback port, cannot read the candidates or post a
ranking; a request without it gets 403. Videos are served with HTTP range support
(Chromium asks for byte ranges to seek and loop an mp4). A submitted ranking is validated
and written atomically before the answer goes out, so a page that shows "saved" means
the file is on disk whatever happens to the server afterwards.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rewardsmith.agent.feedback import Ranking, load_ranking, parse_ranking, save_ranking
from rewardsmith.web.page import POSTER_FILE, VIDEO_FILE, shown_candidates

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_MEDIA = re.compile(r"media/(\d+)/(video\.mp4|poster\.png)$")
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never hand it on
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'",
}


class RankingServer:
    """Serves one iteration's ranking page until a ranking is submitted (or it is closed).

    Args:
        iter_dir: The iteration's folder (``ranking.json`` is written there).
        manifest: The page manifest (see :mod:`rewardsmith.web.page`).
        replace: Accept a ranking even when the iteration already has one (``rank
            --iteration N`` on a ranked iteration); otherwise a second one gets 409.
        host: Interface to bind; only loopback makes sense.
        port: Port (0: a free one).
    """

    def __init__(
        self,
        iter_dir: Path,
        manifest: dict[str, Any],
        replace: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.iter_dir = iter_dir
        self.manifest = manifest
        self.replace = replace
        self.token = secrets.token_urlsafe(24)
        self.submitted = threading.Event()
        self.ranking: Ranking | None = None
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, token included."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{self.token}/"

    def start(self) -> RankingServer:
        """Serve in a background thread; return ``self``."""
        # A short poll keeps close() quick; an idle server costs nothing noticeable.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="rs-ranking-page", daemon=True
        )
        self._thread.start()
        logger.info("ranking page for %s at %s", self.iter_dir.name, self.url)
        return self

    def close(self) -> None:
        """Stop serving (a ranking already submitted is on disk)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> RankingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(
        self, poll: float = 0.5, also_done: Callable[[], Ranking | None] | None = None
    ) -> Ranking:
        """Block until a ranking arrives through this page or ``also_done`` finds one.

        Args:
            poll: Seconds between checks (short waits keep Ctrl-C responsive).
            also_done: Called every ``poll`` seconds; a ranking it returns ends the wait
                (e.g. one saved by ``rewardsmith rank`` from another process).
        """
        while True:
            if self.submitted.wait(poll) and self.ranking is not None:
                return self.ranking
            if also_done is not None:
                found = also_done()
                if found is not None:
                    return found

    # Requests -------------------------------------------------------------------------------
    def page_state(self) -> dict[str, Any]:
        """The manifest the page script renders, plus whether the iteration is ranked."""
        existing = load_ranking(self.iter_dir)
        return {
            **self.manifest,
            "ranked": existing is not None and not self.replace,
            "show_details": self.manifest.get("mode") == "both",
        }

    def submit(self, payload: Any) -> tuple[int, dict[str, Any]]:
        """Validate and save a posted ranking; the HTTP status and the JSON answer."""
        with self._lock:
            if not self.replace and (
                self.ranking is not None or load_ranking(self.iter_dir) is not None
            ):
                return 409, {"error": "this iteration is already ranked"}
            try:
                ranking = parse_ranking(
                    payload, int(self.manifest["iteration"]), shown_candidates(self.manifest)
                )
            except ValueError as exc:
                return 400, {"error": str(exc)}
            save_ranking(self.iter_dir, ranking)
            self.ranking = ranking
        self.submitted.set()
        return 200, {"ok": True, "preferred": ranking.preferred}

    def media_path(self, slot: int, name: str) -> Path | None:
        """The video or poster of a candidate on the page (``None`` for anything else)."""
        if slot not in shown_candidates(self.manifest) or name not in (VIDEO_FILE, POSTER_FILE):
            return None
        path = self.iter_dir / f"cand_{slot:02d}" / name
        return path if path.is_file() else None


def _handler_for(server: RankingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("ranking page: " + format, *args)

        # Helpers ----------------------------------------------------------------------------
        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in {**_SECURITY_HEADERS, **extra}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", {})

        def _text(self, status: int, text: str) -> None:
            self._send(status, text.encode(), "text/plain; charset=utf-8", {})

        def _route(self) -> str | None:
            """The path after the token, or ``None`` (answered 403) without a valid token."""
            path = self.path.split("?", 1)[0]
            parts = path.lstrip("/").split("/", 1)
            if not secrets.compare_digest(parts[0].encode(), server.token.encode()):
                self._text(403, "forbidden: open the exact URL the rewardsmith command printed")
                return None
            if len(parts) == 1:  # /TOKEN without a slash: relative links need the slash
                self._send(301, b"", "text/plain", {"Location": f"/{server.token}/"})
                return None
            return parts[1]

        def _file(self, path: Path) -> None:
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            size = path.stat().st_size
            start, end = 0, size - 1
            status, extra = 200, {"Accept-Ranges": "bytes"}
            wanted = self.headers.get("Range")
            if wanted:
                match = _RANGE.match(wanted.strip())
                if match is None or match.groups() == ("", ""):
                    self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
                    return
                first, last = match.groups()
                if first:
                    start, end = int(first), min(int(last), size - 1) if last else size - 1
                else:  # a suffix: the last N bytes
                    start = max(0, size - int(last))
                if start > end or start >= size:
                    self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
                    return
                status = 206
                extra["Content-Range"] = f"bytes {start}-{end}/{size}"
            with path.open("rb") as fh:
                fh.seek(start)
                body = fh.read(end - start + 1)
            self._send(status, body, ctype, extra)

        # Verbs ------------------------------------------------------------------------------
        def do_GET(self) -> None:  # the http.server API names it
            route = self._route()
            if route is None:
                return
            if route in ("", "index.html"):
                self._file(STATIC_DIR / "index.html")
            elif route.startswith("static/") and "/" not in route[7:]:
                path = STATIC_DIR / route[7:]
                if path.is_file() and not route[7:].startswith("."):
                    self._file(path)
                else:
                    self._text(404, "not found")
            elif route == "api/page":
                self._json(200, server.page_state())
            elif match := _MEDIA.match(route):
                path = server.media_path(int(match.group(1)), match.group(2))
                if path is None:
                    self._text(404, "no such video")
                else:
                    self._file(path)
            else:
                self._text(404, "not found")

        def do_HEAD(self) -> None:  # the http.server API names it
            self.do_GET()

        def do_POST(self) -> None:  # the http.server API names it
            route = self._route()
            if route is None:
                return
            if route != "api/ranking":
                self._text(404, "not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._json(413, {"error": f"the ranking is larger than {MAX_BODY_BYTES} bytes"})
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError):
                self._json(400, {"error": "the body is not JSON"})
                return
            status, answer = server.submit(payload)
            self._json(status, answer)

    Handler.__name__ = "RankingHandler"
    return Handler
