"""The report of one run: ``report.html`` (self-contained) and ``report.md`` in the run folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rewardsmith.agent.final_eval import hns_text
from rewardsmith.agent.run_summary import run_notes
from rewardsmith.report import plots
from rewardsmith.report.data import CandidateData, RunData, load_run
from rewardsmith.report.html import data_uri, fmt, highlight_python, media_src, pct, render
from rewardsmith.store import write_atomic

logger = logging.getLogger(__name__)

#: Bytes of video and poster data one report embeds before it links the rest.
EMBED_BUDGET = 40 * 1024 * 1024
ASSETS = "report_assets"


def _summary(report: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    names = (("best synthesised", "best"), ("native (env's own)", "native"))
    for label, key in (*names, ("sparse (fitness signal alone)", "sparse")):
        data = report.get(key) or {}
        if data.get("mean") is None:
            continue
        rows.append(
            {
                "name": label,
                "fitness": f"{fmt(data['mean'])} ± {fmt(data.get('std'))}",
                "success": pct(data.get("success_rate")),
                "seeds": str(len(data.get("per_seed", []))),
            }
        )
    return rows


def _confirmation_text(confirmation: dict[str, Any]) -> str:
    seeds = len(confirmation.get("seeds", []))
    rows = confirmation.get("candidates", [])
    tied = sum(1 for cand in rows if cand.get("search_pruned"))
    text = f"The {len(rows)} fittest rewards of the search"
    if tied:
        text += (
            f" ({tied} of them stopped by successive halving at a tie with one that went on,"
            " whose search fitness is that rung's)"
        )
    text += f" were retrained on {seeds} fresh seed(s) each; the best mean there was chosen."
    if confirmation.get("changed"):
        # Runs saved before the report said why have no "reason".
        why = confirmation.get("reason") or "its one-seed fitness did not hold up"
        text += f" It was not the search's own pick (`{confirmation.get('search_pick')}`): {why}."
    return text


def _search_fitness(cand: dict[str, Any]) -> str:
    text = fmt(cand.get("search_fitness"))
    if cand.get("search_pruned"):
        text += f" (at {int(cand.get('search_steps', 0)):,} steps)"
    return text


def _confirmation_rows(confirmation: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for cand in confirmation.get("candidates", []):
        seeds = ", ".join(fmt(v) for v in cand.get("fitness", []))
        if cand.get("failed"):
            seeds += f" ({cand['failed']} failed)"
        rows.append(
            {
                "id": cand.get("id"),
                "chosen": cand.get("id") == confirmation.get("chosen"),
                "iteration": int(cand.get("iteration", 0)) + 1,
                "search": _search_fitness(cand),
                "seeds": seeds,
                "mean": fmt(cand.get("mean")),
            }
        )
    return rows


def _videos(data: RunData, report_dir: Path) -> list[dict[str, str]]:
    budget = [EMBED_BUDGET]
    found = []
    for cand in data.candidates:
        video = cand.video
        if video is None:
            continue
        poster = cand.poster
        found.append(
            {
                "key": cand.key,
                "fitness": fmt(cand.fitness),
                "src": media_src(video, "video/mp4", report_dir, budget),
                "poster": media_src(poster, "image/png", report_dir, budget) if poster else "",
            }
        )
    return found


def _plots(data: RunData) -> dict[str, bytes | None]:
    return {
        "fitness": plots.fitness_per_iteration(data),
        "curves": plots.training_curves(data),
        "components": plots.component_traces(data),
    }


def _markdown(
    data: RunData, summary: list[dict[str, str]], images: dict[str, str], best: CandidateData | None
) -> str:
    report = data.report or {}
    lines = [
        f"# {data.task}: reward synthesis report",
        "",
        f"Run `{data.root.name}`, status **{data.run.get('status', '?')}**, designer "
        f"{data.designer}, budget {data.config.get('budget')}.",
        "",
        str(data.run.get("description", "")),
        "",
        *(f"> **Note:** {note}\n" for note in run_notes(data.run)),
        "## Result",
        "",
    ]
    if summary:
        lines += ["| reward | fitness (mean ± std) | success rate | seeds |", "|---|--:|--:|--:|"]
        lines += [
            f"| {r['name']} | {r['fitness']} | {r['success']} | {r['seeds']} |" for r in summary
        ]
        lines += ["", f"Human-normalised score: **{hns_text(report)}**"]
    usage = data.usage
    lines += [
        "",
        f"Env steps trained: {data.env_steps():,}; model usage: {usage['prompt_tokens']:,.0f} "
        f"prompt + {usage['completion_tokens']:,.0f} completion tokens, ${usage['cost_usd']:.4f}.",
        "",
        "## Search",
        "",
    ]
    for name, alt in (("fitness", "fitness per iteration"), ("curves", "training curves")):
        if name in images:
            lines += [f"![{alt}]({images[name]})", ""]
    lines += ["| iteration | candidate | id | status | fitness |", "|--:|---|---|---|--:|"]
    for cand in data.candidates:
        lines.append(
            f"| {cand.iteration + 1} | cand_{cand.slot:02d} | `{cand.id}` | {cand.status} | "
            f"{fmt(cand.fitness)} |"
        )
    confirmation = report.get("confirmation")
    if confirmation:
        lines += ["", "## Confirmation", "", _confirmation_text(confirmation), ""]
        lines += [
            "| reward | iteration | search fitness | fresh seeds | mean |",
            "|---|--:|--:|---|--:|",
        ]
        for row in _confirmation_rows(confirmation):
            lines.append(
                f"| `{row['id']}`{' (chosen)' if row['chosen'] else ''} | {row['iteration']} "
                f"| {row['search']} | {row['seeds']} | {row['mean']} |"
            )
    if "components" in images:
        lines += ["", "## Reward components", "", f"![components]({images['components']})"]
    rejected = [c for c in data.candidates if c.critic_passed is False]
    if rejected:
        lines += ["", "## Critic rejections", ""]
        for cand in rejected:
            lines += [f"- **{cand.key}**: " + "; ".join(cand.critic_problems)]
    for it in data.iterations:
        if it.ranking:
            order = " > ".join(f"cand_{s:02d}" for s in it.ranking.get("order", []))
            lines += ["", f"Iteration {it.index + 1} human ranking: {order}"]
            if it.ranking.get("text"):
                lines += ["", f"> {it.ranking['text']}"]
    if best is not None:
        lines += ["", "## Best reward code", "", f"Candidate `{best.id}` ({best.key}).", ""]
        lines += ["```python", best.source.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def write_run_report(root: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (with ``report_assets/``) into the run folder.

    Returns:
        The paths of the HTML and the Markdown report.

    Raises:
        UserError: ``root`` is not a run folder.
    """
    data = load_run(root)
    report = data.report or {}
    best = data.best_candidate
    figures = _plots(data)
    images: dict[str, str] = {}
    for name, png in figures.items():
        if png is not None:
            write_atomic(root / ASSETS / f"{name}.png", png)
            images[name] = f"{ASSETS}/{name}.png"
    summary = _summary(report)
    html = render(
        "run.html.j2",
        title=f"rewardsmith report: {data.task} ({root.name})",
        run=data,
        report=report,
        summary=summary,
        hns=hns_text(report),
        alert=(report.get("search") or {}).get("hacking_alert"),
        field_notes=run_notes(data.run),
        confirmation=report.get("confirmation"),
        confirmation_text=_confirmation_text(report.get("confirmation") or {}),
        confirmation_rows=_confirmation_rows(report.get("confirmation") or {}),
        env_steps=data.env_steps(),
        usage=data.usage,
        best=best,
        best_code=highlight_python(best.source) if best is not None else "",
        plots={k: data_uri(v, "image/png") if v else "" for k, v in figures.items()},
        rejections=[c for c in data.candidates if c.critic_passed is False],
        videos=_videos(data, root),
        tensorboard=any(root.glob("iter_*/cand_*/events.out.tfevents.*")),
    )
    html_path, md_path = root / "report.html", root / "report.md"
    write_atomic(html_path, html)
    write_atomic(md_path, _markdown(data, summary, images, best))
    logger.info("wrote %s", html_path)
    return html_path, md_path
