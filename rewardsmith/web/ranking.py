"""The ranker the CLI gives a loop: serve the page, announce its URL, wait for a ranking."""

from __future__ import annotations

from collections.abc import Callable

from rewardsmith.agent.feedback import Ranking, RankingRequest, load_ranking
from rewardsmith.web.page import build_manifest, load_manifest, save_manifest
from rewardsmith.web.server import RankingServer


def serve_ranking(request: RankingRequest, announce: Callable[[str], None]) -> Ranking | None:
    """Rank ``request``'s iteration on a local page (a :class:`~rewardsmith.agent.feedback.Ranker`).

    The manifest is written before the page is served, so a run resumed while waiting,
    or ``rewardsmith rank`` from another shell, shows exactly the same candidates.

    Returns:
        The person's ranking (or one saved meanwhile by another process); ``None`` when no
        candidate of the iteration can be shown.
    """
    manifest = load_manifest(request.iter_dir)
    if manifest is None:
        manifest = build_manifest(
            request.iter_dir,
            request.index,
            request.results,
            request.mode,
            request.description,
            request.fitness_name,
        )
        save_manifest(request.iter_dir, manifest)
    if not manifest["candidates"]:
        return None
    with RankingServer(request.iter_dir, manifest) as server:
        announce(server.url)
        return server.wait(also_done=lambda: load_ranking(request.iter_dir))
