// @ts-check
/**
 * The cart and its checkout: part of it from the wallet, a coupon, then the payment gateway's window
 * (pay.html) for the rest. `POST /checkouts` holds the seats and the wallet part until paid or expired.
 */
import { api, MoneyAction, savedTokens } from "./api.js";
import { cartLines, keepCart } from "./courses.js";
import { $, el, formatMoney, onSubmit, pageHeader, requireLogin } from "./ui.js";

const profile = await pageHeader("장바구니");
const main = $("main");
const lines = cartLines();
// the gateway's fail redirect (`failUrl?code=…&message=…`): the cart is kept, the checkout expires unpaid
const failure = new URLSearchParams(location.search).get("message");
if (failure) main.append(el("p", { class: "problem", role: "alert" }, [`결제하지 않았습니다: ${failure}`]));

function render() {
  const table = el("table", { id: "cart" }, [
    el("thead", {}, [el("tr", {}, [el("th", {}, ["강의"]), el("th", { class: "money" }, ["가격"]), el("th", {}, [el("span", { class: "muted" }, ["빼기"])])])]),
    el("tbody", {}, cartLines().map((line) => el("tr", {}, [
      el("td", {}, [el("a", { href: `course.html?id=${encodeURIComponent(line.course_id)}` }, [line.title]),
        line.session_id ? " (라이브 세션 포함)" : ""]),
      el("td", { class: "money" }, [formatMoney(line.price)]),
      el("td", {}, [el("button", { type: "button", class: "secondary", "data-remove": line.course_id,
                                   "aria-label": `${line.title} 빼기` }, ["빼기"])]),
    ]))),
  ]);
  table.querySelectorAll("[data-remove]").forEach((button) => button.addEventListener("click", () => {
    keepCart(cartLines().filter((l) => l.course_id !== button.getAttribute("data-remove")));
    location.reload();
  }));
  return table;
}

if (!lines.length) {
  main.append(el("p", {}, ["장바구니가 비어 있습니다. ", el("a", { href: "index.html" }, ["강의 찾기"])]));
} else {
  const total = lines.reduce((sum, line) => sum + line.price.amount, 0);
  main.append(render(), el("p", { class: "price", id: "cart-total" }, [`합계 ${formatMoney({ amount: total, currency: "KRW" })}`]));
  if (!profile?.roles.includes("learner")) {
    main.append(el("p", {}, [el("a", { href: "login.html?next=cart.html" }, ["로그인하고 결제하기"])]));
  } else {
    const wallet = await api("get", "/wallet");
    const form = el("form", { id: "checkout-form", "aria-label": "결제" }, [
      el("p", {}, [`지갑 잔액 ${formatMoney(wallet.balance)}`]),
      el("label", {}, ["지갑에서 쓸 금액 (원)", el("input", { name: "wallet_amount.amount", type: "number", min: 0, step: 1,
        max: Math.min(wallet.balance.amount, total), value: 0, inputmode: "numeric" })]),
      el("label", {}, ["쿠폰 코드", el("input", { name: "coupon_code", autocomplete: "off" })]),
      el("button", { type: "submit" }, ["결제하기"]),
    ]);
    main.append(form);
    // One checkout for this cart: pressing again after a lost answer replays the same checkout.
    const checkoutAction = new MoneyAction();
    onSubmit(form, async (fields) => {
      if (!savedTokens()) return requireLogin();
      const walletPart = Number(fields["wallet_amount.amount"] || 0);
      const checkout = await checkoutAction.attempt((idempotencyKey) => api("post", "/checkouts", {
        idempotencyKey,
        body: {
          items: lines.map((line) => ({ course_id: line.course_id, session_id: line.session_id })),
          coupon_code: String(fields.coupon_code || "") || null,
          wallet_amount: walletPart ? { amount: walletPart, currency: "KRW" } : null,
        },
      }));
      // Nothing due (wallet and coupons cover it): confirmed without the gateway, on the success page.
      location.href = checkout.payment
        ? `pay.html?checkout=${encodeURIComponent(checkout.checkout_id)}`
        : `checkout-success.html?checkout=${encodeURIComponent(checkout.checkout_id)}&amount=0`;
    });
  }
}
