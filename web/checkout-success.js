// @ts-check
/**
 * The gateway's success redirect (`?paymentKey&orderId&amount`, plus our `checkout`): confirm the
 * checkout with what the gateway says was paid. Paid: the orders. A virtual account: where to deposit,
 * and this page turns paid when the deposit lands (polling `GET /checkouts/{id}`). The confirm's
 * idempotency key is kept for the tab, so a reload replays the confirm instead of sending another.
 */
import { api, newIdempotencyKey } from "./api.js";
import { keepCart } from "./courses.js";
import { $, el, formatMoney, formatTime, pageHeader, param, showProblem } from "./ui.js";

/** @typedef {import("./api.js").Schemas["CheckoutOut"]} Checkout */

const POLL_MILLISECONDS = 2000;
const checkoutId = param("checkout");
const query = new URLSearchParams(location.search);
await pageHeader("결제 확인");
const main = $("main");
const status = el("section", { id: "checkout-status", "aria-live": "polite" });
main.append(status);

/** @param {Checkout} checkout */
function show(checkout) {
  if (checkout.status === "paid") {
    keepCart([]);
    status.replaceChildren(
      el("p", { class: "notice", role: "status", id: "paid" }, ["결제가 완료되었습니다."]),
      el("ul", {}, checkout.orders.map((order) => el("li", {}, [`${order.course_title} — ${formatMoney(order.total)}`]))),
      el("p", {}, [el("a", { href: "learning.html" }, ["내 학습으로 가기"])]),
    );
  } else if (checkout.status === "awaiting_deposit" && checkout.virtual_account) {
    const account = checkout.virtual_account;
    status.replaceChildren(
      el("p", { class: "notice", role: "status", id: "awaiting-deposit" }, ["가상계좌가 발급되었습니다. 입금하시면 이 화면이 바뀝니다."]),
      el("dl", { class: "box" }, [
        el("dt", {}, ["은행"]), el("dd", { id: "bank" }, [account.bank]),
        el("dt", {}, ["계좌번호"]), el("dd", { id: "account-number" }, [account.account_number]),
        el("dt", {}, ["입금할 금액"]), el("dd", {}, [formatMoney(checkout.amount_due)]),
        el("dt", {}, ["입금 기한"]), el("dd", {}, [formatTime(account.due_date)]),
      ]),
    );
    setTimeout(poll, POLL_MILLISECONDS);
  } else {
    status.replaceChildren(el("p", { class: "problem", role: "alert" },
      [`결제되지 않았습니다 (${checkout.status}). ${checkout.cancel_reason ?? checkout.failure_reason ?? ""}`]));
  }
}

async function poll() {
  try {
    show(await api("get", "/checkouts/{checkout_id}", { path: { checkout_id: checkoutId } }));
  } catch {
    setTimeout(poll, POLL_MILLISECONDS * 2); // offline for a moment: try again later
  }
}

const keyName = `classpay.confirm.${checkoutId}`;
const idempotencyKey = sessionStorage.getItem(keyName) ?? newIdempotencyKey();
sessionStorage.setItem(keyName, idempotencyKey);
try {
  const paymentKey = query.get("paymentKey");
  const checkout = await api("post", "/checkouts/{checkout_id}/confirm", {
    path: { checkout_id: checkoutId }, idempotencyKey,
    body: { payment_key: paymentKey || null, amount: { amount: Number(query.get("amount") ?? 0), currency: "KRW" } },
  });
  show(checkout);
} catch (error) {
  showProblem(status, error);
}
