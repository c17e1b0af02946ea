"""The glossary (appendix/glossary.md) and the chapters' links to it.

Every glossary term is linked with the MyST role {term} from a chapter (or is allow-listed with
the reason), every {term} role in a chapter names a glossary term, a chapter links each term at
most once (at its first use), and the glossary is in alphabetical order.
"""
import html
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "appendix" / "glossary.md"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# Terms no chapter links yet, each with the reason.
ALLOW_UNLINKED: dict[str, str] = {}

TERM_ROLE = re.compile(r"\{term\}`([^`]*)`")


def glossary_entries(text: str) -> list[tuple[str, str]]:
    """(term, definition) pairs of the ```{glossary} block, in the order of the file."""
    block = re.search(r"^```\{glossary\}[^\n]*\n(.*?)^```\s*$", text, flags=re.M | re.S)
    assert block, "appendix/glossary.md has no ```{glossary} block"
    entries: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith(":"):
            continue
        if line[0].isspace():
            assert entries, f"definition line before any term: {line!r}"
            entries[-1][1].append(line.strip())
        else:
            entries.append((line.strip(), []))
    return [(term, " ".join(lines)) for term, lines in entries]


def role_target(content: str) -> str:
    """The glossary term a {term} role names: `text <term>` or `term`."""
    m = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content, flags=re.S)
    return (m.group(2) if m else content).strip()


def chapter_term_links(path: Path) -> list[str]:
    """The targets of every {term} role in a chapter's Markdown cells, in order."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [role_target(m.group(1))
            for cell in nb["cells"] if cell["cell_type"] == "markdown"
            for m in TERM_ROLE.finditer("".join(cell["source"]))]


@pytest.fixture(scope="module")
def entries() -> list[tuple[str, str]]:
    return glossary_entries(GLOSSARY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def terms(entries) -> dict[str, str]:
    """Glossary terms by their lower-case form (Sphinx matches {term} case-insensitively)."""
    return {term.lower(): term for term, _ in entries}


@pytest.fixture(scope="module")
def links() -> dict[str, list[str]]:
    return {path.name: chapter_term_links(path) for path in CHAPTERS}


def test_parser_reads_the_glossary_and_the_roles() -> None:
    parsed = glossary_entries("```{glossary}\nb term\n  Def of b\n  more.\n\na term\n  Def of a.\n```\n")
    assert parsed == [("b term", "Def of b more."), ("a term", "Def of a.")]
    assert role_target("moving averages <moving average>") == "moving average"
    assert role_target("KV cache") == "KV cache"


def test_glossary_has_its_terms(entries, terms) -> None:
    assert len(entries) >= 50
    assert len(terms) == len(entries), "a term is defined twice"
    for term, definition in entries:
        assert definition, f"{term!r} has no definition"
        assert re.search(r"chapters? \d", definition), f"{term!r} does not name its chapter"


def test_glossary_is_alphabetical(entries) -> None:
    order = [term for term, _ in entries]
    assert order == sorted(order, key=str.casefold)


def test_glossary_links_to_the_index() -> None:
    assert "{ref}`genindex`" in GLOSSARY.read_text(encoding="utf-8")


def test_every_term_role_names_a_glossary_term(links, terms) -> None:
    unknown = {(name, target) for name, targets in links.items() for target in targets
               if target.lower() not in terms}
    assert not unknown, f"{{term}} roles that name no glossary term: {sorted(unknown)}"


def test_a_chapter_links_each_term_once(links) -> None:
    for name, targets in links.items():
        lowered = [t.lower() for t in targets]
        twice = sorted({t for t in lowered if lowered.count(t) > 1})
        assert not twice, f"{name} links {twice} more than once (only the first use is linked)"


def test_every_term_is_linked_from_a_chapter(links, terms) -> None:
    linked = {t.lower() for targets in links.values() for t in targets}
    missing = sorted(term for key, term in terms.items()
                     if key not in linked and term not in ALLOW_UNLINKED)
    assert not missing, f"glossary terms no chapter links: {missing}"


def test_allow_list_is_current(links, terms) -> None:
    linked = {t.lower() for targets in links.values() for t in targets}
    for term, reason in ALLOW_UNLINKED.items():
        assert reason
        assert term.lower() in terms, f"allow-listed {term!r} is not in the glossary"
        assert term.lower() not in linked, f"{term!r} is now linked: remove it from ALLOW_UNLINKED"


# Every memory the book defines, with the page where the index sends the reader: the chapter
# that defines it.
MEMORIES = {
    "KV cache (full attention)": "chapters/01_why_memory",
    "sliding window": "chapters/01_why_memory",
    "moving average": "chapters/02_cumulative_average",
    "weighted moving average": "chapters/02_cumulative_average",
    "cumulative average": "chapters/02_cumulative_average",
    "hybrid summary + window": "chapters/02_cumulative_average",
    "exponential moving average": "chapters/04_forgetting",
    "FIFO memory": "chapters/05_segments",
    "compressive memory": "chapters/05_segments",
    "kNN memory": "chapters/05_segments",
    "linear attention": "chapters/06_neural_memory",
    "delta rule": "chapters/06_neural_memory",
    "MLP memory": "chapters/06_neural_memory",
    "RNN memory": "chapters/06_neural_memory",
    "Infini-attention": "chapters/06_neural_memory",
    "gated linear memory": "chapters/07_recurrence",
    "gated delta rule": "chapters/07_recurrence",
    "attention sinks + window": "chapters/08_choosing",
    "H2O (heavy hitters)": "chapters/08_choosing",
    "quantised KV cache": "chapters/08_choosing",
}


def test_built_chapters_link_to_the_glossary_entries(built_book, links) -> None:
    """Each {term} role became a link to an entry that exists on the glossary page."""
    glossary_ids = set(re.findall(r'\sid="([^"]+)"',
                                  (built_book / "appendix" / "glossary.html").read_text(encoding="utf-8")))
    for path in CHAPTERS:
        page = (built_book / "chapters" / path.with_suffix(".html").name).read_text(encoding="utf-8")
        anchors = re.findall(r'href="\.\./appendix/glossary\.html#(term-[^"]+)"', page)
        assert len(anchors) == len(links[path.name]), path.name
        assert set(anchors) <= glossary_ids, f"{path.name}: {set(anchors) - glossary_ids}"


def test_index_lists_every_memory(built_book) -> None:
    genindex = (built_book / "genindex.html").read_text(encoding="utf-8")
    assert 'href="../genindex.html"' in (built_book / "appendix" / "glossary.html").read_text(encoding="utf-8")
    block = re.search(r"^\s*memories\s*<ul>(.*?)</ul>", genindex, flags=re.M | re.S)
    assert block, "the index has no 'memories' entry"
    listed = dict((html.unescape(name).strip(), href) for href, name in
                  re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(1)))
    for memory, page in MEMORIES.items():
        assert memory in listed, f"the index lists no memory {memory!r}"
        assert listed[memory].startswith(page + ".html#index-"), (memory, listed[memory])
