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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.browser

# Console messages seen on every jupyter-book 1.x page that are not ours to fix. Keep this short.
# (No 404 is allowed, not even the favicon's: _config.yml sets html.favicon.)
ALLOWED_CONSOLE = [
    # sphinx-thebe's inline script is included twice by the theme.
    re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),
    # pydata-sphinx-theme logs this before it has read the stored theme preference.
    re.compile(r"Got invalid theme mode"),
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
    "book/03_adversarial_training.html",
    "book/04_distillation_jsma.html",
    "book/07_differential_evolution.html",
    "book/08_one_pixel_attack.html",
]


@pytest.mark.parametrize("rel", CHAPTERS_WITH_WIDGETS)
def test_chapter_figures_and_widgets_render(server: str, browser: object, rel: str) -> None:
    if not (HTML / rel).is_file():
        pytest.fail(f"{rel} was not built")
    page, problems = _open(browser, f"{server}/{rel}")
    try:
        slider = page.locator(".advlab-explorer .widget-slider").first  # type: ignore[attr-defined]
        slider.wait_for(state="visible", timeout=15_000)
        widget_img = page.locator(".advlab-explorer img").first  # type: ignore[attr-defined]
        widget_img.wait_for(state="visible", timeout=15_000)
        # counted once the explorers have rendered (their first view is an <img> in a cell
        # output too): on a loaded machine the count raced the widget manager's rendering
        figures = page.locator("div.cell_output img")  # type: ignore[attr-defined]
        assert figures.count() >= 3, "the chapter should show its figures (explorers' included)"
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


# ---------------------------------------------------------------- explorers respond on the page

# The signature of what an explorer shows now: its caption (the setting's labels, from
# data-advlab-setting, and the text) and a digest of its content (images are hashed by their
# bytes, since every view's <img> gets its own blob: URL).
VIEW_JS = """async (box) => {
    const caps = Array.from(box.querySelectorAll('.advlab-caption'))
        .filter(c => c.offsetParent !== null);
    if (caps.length !== 1) return {error: `${caps.length} visible captions`};
    const cap = caps[0];
    const view = cap.closest('.widget-vbox');
    const parts = [];
    for (const el of Array.from(view.children).slice(1)) {
        parts.push(el.textContent);
        const imgs = el.tagName === 'IMG' ? [el] : Array.from(el.querySelectorAll('img'));
        for (const img of imgs) {
            const buf = await (await fetch(img.src)).arrayBuffer();
            const hash = await crypto.subtle.digest('SHA-256', buf);
            parts.push(Array.from(new Uint8Array(hash)).map(b => b.toString(16)).join(''));
            parts.push(String(img.naturalWidth > 0));
        }
    }
    const setting = JSON.parse(cap.dataset.advlabSetting).map((s) => String(s).replace(/\\s+/g, ' ').trim());
    return {setting: setting, text: cap.textContent,
            content: parts.join('|'), images: parts.length};
}"""

# What a control shows as its value: a slider's readout, or a dropdown's selected option. The
# widget manager renders the spaces of option labels as no-break spaces (U+00A0): white space is
# folded to plain spaces before the value is compared with the caption's setting.
CONTROL_JS = """(c) => {
    const fold = (s) => s.replace(/\\s+/g, ' ').trim();
    const sel = c.querySelector('select');
    if (sel) return {kind: 'select', value: fold(sel.options[sel.selectedIndex].text),
                     index: sel.selectedIndex, n: sel.options.length};
    const readout = c.querySelector('.widget-readout');
    return {kind: 'slider', value: readout ? fold(readout.textContent) : null};
}"""


# An explorer in a page's embedded widget state (not a mere mention of the class in the text).
EXPLORER_STATE = re.compile(r'"_dom_classes":\s*\[[^\]]*"advlab-explorer"')


