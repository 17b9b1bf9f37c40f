"""`make run`'s demo data: created through the services, and safe to seed twice."""

from infra import seed


def test_demo_seed_creates_logins_and_a_dozen_listed_courses_once(api):
    seed.seed_demo()
    seed.seed_demo()
    tokens = api.log_in("instructor@classpay.test", seed.DEMO_PASSWORD)
    mine = api.get("/instructor/courses", token=tokens["access_token"]).json_body["items"]
    assert len(mine) == 4 and all(c["status"] == "published" for c in mine)
    admin = api.log_in("admin@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    assert "admin" in api.get("/me", token=admin).json_body["roles"]
    korean = api.get("/courses?q=파이썬").json_body["items"]
    assert "파이썬으로 배우는 데이터 분석" in [c["title"] for c in korean]


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
