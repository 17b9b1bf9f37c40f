// @ts-check
/**
 * The payment gateway's window, as the fake gateway of the local and test stages plays it. With Toss
 * Payments this page is Toss's payment widget (`widgets.requestPayment({orderId, orderName, customerKey,
 * successUrl, failUrl})` with the checkout's `payment`): the learner picks a method there, and Toss
 * redirects to `successUrl?paymentKey=…&orderId=…&amount=…` or `failUrl?code=…&message=…`. Here the
 * fake gateway's keys stand in: `payment_key` pays by card, `virtual_account_payment_key` issues a
 * virtual account.
 */
import { api } from "./api.js";
import { $, el, formatMoney, pageHeader, param } from "./ui.js";

const checkoutId = param("checkout");
await pageHeader("결제창 (테스트 결제대행)");
const main = $("main");
const checkout = await api("get", "/checkouts/{checkout_id}", { path: { checkout_id: checkoutId } });
const payment = checkout.payment;
if (!payment) throw new Error("nothing to pay through the gateway");

/** Redirect as the widget does on success. @param {string | null | undefined} paymentKey */
function succeed(paymentKey) {
  const success = new URL("checkout-success.html", location.href);
  success.search = new URLSearchParams({ checkout: checkoutId, paymentKey: paymentKey ?? "",
                                         orderId: payment?.order_id ?? "", amount: String(payment?.amount.amount ?? 0) }).toString();
  location.href = success.toString();
}

main.append(
  el("section", { class: "box", "aria-label": "결제 정보" }, [
    el("p", {}, [payment.order_name]),
    el("p", { class: "price", id: "amount-due" }, [`결제할 금액 ${formatMoney(payment.amount)}`]),
    el("p", { class: "muted" }, [`지갑에서 ${formatMoney(checkout.wallet_amount)} · 주문번호 ${payment.order_id}`]),
  ]),
  el("h2", {}, ["결제 수단"]),
  el("p", {}, [
    el("button", { type: "button", id: "pay-card" }, ["카드로 결제"]), " ",
    el("button", { type: "button", id: "pay-virtual-account", class: "secondary" }, ["가상계좌 발급"]), " ",
    el("a", { href: "cart.html?code=PAY_PROCESS_CANCELED&message=" + encodeURIComponent("결제를 취소했습니다") }, ["취소"]),
  ]),
);
$("#pay-card").addEventListener("click", () => succeed(payment.payment_key));
$("#pay-virtual-account").addEventListener("click", () => succeed(payment.virtual_account_payment_key));
