"""`make run`'s demo data: created through the services, and safe to seed twice."""

from datetime import UTC, datetime, timedelta

from chalicelib import clock
from infra import seed
from tests.support.learning import enroll
from tests.support.money import assert_reconciled

SEATS = {title: seats for _email, title, _category, _price, _lessons, seats, _description in seed.DEMO_COURSES}


def _is_korean(text):
    return any("가" <= char <= "힣" for char in text)


def _when(rfc3339):
    return datetime.fromisoformat(rfc3339)


def _demo_instructor_ids(api):
    """The demo instructors' ids, as a client learns them: log in, ask /me."""
    emails = sorted({email for email, *_ in seed.DEMO_COURSES})
    return {email: api.get("/me", token=api.log_in(email, seed.DEMO_PASSWORD)["access_token"]).json_body["user_id"]
            for email in emails}


def _demo_courses(api, instructor_ids):
    """Every published course of the demo instructors, as their public pages list them."""
    found = []
    for instructor_id in instructor_ids:
        page = api.get(f"/instructors/{instructor_id}")
        assert page.status_code == 200, page.body
        found += page.json_body["courses"]
    return found


def _sessions_by_course(api, instructor_ids):
    """{title: {session_id: session}} for every demo course, from the public course pages."""
    sessions = {}
    for course in _demo_courses(api, instructor_ids):
        detail = api.get(f"/courses/{course['course_id']}")
        assert detail.status_code == 200, detail.body
        sessions[course["title"]] = {s["session_id"]: s for s in detail.json_body["sessions"]}
    return sessions


