"""Co-instructors' revenue splits over HTTP: the owner sets a 70/30 split; sales from then on (a wallet buy and a
checkout) credit each party's pending part in the purchase's one transaction, a partial refund takes each
party's part back in proportion, settlement, payouts and statements are each party's own, and the dashboard
counts each party's part. A split changed between two sales applies to the later one only; an order sold
before any split (written as the code before splits wrote it: no `shares`) stays all the owner's. The daily
digest tells a co-instructor of their co-taught sales and refunds; their course dashboard has the course's
completions, reviews and questions beside their own part of its revenue."""

import csv
import io

import pytest

from chalicelib.services import digest
from tests.support.checkout import pay_checkout, started_checkout
from tests.support.courses import make_course
from tests.support.jobs import clock_at, later, run_scheduled
from tests.support.learning import complete_all
from tests.support.mail import mails_to
from tests.support.money import (
    admin_token,
    assert_reconciled,
    buy,
    dynamodb_calls,
    funded_learner,
    krw,
    refund,
)
from tests.support.payouts import run_payouts, set_payee, settle

SPLIT = "/instructor/courses/{}/revenue-split"


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def user_id(api, token):
    return api.get("/me", token=token).json_body["user_id"]


def put_split(api, token, course_id, *shares):
    return api.call("PUT", SPLIT.format(course_id), token=token,
                    body={"shares": [{"instructor_id": party, "bps": bps} for party, bps in shares]})


def money(api, instructor):
    body = api.get("/instructor/balance", token=instructor).json_body
    return {name: body[name]["amount"] for name in ("pending", "available", "paid_out")}


def bought(api, learner, course_id):
    response = buy(api, learner, course_id)
    assert response.status_code == 201, response.body
    return response.json_body["order_id"]


def checkout_bought(api, learner, course_id):
    """Bought by card through a checkout (the fake gateway's card key)."""
    paid = pay_checkout(api, learner, started_checkout(api, learner, [{"course_id": course_id}]))
    assert paid.status_code == 200, paid.body


def test_the_split_is_the_owners_to_set_and_names_what_is_wrong(api):
    owner, co, other = (api.token_for(roles=["instructor"]) for _ in range(3))
    owner_id, co_id = user_id(api, owner), user_id(api, co)
    learner_id = user_id(api, api.token_for())
    course_id = make_course(api, owner, amount=10_000)
    assert api.get(SPLIT.format(course_id), token=owner).json_body["shares"] == [
        {"instructor_id": owner_id, "bps": 10_000}]  # no split: all the owner's

    refused = {
        "shares": put_split(api, owner, course_id, (owner_id, 7000), (co_id, 2000)),
        "shares[1].instructor_id": put_split(api, owner, course_id, (owner_id, 7000), (learner_id, 3000)),
        "shares[1].bps": put_split(api, owner, course_id, (owner_id, 10_000), (co_id, 0)),
    }
    for field, response in refused.items():
        assert response.status_code == 422 and response.json_body["errors"][0]["field"] == field, response.body
    assert put_split(api, owner, course_id, (co_id, 10_000)).json_body["errors"][0]["message"] == (
        "the course's owner keeps a share")

    saved = put_split(api, owner, course_id, (co_id, 3000), (owner_id, 7000))
    assert saved.status_code == 200, saved.body
    assert saved.json_body["shares"] == [{"instructor_id": owner_id, "bps": 7000}, {"instructor_id": co_id, "bps": 3000}]
    assert api.get(SPLIT.format(course_id), token=co).json_body == saved.json_body  # co-instructors read it
    assert put_split(api, co, course_id, (co_id, 10_000)).status_code == 404  # only the owner changes it
    assert api.get(SPLIT.format(course_id), token=other).status_code == 404


def test_a_70_30_split_through_sales_refund_settlement_payout_and_statements(api, admin, functions, monkeypatch):
    owner, co = api.token_for(roles=["instructor"]), api.token_for(roles=["instructor"])
    owner_id, co_id = user_id(api, owner), user_id(api, co)
    for payee in (owner, co):
        set_payee(api, payee)
    learner = funded_learner(api, 20_000)
    course_id = make_course(api, owner, amount=20_000)  # fee 4,000 (VAT 364), instructor share 16,000
    before_split = bought(api, funded_learner(api, 20_000), course_id)  # written without `shares`
    assert put_split(api, owner, course_id, (owner_id, 7000), (co_id, 3000)).status_code == 200

    sold = bought(api, learner, course_id)  # 11,200 / 4,800
    checkout_bought(api, api.token_for(), course_id)  # by card: 11,200 / 4,800
    assert put_split(api, owner, course_id, (owner_id, 5000), (co_id, 5000)).status_code == 200
    checkout_bought(api, api.token_for(), course_id)  # after the change: 8,000 / 8,000
    assert money(api, owner) == {"pending": 16_000 + 11_200 * 2 + 8_000, "available": 0, "paid_out": 0}
    assert money(api, co) == {"pending": 4_800 * 2 + 8_000, "available": 0, "paid_out": 0}

    response = refund(api, admin, sold, amount=krw(10_000))  # share back 8,000: 5,600 / 2,400
    assert response.status_code == 200, response.body
    assert refund(api, admin, before_split).status_code == 200  # sold before the split: all the owner's 16,000
    assert money(api, owner) == {"pending": 46_400 - 5_600 - 16_000, "available": 0, "paid_out": 0}
    assert money(api, co) == {"pending": 17_600 - 2_400, "available": 0, "paid_out": 0}

    board = api.get(f"/instructor/dashboard?course_id={course_id}", token=co).json_body["totals"]
    assert (board["orders"], board["net"]["amount"], board["net_revenue"]["amount"]) == (3, 17_600, 15_200)
    assert api.get(f"/instructor/courses/{course_id}/enrollments", token=co).status_code == 404  # no learners
    assert api.get("/instructor/dashboard", token=owner).json_body["totals"]["net_revenue"]["amount"] == 24_800

    settle(functions, monkeypatch)
    run_payouts(functions, monkeypatch)
    assert money(api, owner) == {"pending": 0, "available": 0, "paid_out": 24_800}
    assert money(api, co) == {"pending": 0, "available": 0, "paid_out": 15_200}
    for token, settled in ((owner, [5_600, 8_000, 11_200]), (co, [2_400, 4_800, 8_000])):
        payout = api.get("/instructor/payouts", token=token).json_body["items"][0]
        lines = api.get(f"/instructor/payouts/{payout['payout_id']}", token=token).json_body["lines"]
        assert sorted(line["amount"]["amount"] for line in lines if line["kind"] == "sale") == settled
    assert_reconciled(api, admin)


