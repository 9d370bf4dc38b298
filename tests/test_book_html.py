"""The built book, opened in real headless Chromium, as a reader would see it.

Needs the HTML (``make book``) and Debian's Chromium (``scripts/ensure_chromium.sh``);
``make test`` provides both and sets ADVLAB_REQUIRE_BOOK / ADVLAB_REQUIRE_BROWSER,
so that neither can be silently skipped there.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.browser

# Console messages seen on every jupyter-book 1.x page that are not ours to fix. Keep this short.
ALLOWED_CONSOLE = [
    # sphinx-thebe's inline script is included twice by the theme.
    re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),
    # pydata-sphinx-theme logs this before it has read the stored theme preference.
    re.compile(r"Got invalid theme mode"),
    # No favicon is configured; the browser asks for /favicon.ico anyway.
    re.compile(r"favicon\.ico.*404|404.*favicon\.ico|Failed to load resource.*404"),
    # ajv (inside the widget manager) warns about schema keywords in strict mode.
    re.compile(r"strict mode: "),
]


def _require(flag: str, reason: str) -> None:
    if os.environ.get(flag) == "1":
        pytest.fail(f"{reason} (required because {flag}=1)")
    pytest.skip(reason)


def _pages() -> list[str]:
    if not (HTML / "index.html").is_file():
        return []
    skip = {"_static", "_sources", "_images"}
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not (set(p.relative_to(HTML).parts) & skip)
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        _require("ADVLAB_REQUIRE_BOOK", "the book is not built; run `make book`")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        _require(
            "ADVLAB_REQUIRE_BROWSER", "Chromium is not installed; run scripts/ensure_chromium.sh"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield b
        finally:
            b.close()  # playwright gives the browser a fresh temporary profile


def _open(browser: object, url: str) -> tuple[object, list[str]]:
    """Open url; return the page and every console error, page error and off-host request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    host = url.split("/")[2]

    def on_console(msg: object) -> None:
        if msg.type == "error":  # type: ignore[attr-defined]
            text = f"{msg.text} @ {msg.location.get('url', '')}"  # type: ignore[attr-defined]
            if not any(p.search(text) for p in ALLOWED_CONSOLE):
                problems.append(f"console: {text}")

    def on_route(route: object) -> None:
        req_url = route.request.url  # type: ignore[attr-defined]
        if req_url.startswith(("data:", "blob:")) or req_url.split("/")[2] == host:
            route.continue_()  # type: ignore[attr-defined]
        else:  # the book must work offline: any request to another host is a bug
            problems.append(f"off-host request: {req_url}")
            route.abort()  # type: ignore[attr-defined]

    page.on("console", on_console)  # type: ignore[attr-defined]

    def on_page_error(err: object) -> None:
        if not any(p.search(str(err)) for p in ALLOWED_CONSOLE):
            problems.append(f"page error: {err}")

    page.on("pageerror", on_page_error)  # type: ignore[attr-defined]
    page.route("**/*", on_route)  # type: ignore[attr-defined]
    page.goto(url, wait_until="networkidle")  # type: ignore[attr-defined]
    return page, problems


BROKEN_IMAGES_JS = """() => Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.currentSrc || img.src || '(no src)')"""


@pytest.mark.parametrize("rel", _pages() or ["index.html"])
def test_page_loads_cleanly(server: str, browser: object, rel: str) -> None:
    page, problems = _open(browser, f"{server}/{rel}")
    try:
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
        broken = page.evaluate(BROKEN_IMAGES_JS)  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]
    assert not problems, f"{rel}: " + "\n".join(problems)
    assert not broken, f"{rel}: images that did not load: {broken}"


CHAPTERS_WITH_WIDGETS = [
    "book/01_first_adversarial_example.html",
    "book/02_fgsm_family.html",
]


@pytest.mark.parametrize("rel", CHAPTERS_WITH_WIDGETS)
def test_chapter_figures_and_widgets_render(server: str, browser: object, rel: str) -> None:
    if not (HTML / rel).is_file():
        pytest.fail(f"{rel} was not built")
    page, problems = _open(browser, f"{server}/{rel}")
    try:
        figures = page.locator("div.cell_output img")  # type: ignore[attr-defined]
        assert figures.count() >= 3, "the chapter should show its static figures"
        slider = page.locator(".jupyter-widgets.widget-slider").first  # type: ignore[attr-defined]
        slider.wait_for(state="visible", timeout=15_000)
        widget_img = page.locator(".jupyter-widgets img").first  # type: ignore[attr-defined]
        widget_img.wait_for(state="visible", timeout=15_000)
        assert page.evaluate("img => img.naturalWidth > 0", widget_img.element_handle())  # type: ignore[attr-defined]
        broken = page.evaluate(BROKEN_IMAGES_JS)  # type: ignore[attr-defined]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (Path(rel).stem + ".png")), full_page=True)  # type: ignore[attr-defined]
        slider.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / (Path(rel).stem + "-widget.png")))  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]
    assert not problems, "\n".join(problems)
    assert not broken, f"images that did not load: {broken}"
