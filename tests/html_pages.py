"""Reading what export_steps_html writes: its data and Viz.js are gzipped, in base64."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any


def unpacked(page: str, block: str) -> str:
    """The text of one of the page's gzipped, base64 <script> blocks (``al-data``, ``al-viz``)."""
    pattern = rf'<script type="application/gzip\+base64" id="{block}">([A-Za-z0-9+/=]*)</script>'
    found = re.search(pattern, page)
    assert found is not None, f"no {block} block of base64 in the page"
    return gzip.decompress(base64.b64decode(found.group(1))).decode("utf-8")


def page_data(page: str) -> dict[str, Any]:
    """The walkthrough data the page holds."""
    data: dict[str, Any] = json.loads(unpacked(page, "al-data"))
    return data
