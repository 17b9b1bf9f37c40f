"""CSV answers (a report's rows for a spreadsheet): one shape for every `.csv` route."""

import csv
import io
from collections.abc import Iterable, Sequence

from chalicelib.api.routing import Reply

CSV = "text/csv"


def cell(text: str) -> str:
    """Text a user wrote (a name), as a spreadsheet shows it, never as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_reply(columns: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> Reply:
    """`columns`, then `rows`, as an attachment named `filename` (CRLF lines, as RFC 4180 says); private to the
    caller (never kept by a shared cache)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return Reply(out.getvalue(), content_type=f"{CSV}; charset=utf-8",
                 headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private"})
