// @ts-check
/** My orders (receipts) and, per order, the refund quote the law allows and the refund itself. */
import { api, newIdempotencyKey, savedTokens } from "./api.js";
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
        el("button", { type: "submit" }, [`${formatMoney(offer.refundable)} 환불하기`]),
      ]);
      section.append(form);
      const idempotencyKey = newIdempotencyKey(); // this refund, however often the button is pressed
      onSubmit(form, async (fields) => {
        const refunded = await api("post", "/orders/{order_id}/refund", { path: { order_id: order.order_id },
          idempotencyKey, body: { reason: String(fields.reason), amount: null } });
        section.replaceWith(row(refunded));
      });
    });
  }
  return section;
}

main.append(...orders.items.map(row));
if (!orders.items.length) main.append(el("p", {}, ["주문이 없습니다."]));
