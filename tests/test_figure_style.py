"""One figure style per memory: readable, distinct without colour, and with enough contrast."""

import pytest

from kvmem.book import COLORS, STYLES, memory_style


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour such as '#0072b2'."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_on_white(hex_colour: str) -> float:
    return 1.05 / (relative_luminance(hex_colour) + 0.05)


def test_contrast_formula_on_known_pairs():
    assert contrast_on_white("#000000") == pytest.approx(21.0)
    assert contrast_on_white("#ffffff") == pytest.approx(1.0)
    assert contrast_on_white("#767676") == pytest.approx(4.54, abs=0.01)  # WCAG's classic AA grey


@pytest.mark.parametrize("key", sorted(STYLES))
def test_every_line_has_non_text_contrast_on_white(key):
    """WCAG 2.1 success criterion 1.4.11: graphical objects need 3:1 against their background."""
    assert contrast_on_white(STYLES[key]["color"]) >= 3.0, key


def test_memories_differ_without_colour():
    """A reader who cannot tell the colours apart still can: line style and marker differ."""
    shapes = [(s["ls"], s["marker"]) for s in STYLES.values()]
    assert len(set(shapes)) == len(shapes)
    assert len({s["color"] for s in STYLES.values()}) == len(STYLES)
    assert len({s["label"] for s in STYLES.values()}) == len(STYLES)


def test_memory_style_by_key_or_label():
    assert memory_style("delta") == memory_style("delta rule") == STYLES["delta"]
    assert memory_style("full cache")["label"] == "full attention"
    assert "marker" not in memory_style("cumavg", markers=False)
    assert COLORS["cumavg"] == STYLES["cumavg"]["color"]
    with pytest.raises(KeyError, match="no figure style for memory 'nonsense'"):
        memory_style("nonsense")
