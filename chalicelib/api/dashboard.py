"""The instructor dashboard: figures over time as JSON, CSV and a PNG chart; a course's learners.

Instructors only, own courses only (another instructor's course answers 404). The chart is imported
inside its view: it draws with Pillow, which only DrawingHandler carries (infra/function_layers.py).
"""

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.routing import INSTRUCTOR, ApiBlueprint, Call, Reply
from chalicelib.api.schemas import Day, EnrollmentStatus, Input, MoneyBody, Page, PageQuery, Timestamp
from chalicelib.api.spreadsheets import CSV, csv_reply
from chalicelib.domain.revenue import net_revenue
from chalicelib.services import dashboard

dashboard_api = ApiBlueprint(__name__, tag="dashboard")

PNG = "image/png"
CourseId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Granularity = StrEnum("Granularity", ["day", "week", "month"])
# A chart's figure, named as the dashboard's JSON names it (`refunds.amount`: figures.refunds.amount), and drawn
# from that JSON (services/charts.py). The default, `net_revenue`, is what the chart drew before metrics had these
# names (`net` then meant net revenue; now it is the JSON's `net`: sales before refunds).
Metric = Literal["net_revenue", "gross", "platform_fee", "net", "refunds.amount", "refunds.count", "refunds.platform_fee",
                 "refunds.net", "orders", "enrollments", "completions", "reviews", "rating.count", "questions",
                 "answered"]


class DashboardQuery(msgspec.Struct):
    first: Day | None = msgspec.field(default=None, name="from")
    last: Day | None = msgspec.field(default=None, name="to")
    course_id: CourseId | None = None
    granularity: Granularity = "day"


class ChartQuery(DashboardQuery):
    metric: Metric = "net_revenue"


class Refunds(msgspec.Struct):
    count: int
    amount: MoneyBody
    platform_fee: MoneyBody
    net: MoneyBody  # the instructor's part taken back


class PeriodRating(msgspec.Struct):
    count: int
    sum: int
    average: float | None


class Figures(msgspec.Struct):
    gross: MoneyBody
    platform_fee: MoneyBody
    net: MoneyBody
    refunds: Refunds
    net_revenue: MoneyBody  # net minus refunds' net: what the instructor's ledger received
    orders: int
    enrollments: int
    completions: int
    reviews: int
    rating: PeriodRating  # reviews written in the period, plus rating changes of edits made in it
    questions: int
    answered: int


class PeriodOut(msgspec.Struct):
    period: str
    first_day: date
    last_day: date
    figures: Figures


class DashboardOut(msgspec.Struct):
    timezone: str
    first: date = msgspec.field(name="from")
    last: date = msgspec.field(name="to")
    granularity: Granularity = "day"
    course_id: str | None = None
    currency: str = "KRW"
    totals: Figures | None = None
    series: list[PeriodOut] = msgspec.field(default_factory=list)


class TimezoneInput(Input):
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA name, e.g. Asia/Seoul")]


class TimezoneOut(msgspec.Struct):
    timezone: str


class LearnerOut(msgspec.Struct):
    enrollment_id: str
    learner_name: str
    status: EnrollmentStatus
    enrolled_at: Timestamp
    progress_percent: int
    completed_lessons: int
    completed: bool
    completed_at: Timestamp | None
    last_lesson_id: str | None


def _figures(counts: dict[str, int], currency: str) -> Figures:
    money = lambda amount: MoneyBody(amount=amount, currency=currency)  # noqa: E731
    count = counts["rating_count"]
    return Figures(
        gross=money(counts["gross"]), platform_fee=money(counts["fee"]), net=money(counts["net"]),
        refunds=Refunds(counts["refunds"], money(counts["refunded"]), money(counts["refund_fee"]),
                        money(counts["refund_net"])),
        net_revenue=money(net_revenue(counts)), orders=counts["orders"],
        enrollments=counts["enrollments"], completions=counts["completions"], reviews=counts["reviews"],
        rating=PeriodRating(count, counts["rating_sum"], round(counts["rating_sum"] / count, 2) if count else None),
        questions=counts["questions"], answered=counts["answered"],
    )


def _out(board) -> DashboardOut:
    return DashboardOut(
        timezone=board.timezone, first=board.first_day, last=board.last_day, granularity=board.granularity,
        course_id=board.course_id, currency=board.currency, totals=_figures(board.totals, board.currency),
        series=[PeriodOut(p.label, p.first_day, p.last_day, _figures(p.counts, board.currency)) for p in board.series],
    )


