"""The look every frame shares: colours, fonts, sizes, and how labels and numbers are shown."""

from __future__ import annotations

_HIGHLIGHT = "#ff7f00"  # the orange of viz's highlight
_EDGE = "#404040"
_FINAL = "#202020"
_MONO = "DejaVu Sans Mono"  # ships with matplotlib, so text widths are known: 0.602 em per character
_CHAR = 0.602
_VALUE_FONT = 14.0  # graph points (1/72 inch in dot's layout)
_OP_FONT = 11.0
_NAME_CHARS = 16  # longer names are cut with an ellipsis in the box (the caption has them whole)
_MAX_SCALE = 2.0  # a tiny graph is enlarged at most this much
_MIN_TEXT_PX = 6.0  # below this the boxes carry colour only
_OVERVIEW = 0.2  # share of the width for the overview when the view follows the steps
_LEGIBLE_SCALE = 0.85  # a graph that fits only smaller than this is followed step by step at this scale
_DPI = 100
_PAD = 6.0  # pixels around the graph, so outlines at its border are not cut
_KEY = "orange: the current step's edge, its value and the child it updates; black border: grad is final"
_HOLD_FIRST, _HOLD_LAST = 2, 3  # the first and last frames stay up this many frame times


def _short(x: float) -> str:
    text = f"{x:.6g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def _printable(text: str) -> str:
    """Labels are data: control characters are shown as ``?``, never interpreted."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _text_colour(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "black"
