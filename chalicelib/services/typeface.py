"""The one typeface of what classpay draws (dashboard charts, certificates): Nanum Square.

Bundled in `chalicelib/fonts/` (SIL OFL) because it covers Hangul as well as Latin; Pillow
(imported here, on first use only) renders it into the chart with the FreeType it ships with, and
the certificate PDF embeds the subset of it that its text uses (`certificates.py`). Deployed, the
fonts are in the drawing function's layer (/opt/fonts), the one function that draws:
`make package` leaves them out of the code zip every function loads (infra/function_layers.py).
"""

import functools
import os

_BUNDLED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fonts")
_IN_LAYER = "/opt/fonts"  # where Lambda extracts DrawingLayer's fonts/


def font_file(bold: bool) -> str:
    """The TrueType file of Nanum Square, regular or bold."""
    fonts = _BUNDLED if os.path.isdir(_BUNDLED) else _IN_LAYER
    return os.path.join(fonts, "NanumSquareB.ttf" if bold else "NanumSquareR.ttf")


@functools.cache
def nanum(bold: bool, pixels: int):
    """Nanum Square, regular or bold, `pixels` high."""
    from PIL import ImageFont

    return ImageFont.truetype(font_file(bold), pixels)
