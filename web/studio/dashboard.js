// @ts-check
/** The dashboard: totals over a range, the chart (a PNG the API draws) and the CSV of the series. */
import { api, queryString, savedTokens, send } from "../api.js";
import { $, el, formatMoney, onSubmit, pageHeader, requireLogin, showProblem } from "../ui.js";

/** @typedef {NonNullable<import("classpay-api").operations["get_dashboard_png"]["parameters"]["query"]>} ChartQuery */
/** @typedef {NonNullable<ChartQuery["metric"]>} Metric */

/** @type {Partial<Record<Metric, string>>} the figures a chart is drawn of (the API has more) */
const METRICS = { net_revenue: "순매출 (환불 반영)", gross: "총매출", "refunds.amount": "환불액", orders: "주문",
                  enrollments: "수강 등록", completions: "수료", reviews: "수강평", questions: "질문" };
await pageHeader("대시보드");
if (!savedTokens()) requireLogin();
const main = $("main");
const form = el("form", { class: "inline", id: "range", "aria-label": "기간" }, [
  el("label", {}, ["시작일", el("input", { name: "from", type: "date" })]),
  el("label", {}, ["종료일", el("input", { name: "to", type: "date" })]),
  el("label", {}, ["지표", el("select", { name: "metric" }, Object.entries(METRICS).map(([value, text]) => el("option", { value }, [text])))]),
  el("button", { type: "submit" }, ["보기"]),
]);
const board = el("section", { id: "board", "aria-live": "polite" });
main.append(form, board);

/** @param {ChartQuery} query */
async function show(query) {
  const range = { from: query.from, to: query.to };
  const dashboard = await api("get", "/instructor/dashboard", { query: range });
  const totals = dashboard.totals;
  const chart = await send("GET", "/instructor/dashboard.png" + queryString(query), { accept: "image/png" });
  const csv = await send("GET", "/instructor/dashboard.csv" + queryString(range), { accept: "text/csv" });
  const download = el("a", { href: URL.createObjectURL(await csv.blob()), download: `dashboard-${dashboard.from}-${dashboard.to}.csv`, id: "csv" }, ["CSV 내려받기"]);
  board.replaceChildren(
    el("p", { class: "muted" }, [`${dashboard.from} ~ ${dashboard.to} (${dashboard.timezone})`]),
    totals ? el("table", { id: "totals" }, [el("tbody", {}, [
      el("tr", {}, [el("th", {}, ["총매출"]), el("td", { class: "money" }, [formatMoney(totals.gross)])]),
      el("tr", {}, [el("th", {}, ["플랫폼 수수료"]), el("td", { class: "money" }, [formatMoney(totals.platform_fee)])]),
      el("tr", {}, [el("th", {}, ["순매출 (환불 반영)"]), el("td", { class: "money" }, [formatMoney(totals.net_revenue)])]),
      el("tr", {}, [el("th", {}, ["주문 / 수강 등록 / 수료"]), el("td", { class: "money" }, [`${totals.orders} / ${totals.enrollments} / ${totals.completions}`])]),
    ])]) : el("p", {}, ["이 기간의 기록이 없습니다."]),
    el("img", { class: "chart", id: "chart", src: URL.createObjectURL(await chart.blob()),
                alt: `${METRICS[query.metric ?? "net_revenue"] ?? query.metric} 차트, ${dashboard.from}부터 ${dashboard.to}까지` }),
    el("p", {}, [download]),
  );
}

onSubmit(form, async (fields) => {
  await show({ from: String(fields.from || "") || null, to: String(fields.to || "") || null, metric: /** @type {Metric} */ (fields.metric) });
});
await show({ metric: "net_revenue" }).catch((error) => showProblem(board, error));