def instructor_with_email(api, name):
    email, instructor_id = api.sign_up(("instructor",), name)
    return email, instructor_id, api.log_in(email)["access_token"]


def test_a_co_instructor_hears_of_their_co_taught_day_and_sees_the_courses_learning(api, admin, functions,
                                                                                     monkeypatch):
    owner_email, owner_id, owner = instructor_with_email(api, "Olga Owner")
    co_email, co_id, co = instructor_with_email(api, "Cody Co")
    pottery = make_course(api, owner, title="Co-taught Pottery", amount=20_000)  # share 16,000: 11,200 / 4,800
    glazes = make_course(api, co, title="Cody's Glazes", amount=10_000)  # the co-instructor's own: share 8,000
    assert put_split(api, owner, pottery, (owner_id, 7000), (co_id, 3000)).status_code == 200
    sold = bought(api, funded_learner(api, 20_000), pottery)
    learner = api.token_for()
    started = started_checkout(api, learner, [{"course_id": pottery}, {"course_id": glazes}])  # one entry: 4,800 + 8,000
    assert pay_checkout(api, learner, started).status_code == 200
    assert refund(api, admin, sold, amount=krw(10_000)).status_code == 200  # share back 8,000: 5,600 / 2,400
    complete_all(api, learner, pottery)
    assert api.post(f"/courses/{pottery}/reviews", {"rating": 4, "text": "Muddy fun"}, token=learner).status_code == 201
    assert api.post(f"/courses/{pottery}/questions", {"title": "Kiln?", "body": "Which one?"},
                    token=learner).status_code == 201

    with clock_at(monkeypatch, later(hours=1)):
        run_scheduled(functions, "instructor_digest")
    (co_digest,) = mails_to(co_email)
    assert co_digest.subject == "[classpay] Your day: 3 new enrollments, ₩17,600"
    for line in ("- Revenue: ₩17,600 (your share of ₩50,000 in sales)", "- Refunds: 1 (₩10,000 returned to learners)",
                 "  Co-taught Pottery: 2 new, ₩9,600", "  Cody's Glazes: 1 new, ₩8,000", "- New reviews: 0"):
        assert line in co_digest.body
    (owner_digest,) = mails_to(owner_email)  # the owner's as before: their own part
    assert owner_digest.subject == "[classpay] Your day: 2 new enrollments, ₩22,400"
    for line in ("- Revenue: ₩22,400 (your share of ₩40,000 in sales)", "- Refunds: 1 (₩10,000 returned to learners)",
                 "  Co-taught Pottery: 2 new, ₩22,400", "- New reviews: 1", "- Unanswered questions: 1 (1 new)"):
        assert line in owner_digest.body
    # Orders, ledger, courses, a course's reviews, two question counts; the co-instructor's checkout entry was
    # partly for another's course: its memo and its orders. The owner's own orders account for all of theirs.
    for instructor_id, batch_gets in ((owner_id, 0), (co_id, 2)):
        with dynamodb_calls() as calls:
            digest.day_of(instructor_id, later(hours=-23), later(hours=1))
        assert sorted(calls) == ["BatchGetItem"] * batch_gets + ["Query"] * 6

    board = api.get(f"/instructor/dashboard?course_id={pottery}", token=co).json_body["totals"]
    assert (board["orders"], board["net"]["amount"], board["net_revenue"]["amount"]) == (2, 9_600, 7_200)
    assert (board["completions"], board["reviews"], board["rating"]["sum"], board["questions"]) == (1, 1, 4, 1)
    owners = api.get(f"/instructor/dashboard?course_id={pottery}", token=owner).json_body["totals"]
    assert (owners["net_revenue"]["amount"], owners["completions"], owners["questions"]) == (24_000, 1, 1)  # all of it
    (total,) = [row for row in csv.DictReader(io.StringIO(
        api.get(f"/instructor/dashboard.csv?course_id={pottery}", token=co).body.decode())) if row["period"] == "total"]
    assert {name: int(total[name]) for name in ("net_revenue", "completions", "reviews", "questions")} == {
        "net_revenue": 7_200, "completions": 1, "reviews": 1, "questions": 1}
