"""The demo seed funds the demo learner's wallet through real top-ups, once however often it runs."""

from infra import seed


def test_seeding_twice_funds_the_demo_learner_once(api):
    seed.seed_demo()
    seed.seed_demo()
    token = api.log_in("learner@classpay.test", seed.DEMO_PASSWORD)["access_token"]
    assert api.get("/wallet", token=token).json_body["balance"] == {"amount": 200_000, "currency": "KRW"}
    entries = api.get("/wallet/entries", token=token).json_body["items"]
    assert [e["kind"] for e in entries] == ["topup"]
