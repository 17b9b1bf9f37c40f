"""The dashboard's PNG chart. matplotlib is imported here, on a container's first chart only.

Rendered with matplotlib's object API (`Figure` on the Agg canvas, no pyplot state), so
concurrent requests in one process do not share a figure.
"""

import io
import os

MONEY = {"net": ("Net revenue", lambda c: c["net"] - c["refund_net"]),
         "gross": ("Gross sales", lambda c: c["gross"]),
         "refunded": ("Refunds", lambda c: c["refunded"])}
COUNTS = ("orders", "enrollments", "completions", "reviews", "questions")
MINOR_DIGITS = {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2}
ACCENT, NEGATIVE, GRID, TEXT, MUTED = "#2f6fed", "#d64545", "#e6e8ee", "#374151", "#6b7280"
BARS_UP_TO = 62  # more periods than this are drawn as a filled line


def _values(board, metric: str) -> tuple[str, list[float], bool]:
    if metric in MONEY:
        title, pick = MONEY[metric]
        scale = 10 ** MINOR_DIGITS.get(board.currency, 2)
        return f"{title} ({board.currency})", [pick(p.counts) / scale for p in board.series], True
    if metric in COUNTS:
        return metric.capitalize(), [float(p.counts[metric]) for p in board.series], False
    raise ValueError(metric)


def render(board, metric: str = "net") -> bytes:
    os.environ.setdefault("MPLCONFIGDIR", "/tmp/matplotlib")  # Lambda's home is read-only  # noqa: S108
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    title, values, is_money = _values(board, metric)
    labels = [p.label for p in board.series]
    digits = MINOR_DIGITS.get(board.currency, 2) if is_money else 0
    figure = Figure(figsize=(9, 4), dpi=110)
    axes = figure.subplots()
    positions = list(range(len(values)))
    if len(values) <= BARS_UP_TO:
        colors = [ACCENT if v >= 0 else NEGATIVE for v in values]
        axes.bar(positions, values, color=colors, width=0.8, linewidth=0)
    else:  # a year of days: a filled line reads better than 366 hairline bars
        axes.fill_between(positions, values, step="mid", color=ACCENT, alpha=0.25, linewidth=0)
        axes.step(positions, values, where="mid", color=ACCENT, linewidth=1)
    axes.axhline(0, color="#9ca3af", linewidth=0.8)
    scope = f"course {board.course_id}" if board.course_id else "all courses"
    figure.text(0.012, 0.955, f"{title} by {board.granularity}", fontsize=13, color=TEXT, fontweight="bold",
                ha="left", va="top")
    figure.text(0.012, 0.885, f"{board.first_day} to {board.last_day} ({board.timezone}) · {scope} · "
                f"total {sum(values):,.{digits}f}", fontsize=9, color=MUTED, ha="left", va="top")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=not is_money))
    step = max(1, -(-len(labels) // 12))
    axes.set_xticks(positions[::step], labels[::step], fontsize=8,
                    rotation=0 if len(labels[::step]) <= 8 or board.granularity == "month" else 30,
                    ha="center" if len(labels[::step]) <= 8 or board.granularity == "month" else "right")
    axes.set_xlim(-0.6, max(len(values), 1) - 0.4)
    low, high = min(values, default=0), max(values, default=0)
    axes.set_ylim(min(0, low * 1.1), high * 1.1 if high > 0 else 1)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color("#9ca3af")
    axes.tick_params(colors=TEXT, length=0)
    if not any(values):
        axes.text(0.5, 0.5, "no activity in this period", transform=axes.transAxes, ha="center", color=MUTED)
    figure.tight_layout(rect=(0, 0, 1, 0.84))
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
