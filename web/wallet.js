// @ts-check
/** The wallet: its balance and a top-up (the fake gateway confirms it at once with its `payment_key`). */
import { api, MoneyAction, savedTokens } from "./api.js";
import { $, el, formatMoney, onSubmit, pageHeader, requireLogin } from "./ui.js";

await pageHeader("지갑");
if (!savedTokens()) requireLogin();
const main = $("main");
const balance = el("p", { class: "price", id: "balance" });
const refresh = async () => { balance.textContent = `잔액 ${formatMoney((await api("get", "/wallet")).balance)}`; };
const form = el("form", { id: "topup-form", "aria-label": "충전" }, [
  el("label", {}, ["충전할 금액 (원)", el("input", { name: "amount.amount", type: "number", min: 1000, step: 1000, required: true, inputmode: "numeric" })]),
  el("button", { type: "submit" }, ["충전하기"]),
]);
main.append(balance, form);
// One top-up and its confirm: pressing again after a lost answer replays them instead of charging twice.
let actions = { topup: new MoneyAction(), confirm: new MoneyAction() };
onSubmit(form, async (fields) => {
  const amount = { amount: Number(fields["amount.amount"]), currency: "KRW" };
  const topup = await actions.topup.attempt((idempotencyKey) => api("post", "/wallet/topups", { body: { amount }, idempotencyKey }));
  await actions.confirm.attempt((idempotencyKey) => api("post", "/wallet/topups/{topup_id}/confirm", {
    path: { topup_id: topup.topup_id }, body: { payment_key: topup.checkout.payment_key ?? "" }, idempotencyKey }));
  actions = { topup: new MoneyAction(), confirm: new MoneyAction() };
  form.reset();
  await refresh();
});
await refresh();
