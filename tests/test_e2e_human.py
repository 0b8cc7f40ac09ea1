"""Human feedback end to end: a real headless Chromium ranks a real run's policy videos.

A smoke run with ``--feedback human`` on InvertedPendulum trains three model-written
rewards, records their policies, prints the ranking page's URL and waits. The browser
checks that the three videos load and play, ranks them by drag and drop and keyboard,
types free text and submits; the test then checks ``ranking.json`` and that the next
prompt the model receives carries the preferred code and the person's words, and stops
the run there (the rest of a run is covered elsewhere).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO, default_sigint, fenced_answer, only_run
from tests.llm_server import ScriptedLLMServer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "tests" / "artifacts"
URL = re.compile(r"(http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/)")
FREE_TEXT = "it balances but drifts to the left edge; keep the cart near the centre"

REWARDS = [
    """
import numpy as np

def compute_reward(pole_angle):
    upright = np.exp(-(pole_angle / 0.2) ** 2)
    return 1.0 + upright, {"upright": upright}
""",
    """
import numpy as np

def compute_reward(pole_angle, cart_velocity):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    slow = 0.2 * np.exp(-cart_velocity ** 2)
    return 1.0 + upright + slow, {"upright": upright, "slow": slow}
""",
    """
import numpy as np

def compute_reward(pole_angle, cart_position):
    upright = np.exp(-(pole_angle / 0.15) ** 2)
    centred = 0.5 * np.exp(-(cart_position / 0.3) ** 2)
    return 1.0 + upright + centred, {"upright": upright, "centred": centred}
""",
]
NEXT = [r.replace("1.0 +", "2.0 +") for r in REWARDS]


def _reader(stream: object, lines: queue.Queue[str], log: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        log.append(line)
        lines.put(line)


def _next_url(lines: queue.Queue[str], log: list[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        match = URL.search(line)
        if match:
            return match.group(1)
    raise AssertionError("no ranking URL was printed; output:\n" + "".join(log))


def _post(url: str, payload: object) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _rank_in_browser(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url)
            page.wait_for_selector("li.card video", state="attached")
            assert page.locator("li.card video").count() == 3
            # Every video has decoded frames and its clock advances (it plays, it loops).
            # Polled from here: the page's CSP forbids the eval wait_for_function uses.
            playing = (
                "[...document.querySelectorAll('video')].every(v => v.readyState >= 2"
                " && !v.error && v.currentTime > 0.3)"
            )
            deadline = time.monotonic() + 20
            while not page.evaluate(playing):
                assert time.monotonic() < deadline, "the videos did not load and play"
                page.wait_for_timeout(100)
            clocks = "[...document.querySelectorAll('video')].map(v => v.currentTime)"
            before = page.evaluate(clocks)
            page.wait_for_timeout(400)
            after = page.evaluate(clocks)
            assert all(a != b for a, b in zip(after, before, strict=True)), (before, after)
            # Fitness and code are hidden unless asked for.
            assert not page.locator("li.card .code").first.is_visible()
            card = page.locator
            card('li.card[data-slot="2"]').drag_to(card('li.card[data-slot="0"]'))
            assert card('li.card[data-slot="2"] .place').inner_text() == "#1"
            card('li.card[data-slot="1"]').focus()
            page.keyboard.press("w")  # worst
            page.keyboard.press("u")  # unacceptable
            assert card('li.card[data-slot="1"] .place').inner_text() == "#3"
            assert card('li.card[data-slot="1"] input.bad').is_checked()
            page.fill("#text", FREE_TEXT)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ranking_page.png"), full_page=True)
            page.click("#submit")
            page.wait_for_selector("#status.ok", timeout=10_000)
        finally:
            browser.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_person_ranks_videos_and_the_next_prompt_hears_them(tmp_path: Path) -> None:
    pytest.importorskip("playwright")
    script = [fenced_answer(r) for r in REWARDS + NEXT]
    with ScriptedLLMServer(script) as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",
        }
        args = ["synthesize", "--env", "InvertedPendulum-v5", "--model", "openai/test-model"]
        args += ["--api-base", server.url, "--iterations", "2", "--samples", "3"]
        args += ["--budget", "1000", "--search", "full", "--no-cache", "--executor", "local"]
        args += ["--eval-seeds", "0", "--feedback", "human", "--out", str(tmp_path / "runs")]
        args += ["--max-revisions", "0", "--task", "balance the pole near the centre"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "rewardsmith.cli", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=default_sigint,
        )
        lines: queue.Queue[str] = queue.Queue()
        log: list[str] = []
        threading.Thread(target=_reader, args=(proc.stdout, lines, log), daemon=True).start()
        try:
            deadline = time.monotonic() + 240
            url = _next_url(lines, log, deadline)
            root = url.rsplit("/", 2)[0]
            assert _status(root + "/api/page") == 403
            assert _status(root + "/not-the-token/api/page") == 403
            assert _post(root + "/api/ranking", {"order": [0, 1, 2]})[0] == 403
            _rank_in_browser(url)

            run = only_run(tmp_path / "runs")
            ranking = json.loads((run / "iter_00" / "ranking.json").read_text())
            assert ranking["order"] == [2, 0, 1]
            assert ranking["unacceptable"] == [1]
            assert ranking["text"] == FREE_TEXT
            assert ranking["seconds"] > 0

            # The loop goes on: the second iteration's design request reaches the model.
            while len(server.requests) < 2:
                assert proc.poll() is None, "".join(log)
                assert time.monotonic() < deadline, "no second design request"
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)  # the rest of the run is not this test's concern
            assert proc.wait(timeout=60) == 130, "".join(log)
        finally:
            if proc.poll() is None:
                proc.kill()
        requests = list(server.requests)

    def text_of(request: dict) -> str:
        return "\n".join(m["content"] for m in request["messages"])

    assert len(requests) >= 2, requests
    next_prompt = text_of(requests[1])
    assert REWARDS[2].strip() in next_prompt  # the preferred code
    assert FREE_TEXT in next_prompt  # the person's words, verbatim
    assert "candidate 1 (unacceptable)" in next_prompt
    assert REWARDS[1].strip() in next_prompt  # the worst-ranked code
    assert "rank the policies at" in "".join(log)
    iteration = json.loads((run / "iter_00" / "iteration.json").read_text())
    assert iteration["ranking"]["order"] == [2, 0, 1]
    best_id = iteration["best_id"]
    assert best_id == iteration["results"][2]["candidate"]["id"]
    for slot in range(3):
        folder = run / "iter_00" / f"cand_{slot:02d}"
        assert (folder / "video.mp4").stat().st_size > 1000
        assert (folder / "poster.png").is_file()
    assert (run / "iter_00" / "feedback.md").read_text().strip() in next_prompt
