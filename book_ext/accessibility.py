"""Sphinx extension: text alternatives for figures, and fixes for what axe-core finds in the theme.

- A figure's image gets its caption as `alt` text (MyST-NB leaves the image's file path there,
  which a screen reader reads aloud as a hash).
- After the build, patterns the theme writes into every page are repaired: the search and
  colour-mode buttons and the code-cell toggles have names that leave out their visible text
  (axe's label-content-name-mismatch), the sidebar's expand toggles are `<summary>` elements
  with an icon and no name (summary-name), and bibliography entries carry the deprecated role
  `doc-biblioentry` inside a `role="list"` (aria-required-children).
- Links inside theorem boxes get a darker blue (`book_ext/static/accessibility.css`): the theme's
  #176de8 on the box's #ecf3ff is 4.3:1, below WCAG AA's 4.5:1.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

THEME_FIXES = [
    (re.compile(r'(<button class="btn search-button-field search-button__button[^"]*"[^>]*?) aria-label="Search"'),
     r"\1"),
    (re.compile(r'<summary>(<span class="toctree-toggle" role="presentation">)'),
     r'<summary aria-label="Show or hide the pages of this part">\1'),
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
    # The colour-mode button is named "Color mode"; its icons' titles ("Light", "Dark") would
    # count as visible text that the name leaves out. The icons are decorative.
    (re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"></i>'),
     r'\1 aria-hidden="true"></i>'),
    # A collapsed code cell's toggle shows "Show code cell source": let that text name it.
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
]


def plain_text(caption: str) -> str:
    """A caption's text with its TeX spelled plainly: "\\mathrm{Mem}_i" reads "Mem_i"."""
    text = re.sub(r"\\(?:mathrm|text|operatorname|mathbf|mathit)\{([^{}]*)\}", r"\1", caption)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def caption_as_alt(app, doctree, docname) -> None:
    """Give every image inside a captioned figure the caption's text as its alt text."""
    for figure in doctree.findall(nodes.figure):
        captions = [child for child in figure.children if isinstance(child, nodes.caption)]
        if not captions:
            continue
        text = plain_text(captions[0].astext())
        for image in figure.findall(nodes.image):
            if not image.get("alt") or image.get("alt") == image.get("uri"):
                image["alt"] = text


def repair_theme_html(app, exception) -> None:
    """Rewrite the theme's inaccessible patterns in every written HTML page."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text
        for pattern, replacement in THEME_FIXES:
            fixed = pattern.sub(replacement, fixed)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def add_stylesheet(app) -> None:
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))
    app.add_css_file("accessibility.css")


def setup(app):
    app.connect("builder-inited", add_stylesheet)
    app.connect("doctree-resolved", caption_as_alt)
    app.connect("build-finished", repair_theme_html)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
