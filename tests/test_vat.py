"""VAT in the platform's fee over HTTP: each purchase and refund transfer splits the fee into platform revenue
and VAT payable (1/11), the refunds of an order give back exactly its VAT, and an order sold before VAT was
recorded refunds revenue only, as its purchase posted."""

import pytest

from chalicelib.services.ledger import Account, AccountKind
from chalicelib.store.ledger import LedgerTransferItem
from chalicelib.store.orders import OrderItem
from tests.support.courses import make_course
from tests.support.money import admin_token, assert_reconciled, buy, funded_learner, krw, refund


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def fee_legs(transfer_id):
    """A transfer's legs on platform revenue and VAT payable, by kind."""
    item = LedgerTransferItem.get(transfer_id, consistent_read=True)
    legs = {}
    for leg in item.legs:
        kind = Account.parse(leg.account_id).kind
        if kind in (AccountKind.PLATFORM_REVENUE, AccountKind.VAT_PAYABLE):
            legs[str(kind)] = int(leg.amount)
    return legs


def refunded(api, admin, order_id, amount=None):
    response = refund(api, admin, order_id, **({"amount": krw(amount)} if amount else {}))
    assert response.status_code == 200, response.body
    return response.json_body


def test_purchases_and_refunds_split_the_fee_into_revenue_and_vat_and_old_orders_refund_revenue_only(
        api, admin, monkeypatch):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=11_000)  # fee 2,200: 2,000 revenue and 200 VAT
    order_id = buy(api, funded_learner(api, 11_000), course_id).json_body["order_id"]
    assert fee_legs(f"order:{order_id}") == {"platform_revenue": 2_000, "vat_payable": 200}
    refunded(api, admin, order_id, 3_333)  # fee part 667 (of 2,200 over 11,000), VAT 61 of it
    assert fee_legs(f"refund:{order_id}") == {"platform_revenue": -606, "vat_payable": -61}
    refunded(api, admin, order_id)  # the rest: exactly what is left of each
    assert fee_legs(f"refund:{order_id}:2") == {"platform_revenue": -1_394, "vat_payable": -139}

    monkeypatch.setenv("VAT_RATE_BPS", "0")  # sold as before VAT: the whole fee to revenue
    old_id = buy(api, funded_learner(api, 11_000), course_id).json_body["order_id"]
    OrderItem(old_id).update(actions=[OrderItem.vat.remove()])  # and its item written without `vat`
    monkeypatch.delenv("VAT_RATE_BPS")
    assert fee_legs(f"order:{old_id}") == {"platform_revenue": 2_200}
    refunded(api, admin, old_id, 5_500)
    refunded(api, admin, old_id)
    assert fee_legs(f"refund:{old_id}") == {"platform_revenue": -1_100}
    assert fee_legs(f"refund:{old_id}:2") == {"platform_revenue": -1_100}
    assert_reconciled(api, admin)  # VAT payable is the orders' VAT parts, the old order's none
