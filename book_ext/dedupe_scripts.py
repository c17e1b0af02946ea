"""Sphinx extension: link each script only once per page.

sphinx-thebe registers its configuration script every time Sphinx emits
`env-before-read-docs`, which Jupyter Book does more than once per build; the second copy
redeclares a `const` and the browser console shows an error on every page.
"""


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        # An inline script's filename is None or "" depending on who added it.
        key = (getattr(script, "filename", script) or "", getattr(script, "attributes", {}).get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
