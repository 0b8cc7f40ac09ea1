"""The ranking page's server: token, static files, byte ranges, validated atomic rankings."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rewardsmith.agent.feedback import Ranking, load_ranking, save_ranking
from rewardsmith.web.page import build_manifest, shown_candidates
from rewardsmith.web.server import RankingServer

VIDEO = bytes(range(256)) * 40  # 10240 bytes standing in for an mp4


def _result(source: str, status: str = "ok", fitness: float | None = 1.0) -> dict:
    from rewardsmith.agent.candidate import RewardCandidate

    return {"candidate": RewardCandidate(source).to_json(), "status": status, "fitness": fitness}


def _iteration(tmp_path: Path, mode: str = "human") -> tuple[Path, dict]:
    iter_dir = tmp_path / "iter_00"
    results = [
        _result("def compute_reward(a):\n    return a, {}\n", fitness=1.0),
        _result("def compute_reward(b):\n    return b, {}\n", fitness=3.0),
        _result("def compute_reward(c):\n    return c, {}\n", status="rejected", fitness=None),
        _result("def compute_reward(d):\n    return d, {}\n", fitness=2.0),
        _result("def compute_reward(b):\n    return b, {}\n", fitness=3.0),  # a twin of 1
    ]
    for slot in range(len(results)):
        folder = iter_dir / f"cand_{slot:02d}"
        folder.mkdir(parents=True)
        if results[slot]["status"] == "ok" and slot != 4:
            (folder / "video.mp4").write_bytes(VIDEO)
            (folder / "poster.png").write_bytes(b"\x89PNG fake")
    manifest = build_manifest(iter_dir, 0, results, mode, "balance <b>it</b>", "steps_up")
    return iter_dir, manifest


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text.startswith(b"{") else {}


@pytest.fixture
def served(tmp_path: Path):
    iter_dir, manifest = _iteration(tmp_path)
    with RankingServer(iter_dir, manifest) as server:
        yield server


def test_the_manifest_skips_rejected_candidates_and_twins(tmp_path: Path) -> None:
    _, manifest = _iteration(tmp_path)
    assert shown_candidates(manifest).keys() == {0, 1, 3}
    assert [c["video"] for c in manifest["candidates"]] == [True, True, True]
    _, both = _iteration(tmp_path / "b", mode="both")
    assert [c["slot"] for c in both["candidates"]] == [1, 3, 0]  # fitness order to start


def test_candidates_without_a_video_drop_off_unless_none_has_one(tmp_path: Path) -> None:
    results = [
        _result("def compute_reward(a):\n    return a, {}\n"),
        _result("def compute_reward(a):\n    return 2 * a, {}\n"),  # an equivalent twin
    ]
    (tmp_path / "cand_00").mkdir()
    manifest = build_manifest(tmp_path, 0, results, "human", "", "f")
    assert [c["slot"] for c in manifest["candidates"]] == [0, 1]  # no video anywhere
    (tmp_path / "cand_00" / "video.mp4").write_bytes(VIDEO)
    manifest = build_manifest(tmp_path, 0, results, "human", "", "f")
    assert [c["slot"] for c in manifest["candidates"]] == [0]


def test_the_url_is_loopback_with_a_random_token(served: RankingServer) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert served.url.endswith(f"/{served.token}/")
    assert len(served.token) >= 24
    other = RankingServer(served.iter_dir, served.manifest)
    try:
        assert other.token != served.token
    finally:
        other.close()


@pytest.mark.parametrize(
    "path", ["", "api/page", "index.html", "WRONGTOKEN/api/page", "media/0/video.mp4"]
)
def test_requests_without_the_token_are_refused(served: RankingServer, path: str) -> None:
    root = served.url.rsplit("/", 2)[0]
    status, _, body = _get(f"{root}/{path}")
    assert status == 403
    assert b"forbidden" in body
    assert _post(f"{root}/api/ranking", b'{"order": [0, 1, 3]}')[0] == 403
    assert load_ranking(served.iter_dir) is None


def test_the_page_and_its_assets_are_served_without_any_cdn(served: RankingServer) -> None:
    status, headers, body = _get(served.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"static/app.js" in body and b"http" not in body.replace(b"http-equiv", b"")
    assert "no-referrer" in headers["Referrer-Policy"]
    for name in ("app.js", "app.css"):
        status, headers, body = _get(served.url + "static/" + name)
        assert status == 200 and body
        assert b"https://" not in body
    assert _get(served.url + "static/../server.py")[0] == 404
    assert _get(served.url + "nothing")[0] == 404
    status, headers, _ = _get(served.url.rstrip("/"))
    assert status == 200  # the redirect to the slash-terminated URL was followed


def test_page_state_hides_fitness_by_default(served: RankingServer) -> None:
    status, _, body = _get(served.url + "api/page")
    state = json.loads(body)
    assert status == 200
    assert state["show_details"] is False and state["ranked"] is False
    assert [c["slot"] for c in state["candidates"]] == [0, 1, 3]
    assert state["description"] == "balance <b>it</b>"  # the page inserts it as text


def test_videos_support_byte_ranges(served: RankingServer) -> None:
    url = served.url + "media/1/video.mp4"
    status, headers, body = _get(url)
    assert status == 200 and body == VIDEO and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/mp4"
    status, headers, body = _get(url, {"Range": "bytes=0-9"})
    assert status == 206 and body == VIDEO[:10]
    assert headers["Content-Range"] == f"bytes 0-9/{len(VIDEO)}"
    status, headers, body = _get(url, {"Range": "bytes=10000-"})
    assert status == 206 and body == VIDEO[10000:]
    status, headers, body = _get(url, {"Range": "bytes=-16"})
    assert status == 206 and body == VIDEO[-16:]
    assert _get(url, {"Range": f"bytes={len(VIDEO)}-"})[0] == 416
    assert _get(url, {"Range": "pages=1-2"})[0] == 416
    assert _get(served.url + "media/1/poster.png")[0] == 200
    assert _get(served.url + "media/2/video.mp4")[0] == 404  # rejected: not on the page
    assert _get(served.url + "media/1/reward.py")[0] == 404


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"order": [0, 1]}', "every candidate once"),
        (b'{"order": [0, 1, 1]}', "every candidate once"),
        (b'{"order": [0, 1, 2]}', "every candidate once"),
        (b'{"order": ["0", 1, 3]}', "list of candidate numbers"),
        (b'{"order": [0, 1, 3], "unacceptable": [7]}', "unacceptable"),
        (b'{"order": [0, 1, 3], "text": 5}', "text"),
        (b'{"order": [0, 1, 3], "seconds": -1}', "seconds"),
    ],
)
def test_bad_rankings_are_refused_and_nothing_is_saved(
    served: RankingServer, payload: bytes, message: str
) -> None:
    status, answer = _post(served.url + "api/ranking", payload)
    assert status == 400
    assert message in answer["error"]
    assert load_ranking(served.iter_dir) is None
    assert not served.submitted.is_set()


def test_a_ranking_is_saved_before_the_answer_and_only_once(served: RankingServer) -> None:
    done: list[Ranking] = []
    waiter = threading.Thread(target=lambda: done.append(served.wait(poll=0.05)))
    waiter.start()
    body = {"order": [3, 0, 1], "unacceptable": [1], "text": " drags its left foot ", "seconds": 7}
    status, answer = _post(served.url + "api/ranking", json.dumps(body).encode())
    assert status == 200 and answer["preferred"] == 3
    saved = load_ranking(served.iter_dir)
    assert saved is not None
    assert saved.order == [3, 0, 1] and saved.unacceptable == [1]
    assert saved.text == "drags its left foot" and saved.seconds == 7
    assert saved.candidates["3"] == served.manifest["candidates"][2]["id"]
    waiter.join(timeout=5)
    assert done and done[0].order == [3, 0, 1]
    again = _post(served.url + "api/ranking", json.dumps(body).encode())
    assert again[0] == 409
    state = json.loads(_get(served.url + "api/page")[2])
    assert state["ranked"] is True
    served.close()
    assert load_ranking(served.iter_dir) == saved  # stopping the server loses nothing


def test_a_huge_body_is_refused(served: RankingServer) -> None:
    status, _ = _post(served.url + "api/ranking", b"{" + b" " * 70_000 + b"}")
    assert status == 413


def test_wait_ends_when_another_process_saves_the_ranking(tmp_path: Path) -> None:
    iter_dir, manifest = _iteration(tmp_path)
    with RankingServer(iter_dir, manifest) as server:
        ranking = Ranking(0, [1, 0, 3], candidates=dict.fromkeys(("0", "1", "3"), "x"))
        threading.Timer(0.2, lambda: save_ranking(iter_dir, ranking)).start()
        found = server.wait(poll=0.05, also_done=lambda: load_ranking(iter_dir))
    assert found.order == [1, 0, 3]


def test_replace_allows_ranking_a_ranked_iteration_again(tmp_path: Path) -> None:
    iter_dir, manifest = _iteration(tmp_path)
    save_ranking(iter_dir, Ranking(0, [0, 1, 3]))
    with RankingServer(iter_dir, manifest, replace=True) as server:
        assert json.loads(_get(server.url + "api/page")[2])["ranked"] is False
        status, _ = _post(server.url + "api/ranking", b'{"order": [1, 3, 0]}')
    assert status == 200
    assert load_ranking(iter_dir).order == [1, 3, 0]
