// @ts-check
/** My orders (receipts) and, per order, the refund quote the law allows and the refund itself. */
import { api, MoneyAction, savedTokens } from "./api.js";
import { $, el, formatMoney, formatTime, onSubmit, pageHeader, requireLogin } from "./ui.js";

/** @typedef {import("./api.js").Schemas["OrderOut"]} Order */

await pageHeader("주문");
if (!savedTokens()) requireLogin();
const main = $("main");
const orders = await api("get", "/orders", { query: { limit: 50 } });

/** @param {Order} order */
function row(order) {
  const section = el("section", { class: "box", id: `order-${order.order_id}`, "aria-label": order.course_title }, [
    el("h2", {}, [order.course_title]),
    el("p", {}, [`${formatTime(order.created_at)} · ${formatMoney(order.total)}`,
      order.discount.amount ? ` (할인 ${formatMoney(order.discount)})` : "",
      ` · ${order.status === "refunded" ? "환불됨" : "결제 완료"}`,
      order.refunded.amount ? ` · 환불 ${formatMoney(order.refunded)}` : ""]),
  ]);
  if (order.status === "paid") {
    const quote = el("button", { type: "button", class: "secondary", "data-quote": order.order_id }, ["환불 금액 확인"]);
    section.append(quote);
    quote.addEventListener("click", async () => {
      quote.remove();
      const offer = await api("get", "/orders/{order_id}/refund-quote", { path: { order_id: order.order_id } });
      section.append(el("p", { class: "quote" }, [`${offer.basis} — 환불 가능 ${formatMoney(offer.refundable)}`, offer.reason ? ` (${offer.reason})` : ""]));
      if (!offer.allowed) return;
      const form = el("form", { class: "refund-form", "aria-label": `${order.course_title} 환불` }, [
        el("label", {}, ["환불 사유", el("input", { name: "reason", required: true })]),
        // a virtual-account payment is refunded to a bank account (the API names `refund_account` when it needs one)
        el("fieldset", {}, [el("legend", {}, ["환불 계좌 (가상계좌로 결제한 경우)"]),
          el("label", {}, ["은행 코드", el("input", { name: "refund_account.bank_code", inputmode: "numeric" })]),
          el("label", {}, ["계좌번호", el("input", { name: "refund_account.account_number", inputmode: "numeric", autocomplete: "off" })]),
          el("label", {}, ["예금주", el("input", { name: "refund_account.holder_name" })])]),
        el("button", { type: "submit" }, [`${formatMoney(offer.refundable)} 환불하기`]),
      ]);
      section.append(form);
      const refund = new MoneyAction(); // this refund, however often the button is pressed
      onSubmit(form, async (fields) => {
        const refunded = await refund.attempt((idempotencyKey) => api("post", "/orders/{order_id}/refund", { path: { order_id: order.order_id },
          idempotencyKey, body: { reason: String(fields.reason), amount: null, refund_account: fields["refund_account.account_number"]
            ? { bank_code: String(fields["refund_account.bank_code"]), account_number: String(fields["refund_account.account_number"]),
                holder_name: String(fields["refund_account.holder_name"]) }
            : null } }));
        section.replaceWith(row(refunded));
      });
    });
  }
  return section;
}

main.append(...orders.items.map(row));
if (!orders.items.length) main.append(el("p", {}, ["주문이 없습니다."]));
