// @ts-check
/** Payouts: my balance, the bank account payouts go to (its number shown masked), payouts and their statements. */
import { api, savedTokens } from "../api.js";
import { $, el, formatMoney, formatTime, onSubmit, pageHeader, requireLogin } from "../ui.js";

/** @typedef {import("../api.js").Schemas["PayoutOut"]} Payout */

const STATUS = { in_transit: "송금 중", paid: "지급 완료", failed: "실패", held: "보류" };
await pageHeader("정산");
if (!savedTokens()) requireLogin();
const main = $("main");
const balance = await api("get", "/instructor/balance");
main.append(el("table", { id: "balance" }, [el("tbody", {}, [
  ["정산 대기", balance.pending], ["지급 가능", balance.available], ["송금 중", balance.in_transit],
  ["지급 완료", balance.paid_out], ["환수 예정", balance.owed],
].map(([label, money]) => el("tr", {}, [el("th", {}, [String(label)]), el("td", { class: "money" }, [formatMoney(/** @type {import("../api.js").Schemas["MoneyBody"]} */ (money))])])))]));

const account = await api("get", "/instructor/payout-account").catch(() => null);
const accountView = el("p", { id: "payout-account" }, [account
  ? `${account.bank_name} ${account.account_number_masked} (${account.holder_name})` : "지급 계좌가 없습니다."]);
const accountForm = el("form", { id: "payout-account-form", "aria-label": "지급 계좌" }, [
  el("label", {}, ["은행 코드", el("input", { name: "bank_code", required: true, inputmode: "numeric", placeholder: "예: 088" })]),
  el("label", {}, ["계좌번호", el("input", { name: "account_number", required: true, inputmode: "numeric", autocomplete: "off" })]),
  el("label", {}, ["예금주", el("input", { name: "holder_name", required: true })]),
  el("button", { type: "submit" }, ["계좌 저장"]),
]);
main.append(el("h2", {}, ["지급 계좌"]), accountView, accountForm);
onSubmit(accountForm, async (fields) => {
  const saved = await api("put", "/instructor/payout-account", { body: {
    bank_code: String(fields.bank_code), account_number: String(fields.account_number), holder_name: String(fields.holder_name) } });
  accountView.textContent = `${saved.bank_name} ${saved.account_number_masked} (${saved.holder_name})`;
  accountForm.reset(); // the full number is not kept on the page
});

// Payouts wait (held, tax_profile_missing) until the instructor says how they are taxed.
/** @typedef {import("../api.js").Schemas["TaxProfileInput"]["kind"]} TaxKind */
/** @type {Record<TaxKind, string>} */
const TAX_KINDS = { individual_business: "개인 (사업소득, 3.3%)", individual_other: "개인 (기타소득, 8.8%)", business: "사업자 (원천징수 없음)" };
const taxProfile = await api("get", "/instructor/tax-profile").catch(() => null);
const taxView = el("p", { id: "tax-profile" }, [taxProfile
  ? `${TAX_KINDS[taxProfile.kind]} ${taxProfile.registration_number_masked}` : "세금 정보가 없어 지급이 보류됩니다."]);
const taxForm = el("form", { id: "tax-profile-form", "aria-label": "세금 정보" }, [
  el("label", {}, ["구분", el("select", { name: "kind" }, Object.entries(TAX_KINDS).map(([value, text]) => el("option", { value }, [text])))]),
  el("label", {}, ["주민등록번호 또는 사업자등록번호", el("input", { name: "registration_number", required: true, autocomplete: "off", inputmode: "numeric" })]),
  el("button", { type: "submit" }, ["세금 정보 저장"]),
]);
main.append(el("h2", {}, ["세금 정보"]), taxView, taxForm);
onSubmit(taxForm, async (fields) => {
  const kind = /** @type {TaxKind} */ (fields.kind);
  const number = String(fields.registration_number);
  const saved = await api("put", "/instructor/tax-profile", { body: kind === "business"
    ? { kind, business_registration_number: number } : { kind, resident_registration_number: number } });
  taxView.textContent = `${TAX_KINDS[saved.kind]} ${saved.registration_number_masked}`;
  taxForm.reset(); // the full number is not kept on the page
});

const payouts = await api("get", "/instructor/payouts", { query: { limit: 20 } });
/** @param {Payout} payout */
function row(payout) {
  const lines = el("button", { type: "button", class: "secondary" }, ["명세서"]);
  const item = el("li", {}, [`${payout.period} · ${formatMoney(payout.amount)} · ${STATUS[payout.status] ?? payout.status} `, lines]);
  lines.addEventListener("click", async () => {
    lines.remove();
    const statement = await api("get", "/instructor/payouts/{payout_id}", { path: { payout_id: payout.payout_id } });
    item.append(el("table", {}, [el("tbody", {}, (statement.lines ?? []).map((line) => el("tr", {}, [
      el("td", {}, [formatTime(line.posted_at)]), el("td", {}, [line.kind]),
      el("td", {}, [line.order_id ?? line.refund_id ?? line.payout_id ?? ""]),
      el("td", { class: "money" }, [formatMoney(line.amount)])])))]));
  });
  return item;
}
main.append(el("h2", {}, ["지급 내역"]), payouts.items.length
  ? el("ul", { id: "payouts" }, payouts.items.map(row)) : el("p", {}, ["아직 지급 내역이 없습니다."]));
