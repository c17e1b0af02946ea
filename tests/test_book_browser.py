"""Open every page of the built book in headless Chromium, with every other host unreachable.

On every page: it loads, the console shows no errors, the maths is typeset, every image loads
and every internal link resolves, and axe-core (npm's axe-core, injected from node_modules)
finds no serious or critical accessibility violation. Screenshots go to
tests/artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT

CHROMIUM = os.environ.get("KVMEM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = pytest.mark.browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def content_pages(html: Path) -> list[Path]:
    """Every HTML page of the book, relative to the build folder, redirects left out."""
    return sorted(p.relative_to(html) for p in html.rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(html).parts) and redirect_target(p) is None)


def redirect_target(path: Path) -> str | None:
    """Where a meta-refresh page (such as index.html) sends the reader, or None."""
    match = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', path.read_text(encoding="utf-8"), re.I)
    return match.group(1) if match else None


@pytest.fixture(scope="session")
def server(built_book: Path):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _visit(page, url: str, shot: Path) -> dict:
    """Load one page and gather what the checks need."""
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: console_errors.append(str(err)))
    response = page.goto(url, wait_until="load")
    has_math = page.evaluate("document.querySelectorAll('.math').length") > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15_000)
        page.evaluate("MathJax.startup.promise")
    facts = page.evaluate("""() => ({
        mathjax_rendered: document.querySelectorAll('mjx-container').length,
        text: document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText,
        broken_images: Array.from(document.images)
            .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    })""")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               where: v.nodes.slice(0, 3).map(n => n.html.slice(0, 160))}))""")
    images = page.evaluate("""() => Array.from(document.querySelectorAll('main img'))
        .map(img => ({src: img.getAttribute('src') || '', alt: img.getAttribute('alt') || ''}))""")
    return {"status": response.status if response else None, "console_errors": console_errors,
            "has_math": has_math, "violations": violations, "images": images, **facts}


@pytest.fixture(scope="session")
def report(server: str, built_book: Path) -> dict:
    """Visit every page once; return {page: facts} and the blocked outside requests."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `apt-get install chromium` (.ci/run does this)")
    if not AXE.exists():
        pytest.fail("axe-core is not installed: `npm ci` (make vendor does this)")
    host = urlsplit(server).netloc
    blocked: list[str] = []

    def only_local(route) -> None:
        if urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    pages = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1600})
        context.route("**/*", only_local)
        for rel in content_pages(built_book):
            page = context.new_page()
            shot = SCREENSHOTS / rel.with_suffix(".png")
            pages[rel.as_posix()] = _visit(page, server + rel.as_posix(), shot)
            page.close()
        browser.close()
    return {"pages": pages, "blocked": blocked, "server": server}


def test_index_redirects_to_the_landing_page(built_book: Path) -> None:
    target = redirect_target(built_book / "index.html")
    assert target is not None and (built_book / target).exists()


def test_book_has_its_pages(built_book: Path) -> None:
    pages = {p.as_posix() for p in content_pages(built_book)}
    for expected in ("intro.html", "chapters/01_why_memory.html",
                     "appendix/execution_statistics.html", "appendix/bibliography.html"):
        assert expected in pages


def test_every_page_loads(report) -> None:
    bad = {p: f["status"] for p, f in report["pages"].items() if f["status"] != 200}
    assert not bad, f"pages that did not load: {bad}"


def test_no_console_errors(report) -> None:
    bad = {p: f["console_errors"] for p, f in report["pages"].items() if f["console_errors"]}
    assert not bad, f"console errors: {bad}"


def test_nothing_is_fetched_from_another_host(report) -> None:
    assert not report["blocked"], f"requests to other hosts: {sorted(set(report['blocked']))}"


def test_maths_is_typeset(report) -> None:
    pages_with_math = {p: f for p, f in report["pages"].items() if f["has_math"]}
    assert "chapters/01_why_memory.html" in pages_with_math
    not_rendered = [p for p, f in pages_with_math.items() if f["mathjax_rendered"] == 0]
    raw_dollars = [p for p, f in pages_with_math.items() if "$$" in f["text"]]
    assert not not_rendered, f"MathJax rendered nothing on: {not_rendered}"
    assert not raw_dollars, f"raw $$ left on: {raw_dollars}"


def test_every_image_loads(report) -> None:
    bad = {p: f["broken_images"] for p, f in report["pages"].items() if f["broken_images"]}
    assert not bad, f"images that did not load: {bad}"
    assert any("_images/" in html.read_text() for html in (ROOT / "_build" / "html" / "chapters").glob("*.html"))


def _anchors(path: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))


def test_every_internal_link_resolves(report, built_book: Path) -> None:
    server = report["server"]
    missing = []
    anchors_cache: dict[Path, set[str]] = {}
    for page, facts in report["pages"].items():
        for href in facts["links"]:
            if not href.startswith(server):
                continue
            parts = urlsplit(href)
            target = built_book / unquote(parts.path[1:])
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                missing.append(f"{page} -> {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = anchors_cache.setdefault(target, _anchors(target))
                if unquote(parts.fragment) not in ids:
                    missing.append(f"{page} -> {href} (no anchor)")
    assert not missing, "broken internal links:\n" + "\n".join(missing)


def test_no_serious_accessibility_violations(report) -> None:
    bad = {p: [v for v in f["violations"] if v["impact"] in ("serious", "critical")]
           for p, f in report["pages"].items()}
    bad = {p: v for p, v in bad.items() if v}
    assert not bad, f"axe-core found serious or critical violations: {bad}"


def test_every_figure_has_a_text_alternative(report) -> None:
    """Alt text is words (a figure's caption), not the image's file name."""
    bad = {p: [i["src"][:60] for i in f["images"]
               if not i["alt"].strip() or i["alt"] == i["src"] or i["alt"].endswith((".png", ".svg"))]
           for p, f in report["pages"].items() if p.startswith("chapters/")}
    bad = {p: v for p, v in bad.items() if v}
    assert not bad, f"images without a text alternative: {bad}"
