"""The dashboard's PNG chart, drawn with Pillow (imported here, on a container's first chart only).

Why not matplotlib: with numpy it adds ~50 MB unzipped to the Lambda package (over the
50 MB zipped upload limit with the rest of classpay), and `chalice package` cannot fetch
current numpy wheels for Lambda. Pillow also draws the certificates, and the
bundled Nanum Square fonts (`typeface.py`) render Hangul course titles too. The chart is drawn at twice
its size and scaled down, which anti-aliases lines and text.
"""

import io
import math

from chalicelib.money import format_amount, in_major_units, minor_digits
from chalicelib.services.typeface import nanum

# What a chart of a figure is titled; any other figure by its name ("rating.count": "Rating count").
TITLES = {"net_revenue": "Net revenue", "gross": "Gross sales", "platform_fee": "Platform fees",
          "net": "Net sales (before refunds)", "refunds.amount": "Refunds", "refunds.count": "Refund count",
          "refunds.net": "Net refunded", "refunds.platform_fee": "Platform fees refunded"}
ACCENT, ACCENT_FILL, NEGATIVE = (47, 111, 237), (203, 219, 252), (214, 69, 69)
GRID, AXIS, TEXT, MUTED, WHITE = (230, 232, 238), (156, 163, 175), (55, 65, 81), (107, 114, 128), (255, 255, 255)
BARS_UP_TO = 62  # more periods than this are drawn as a filled line
WIDTH, HEIGHT, SCALE = 900, 400, 2
LEFT, RIGHT, TOP, BOTTOM = 90, 24, 78, 52  # plot margins, in output pixels


def _font(bold: bool, size: int):
    return nanum(bold, size * SCALE)


def _figure(figures: dict, metric: str):
    """The field of a dashboard's `figures` a metric names: `net` is figures["net"], `refunds.amount`
    figures["refunds"]["amount"]; a money figure is an {amount, currency} object, a count an int."""
    for name in metric.split("."):
        figures = figures[name]
    return figures


def values(dashboard: dict, metric: str) -> tuple[str, list[float], float, str]:
    """The chart of `metric` over `dashboard` (the dashboard as its JSON answer has it): its title, the value of
    each period (money in major units), the finest step its axis marks, and the total (the JSON's `totals`)."""
    title = TITLES.get(metric, metric.replace(".", " ").replace("_", " ").capitalize())
    figures = [_figure(period["figures"], metric) for period in dashboard["series"]]
    total = _figure(dashboard["totals"], metric)
    if isinstance(total, dict):
        currency = dashboard["currency"]
        return (f"{title} ({currency})", [in_major_units(f["amount"], currency) for f in figures],
                10.0 ** -minor_digits(currency), format_amount(total["amount"], currency))
    return title, list(figures), 1.0, f"{total:,}"  # counts (orders, reviews), whole numbers


def nice_ticks(low: float, high: float, count: int = 5, smallest: float = 0.0) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 times a power of ten), no step finer
    than `smallest` (a figure in won or in enrollments has no fractions to mark)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = max(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), smallest)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [n * step for n in range(first, last + 1)]


def render(dashboard: dict, metric: str) -> bytes:
    """A PNG chart of one figure of `dashboard` (its JSON answer, as builtins) per period: the JSON's numbers."""
    from PIL import Image, ImageDraw

    s = SCALE
    title, plotted, finest_step, total = values(dashboard, metric)
    labels = [p["period"] for p in dashboard["series"]]
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), WHITE)
    draw = ImageDraw.Draw(image)
    scope = f"course {dashboard['course_id']}" if dashboard["course_id"] else "all courses"
    draw.text((16 * s, 14 * s), f"{title} by {dashboard['granularity']}", font=_font(True, 18), fill=TEXT)
    draw.text((16 * s, 42 * s), f"{dashboard['from']} to {dashboard['to']} ({dashboard['timezone']}) · {scope} · "
              f"total {total}", font=_font(False, 12), fill=MUTED)

    x0, x1, y0, y1 = LEFT * s, (WIDTH - RIGHT) * s, TOP * s, (HEIGHT - BOTTOM) * s
    ticks = nice_ticks(min(plotted, default=0), max(plotted, default=0), smallest=finest_step)
    low, high = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return y1 - (value - low) / (high - low) * (y1 - y0)

    for tick in ticks:
        y = y_of(tick)
        draw.line([(x0, y), (x1, y)], fill=GRID, width=s)
        draw.text((x0 - 10 * s, y), f"{tick:,.0f}" if tick == int(tick) else f"{tick:,.1f}", font=_font(False, 11),
                  fill=TEXT, anchor="rm")

    n = max(len(plotted), 1)
    slot = (x1 - x0) / n
    zero = y_of(0)
    if len(plotted) <= BARS_UP_TO:
        for i, value in enumerate(plotted):
            if value:
                left, right = x0 + slot * (i + 0.1), x0 + slot * (i + 0.9)
                top, bottom = sorted((y_of(value), zero))
                draw.rectangle([(left, top), (right, bottom)], fill=ACCENT if value > 0 else NEGATIVE)
    else:  # a year of days: a filled step line reads better than 366 hairline bars
        outline = []
        for i, value in enumerate(plotted):
            outline += [(x0 + slot * i, y_of(value)), (x0 + slot * (i + 1), y_of(value))]
        draw.polygon([(x0, zero), *outline, (x1, zero)], fill=ACCENT_FILL)
        draw.line(outline, fill=ACCENT, width=s)
    draw.line([(x0, zero), (x1, zero)], fill=AXIS, width=s)

    every = max(1, math.ceil(len(labels) / 12))
    for i in range(0, len(labels), every):
        draw.text((x0 + slot * (i + 0.5), y1 + 10 * s), labels[i], font=_font(False, 11), fill=TEXT, anchor="mt")
    if not any(plotted):
        draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "no activity in this period", font=_font(False, 13), fill=MUTED,
                  anchor="mm")

    out = io.BytesIO()
    image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()
