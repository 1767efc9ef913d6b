"""The user's line: the innermost stack frame outside autograd_lite.

Messages that point at the user's code (compile's guards and retrace
warnings, ``detect_anomaly()``) find it here, one way.
"""

from __future__ import annotations

import os
import sys
from types import FrameType

PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frame(skip: int = 1) -> tuple[FrameType | None, int]:
    """The innermost frame outside autograd_lite, and its ``stacklevel`` for ``warnings.warn``.

    ``skip`` frames above this function's caller's are passed over first
    (1: start at the caller's caller). The frame is None when every frame is
    autograd_lite's own.
    """
    frame: FrameType | None = sys._getframe(skip + 1)
    level = skip + 1
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        frame, level = frame.f_back, level + 1
    return frame, level