def _board(call: Call):
    query: DashboardQuery = call.query
    return dashboard.dashboard(call.caller, query.first, query.last, query.course_id, query.granularity)


RANGE_ERRORS = (errors.NotFound, errors.ValidationFailed)


@dashboard_api.endpoint(
    "GET", "/instructor/dashboard", policy=INSTRUCTOR, query=DashboardQuery, response=DashboardOut,
    summary="Revenue, refunds, enrollments, completions, ratings and Q&A: totals and a series by day, week or "
            "month (`from`/`to` are calendar dates in your time zone, at most 366 days; default the last 30)",
    errors=RANGE_ERRORS,
)
def get_dashboard(call: Call):
    return _out(_board(call))


CSV_COLUMNS = ("period", "first_day", "last_day", "currency", "gross", "platform_fee", "net", "refunds",
               "refunded", "refund_platform_fee", "refund_net", "net_revenue", "orders", "enrollments",
               "completions", "reviews", "rating_count", "rating_sum", "questions", "answered")


def _csv_row(label: str, first: date, last: date, currency: str, c: dict[str, int]) -> list:
    return [label, first.isoformat(), last.isoformat(), currency, c["gross"], c["fee"], c["net"], c["refunds"],
            c["refunded"], c["refund_fee"], c["refund_net"], net_revenue(c), c["orders"],
            c["enrollments"], c["completions"], c["reviews"], c["rating_count"], c["rating_sum"], c["questions"],
            c["answered"]]


@dashboard_api.endpoint(
    "GET", "/instructor/dashboard.csv", policy=INSTRUCTOR, query=DashboardQuery, content_type=CSV,
    summary="The dashboard's series as CSV (money in minor units), one row per period and a `total` row",
    errors=RANGE_ERRORS,
)
def get_dashboard_csv(call: Call):
    board = _board(call)
    rows = [_csv_row(p.label, p.first_day, p.last_day, board.currency, p.counts) for p in board.series]
    rows.append(_csv_row("total", board.first_day, board.last_day, board.currency, board.totals))
    return csv_reply(CSV_COLUMNS, rows, f"dashboard-{board.first_day}-{board.last_day}.csv")


@dashboard_api.endpoint(
    "GET", "/instructor/dashboard.png", policy=INSTRUCTOR, query=ChartQuery, content_type=PNG,
    summary="A chart of one figure of the dashboard's JSON over the range, `metric` named as the JSON names it "
            "(default `net_revenue`; `refunds.amount` is figures.refunds.amount); send `Accept: image/png`",
    errors=(*RANGE_ERRORS, errors.NotAcceptable),
)
def get_dashboard_png(call: Call):
    accept = next((value for name, value in call.headers.items() if name.lower() == "accept"), "")
    if PNG not in accept.lower() and "*/*" not in accept:
        raise errors.NotAcceptable("Send `Accept: image/png` to receive the chart",
                                   errors=[errors.FieldError("Accept", "must allow image/png")])
    from chalicelib.services import charts  # Pillow is imported on the first chart only
    return Reply(charts.render(msgspec.to_builtins(_out(_board(call))), call.query.metric), content_type=PNG,
                 headers={"Cache-Control": "private"})


@dashboard_api.endpoint(
    "PUT", "/instructor/timezone", policy=INSTRUCTOR, body=TimezoneInput, response=TimezoneOut,
    summary="The time zone your dashboard's days follow (default Asia/Seoul); counts already made keep their day",
    errors=(errors.ValidationFailed,),
)
def put_timezone(call: Call):
    return TimezoneOut(dashboard.set_timezone(call.caller, call.body.timezone))


@dashboard_api.endpoint(
    "GET", "/instructor/courses/{course_id}/enrollments", policy=INSTRUCTOR, query=PageQuery,
    response=Page[LearnerOut],
    summary="Learners of your course, newest first, with progress and completion (display names, never emails)",
    errors=(errors.NotFound,),
)
def course_enrollments(call: Call, course_id: str):
    items, next_cursor = dashboard.course_learners(call.caller, course_id, call.query.limit, call.query.cursor)
    return Page(items=[LearnerOut(i.enrollment_id, i.learner_name, i.status, i.enrolled_at, i.progress_percent,
                                  i.completed_lessons, i.completed, i.completed_at, i.last_lesson_id)
                       for i in items], next_cursor=next_cursor)
