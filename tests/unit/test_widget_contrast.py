"""WCAG 2.2 AA contrast for the web widget's palette, read from its CSS variables.

Text needs 4.5:1 (1.4.3); borders and the focus indicator need 3:1 against what they sit on (1.4.11).
"""

import re

import pytest

from sga.settings import PROJECT_ROOT

CSS = (PROJECT_ROOT / "web" / "src" / "widget.css").read_text()
PALETTE = dict(re.findall(r"--sga-([a-z-]+):\s*(#[0-9a-fA-F]{6})\b", CSS))


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    "foreground,background,minimum",
    [
        ("text", "bg", 4.5),
        ("text", "bot-bg", 4.5),
        ("muted", "bg", 4.5),
        ("muted", "bot-bg", 4.5),
        ("user-text", "user-bg", 4.5),
        ("link", "bg", 4.5),
        ("link", "bot-bg", 4.5),
        ("text", "notice-bg", 4.5),
        ("border", "bg", 3.0),
        ("focus", "text", 3.0),
    ],
)
def test_palette_meets_wcag_aa(foreground, background, minimum):
    assert foreground in PALETTE and background in PALETTE, "the widget's colour variables were renamed"
    ratio = contrast(PALETTE[foreground], PALETTE[background])
    assert ratio >= minimum, f"{foreground} on {background}: {ratio:.2f}:1 < {minimum}:1"
