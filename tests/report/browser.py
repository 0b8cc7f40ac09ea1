"""Open a report in a real headless Chromium and say what went wrong in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class PageCheck:
    """What the browser saw."""

    console_errors: list[str] = field(default_factory=list)
    image_widths: list[int] = field(default_factory=list)
    video_states: list[int] = field(default_factory=list)
    text: str = ""


def open_report(html: Path, screenshot: str | None = None) -> PageCheck:
    """Load ``html`` from file://, wait for its media, and collect errors and media states."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium on this machine")
    check = PageCheck()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on(
                "console",
                lambda m: check.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: check.console_errors.append(str(e)))
            page.on("requestfailed", lambda r: check.console_errors.append(f"failed load: {r.url}"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function(
                "Array.from(document.querySelectorAll('video'))"
                ".every(v => v.readyState >= 1 || v.error)",
                timeout=15_000,
            )
            check.image_widths = page.evaluate(
                "Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
            )
            check.video_states = page.evaluate(
                "Array.from(document.querySelectorAll('video'))"
                ".map(v => v.error ? -1 : v.readyState)"
            )
            check.text = page.inner_text("body")
            if screenshot:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
        finally:
            browser.close()
    return check
