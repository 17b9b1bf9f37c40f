"""The one typeface of what classpay draws (dashboard charts, certificates): Nanum Square.

Bundled in `chalicelib/fonts/` (SIL OFL) because it covers Hangul as well as Latin; Pillow
(imported here, on first use only) renders it with the FreeType it ships with.
"""

import functools
import os

FONTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fonts")


@functools.cache
def nanum(bold: bool, pixels: int):
    """Nanum Square, regular or bold, `pixels` high."""
    from PIL import ImageFont

    return ImageFont.truetype(os.path.join(FONTS, "NanumSquareB.ttf" if bold else "NanumSquareR.ttf"), pixels)