def test_demo_seed_lists_a_dozen_courses_by_several_instructors_in_both_languages_with_seats_to_book(api):
    seed.seed_demo()
    instructors = _demo_instructor_ids(api)
    courses = _demo_courses(api, instructors.values())
    titles = [c["title"] for c in courses]

    # about a dozen, each demo title exactly once, all on sale
    assert 10 <= len(courses) <= 15
    assert sorted(titles) == sorted(SEATS)
    assert all(c["status"] == "published" and c["price"]["amount"] > 0 for c in courses)
    # a catalog worth browsing: several instructors and categories, Korean and English titles
    assert len({c["instructor"]["instructor_id"] for c in courses}) >= 3
    assert len({c["category"] for c in courses}) >= 5
    assert sum(_is_korean(t) for t in titles) >= 3 and sum(t.isascii() for t in titles) >= 3
    for course in courses:  # each is in its category's public listing
        listed = api.get(f"/courses?category={course['category']}&sort=newest&limit=100").json_body["items"]
        assert course["course_id"] in [c["course_id"] for c in listed]
    korean = api.get("/courses?q=파이썬").json_body["items"]
    assert "파이썬으로 배우는 데이터 분석" in [c["title"] for c in korean]

    # the courses designed with live sessions have one ahead with seats left; the others have none
    now = datetime.now(UTC)
    sessions = _sessions_by_course(api, instructors.values())
    assert sum(1 for seats in SEATS.values() if seats) >= 3
    for title, seats in SEATS.items():
        ahead = [s for s in sessions[title].values() if _when(s["starts_at"]) > now and s["seats_left"] > 0]
        assert bool(ahead) == bool(seats), (title, sessions[title])
    # ... and a learner can actually book one
    course = next(c for c in courses if SEATS[c["title"]])
    session = next(s for s in sessions[course["title"]].values() if _when(s["starts_at"]) > now and s["seats_left"])
    enroll(api, api.token_for(), course["course_id"], session["session_id"])
    booked = api.get(f"/courses/{course['course_id']}").json_body["sessions"]
    assert next(s for s in booked if s["session_id"] == session["session_id"])["seats_left"] == \
        session["seats_left"] - 1

    # the logins work, with their roles
    admin = api.log_in("admin@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    assert "admin" in api.get("/me", token=admin).json_body["roles"]
    studio = api.get("/instructor/courses", token=api.log_in("instructor@classpay.test",
                                                             seed.DEMO_PASSWORD)["access_token"]).json_body["items"]
    assert sorted(c["title"] for c in studio) == sorted(t for e, t, *_ in seed.DEMO_COURSES
                                                       if e == "instructor@classpay.test")


def test_seeding_again_adds_no_course_and_no_session_until_the_demo_sessions_have_passed(api, monkeypatch):
    """`make run` seeds on every start, over the same emulator: nothing doubles. Days later every demo
    session has started, and the next start gives each course designed with sessions one new session
    ahead (once): the catalog stays bookable however old the local data is."""
    seed.seed_demo()
    instructors = _demo_instructor_ids(api)
    before = _sessions_by_course(api, instructors.values())
    seed.seed_demo()
    assert _sessions_by_course(api, instructors.values()) == before
    assert sorted(c["title"] for c in _demo_courses(api, instructors.values())) == sorted(SEATS)

    # the day after the last demo session has started
    later = max(_when(s["starts_at"]) for sessions in before.values() for s in sessions.values()) + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    seed.seed_demo()
    after = _sessions_by_course(api, instructors.values())
    for title, seats in SEATS.items():
        added = [s for session_id, s in after[title].items() if session_id not in before[title]]
        if seats:
            assert len(added) == 1, (title, added)
            assert _when(added[0]["starts_at"]) > later and added[0]["capacity"] == added[0]["seats_left"] == seats
        else:
            assert added == [] and after[title] == {}, title
    seed.seed_demo()
    assert _sessions_by_course(api, instructors.values()) == after  # and only once
    assert sorted(c["title"] for c in _demo_courses(api, instructors.values())) == sorted(SEATS)


def test_seeding_twice_funds_the_demo_learner_once(api):
    seed.seed_demo()
    seed.seed_demo()
    token = api.log_in("learner@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    assert api.get("/wallet", token=token).json_body["balance"] == {"amount": 200_000, "currency": "KRW"}
    entries = api.get("/wallet/entries", token=token).json_body["items"]
    assert [e["kind"] for e in entries] == ["topup"]


def test_demo_instructors_have_a_masked_payout_account(api):
    seed.seed_demo()
    token = api.log_in("instructor@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    account = api.get("/instructor/payout-account", token=token)
    assert account.status_code == 200 and account.json_body["account_number_masked"] == "****7891"
    profile = api.get("/instructor/tax-profile", token=token)  # so that the demo's payouts pay (withheld 3.3%)
    assert profile.status_code == 200 and profile.json_body["registration_number_masked"] == "900101-1******"


def test_the_demo_history_fills_the_instructors_dashboard_and_payouts_once_and_reconciles(api):
    """`make run`'s first start writes 90 days of sales through the services with the clock moved: the demo
    instructor's dashboard over those days has sales, refunds, completions, reviews and questions, every
    week's payout went out, and the books balance. A restart (seeding again) adds nothing."""
    seed.seed_demo()
    summary = seed.seed_history()
    assert summary.orders >= 25 and summary.checkouts > 0 and summary.refunds > 0 and summary.payouts > 0, summary
    token = api.log_in("instructor@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    today = clock.now().date()
    last_90_days = f"/instructor/dashboard?from={today - timedelta(days=89)}&to={today}&granularity=week"
    dashboard = api.get(last_90_days, token=token)
    assert dashboard.status_code == 200, dashboard.body
    totals = dashboard.json_body["totals"]
    assert totals["orders"] > 10 and totals["net_revenue"]["amount"] > 0 and totals["refunds"]["count"] > 0
    assert totals["completions"] > 0 and totals["reviews"] > 0 and totals["questions"] > 0, totals
    weeks_with_sales = [w for w in dashboard.json_body["series"] if w["figures"]["orders"]]
    assert len(weeks_with_sales) >= 8  # spread over the weeks, not one day
    paid = api.get("/instructor/payouts", token=token).json_body["items"]
    assert len(paid) >= 4 and all(p["status"] == "paid" for p in paid), paid
    assert_reconciled(api, api.admin_token())

    assert str(seed.seed_history()) == "the history is there already: left as it is"
    assert api.get(last_90_days, token=token).json_body == dashboard.json_body