def _pages_with_explorers() -> list[str]:
    return [rel for rel in _pages() if EXPLORER_STATE.search((HTML / rel).read_text())]


def _move(page: object, control: object, info: dict) -> Callable[[], None]:
    """Move one control one step, as a reader would (a key on the slider handle, another
    option in the dropdown); return how to move it back."""
    if info["kind"] == "select":
        new = info["index"] + 1 if info["index"] + 1 < info["n"] else info["index"] - 1
        select = control.locator("select")  # type: ignore[attr-defined]
        select.select_option(index=new)
        return lambda: select.select_option(index=info["index"])
    handle = control.locator(".noUi-handle").first  # type: ignore[attr-defined]
    handle.focus()
    handle.press("ArrowRight")
    page.wait_for_timeout(150)  # type: ignore[attr-defined]
    if page.evaluate(CONTROL_JS, control.element_handle())["value"] != info["value"]:  # type: ignore[attr-defined]
        return lambda: handle.press("ArrowLeft")
    handle.press("ArrowLeft")  # it was at the right end
    return lambda: handle.press("ArrowRight")


def _settle(page: object, box: object, control: object, k: int) -> tuple[dict, dict]:
    """The control's value and the explorer's view, once the view has followed the control."""
    for _ in range(40):  # a few frames
        page.wait_for_timeout(50)  # type: ignore[attr-defined]
        value = page.evaluate(CONTROL_JS, control.element_handle())  # type: ignore[attr-defined]
        view = page.evaluate(VIEW_JS, box.element_handle())  # type: ignore[attr-defined]
        if "error" not in view and view["setting"][k] == value["value"]:
            break
    return value, view


@pytest.mark.parametrize("rel", _pages_with_explorers() or ["(no page has an explorer)"])
def test_explorers_respond_on_the_static_page(server: str, browser: object, rel: str) -> None:
    """Every control of every explorer switches the view to the one of its new value."""
    if not (HTML / rel).is_file():
        pytest.fail("the book is built but no page has an explorer (class advlab-explorer)")
    page, problems = _open(browser, f"{server}/{rel}")
    try:
        boxes = page.locator(".advlab-explorer")  # type: ignore[attr-defined]
        boxes.first.wait_for(state="attached", timeout=20_000)
        assert boxes.count() >= 1
        for b in range(boxes.count()):
            box = boxes.nth(b)
            box.scroll_into_view_if_needed()
            controls = box.locator(".advlab-control")
            assert controls.count() >= 1, f"explorer {b} has no controls"
            for k in range(controls.count()):
                control = controls.nth(k)
                where = f"{rel}, explorer {b}, control {k}"
                before = page.evaluate(VIEW_JS, box.element_handle())  # type: ignore[attr-defined]
                assert "error" not in before, f"{where}: {before}"
                info = page.evaluate(CONTROL_JS, control.element_handle())  # type: ignore[attr-defined]
                assert before["setting"][k] == info["value"], (
                    f"{where}: caption and control disagree"
                )
                back = _move(page, control, info)
                moved, after = _settle(page, box, control, k)
                assert moved["value"] != info["value"], f"{where}: the control did not move"
                assert "error" not in after, f"{where}: {after}"
                assert after["setting"][k] == moved["value"], (
                    f"{where}: control shows {moved['value']!r}, view is {after['setting']}"
                )
                others = [v for i, v in enumerate(after["setting"]) if i != k]
                assert others == [v for i, v in enumerate(before["setting"]) if i != k]
                assert after["text"] != before["text"], f"{where}: the caption did not change"
                assert after["content"], f"{where}: the view shows nothing"
                assert after["content"] != before["content"], f"{where}: the picture did not change"
                back()  # and back: the first view again, before the next control moves
                _, again = _settle(page, box, control, k)
                assert again == before, f"{where}: moving the control back did not restore the view"
    finally:
        page.close()  # type: ignore[attr-defined]
    assert not problems, "\n".join(problems)
