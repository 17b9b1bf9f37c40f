// @ts-check
/** The catalog: search (`q`), a category, a sort, and pages of 12 (the API's opaque cursor). */
import { api } from "./api.js";
import { $, el, formatMoney, onSubmit, pageHeader } from "./ui.js";
import { CATEGORIES } from "./courses.js";

/** @typedef {NonNullable<import("classpay-api").operations["list_courses"]["parameters"]["query"]>} CatalogQuery */
/** @typedef {NonNullable<CatalogQuery["sort"]>} Sort */
/** @typedef {import("./api.js").Schemas["CourseSummary"]} CourseSummary */

const PAGE_SIZE = 12;
/** @type {Record<Sort, string>} */
const SORTS = { popular: "인기순", rating: "평점순", newest: "최신순", price_asc: "낮은 가격순", price_desc: "높은 가격순" };

await pageHeader("강의 찾기");
const main = $("main");
const form = el("form", { class: "inline", role: "search", "aria-label": "강의 검색" }, [
  el("label", {}, ["검색어", el("input", { name: "q", type: "search", placeholder: "예: 파이썬" })]),
  el("label", {}, ["분야", el("select", { name: "category" }, [
    el("option", { value: "" }, ["전체"]),
    ...Object.entries(CATEGORIES).map(([value, text]) => el("option", { value }, [text]))])]),
  el("label", {}, ["정렬", el("select", { name: "sort" },
    Object.entries(SORTS).map(([value, text]) => el("option", { value }, [text])))]),
  el("button", { type: "submit" }, ["찾기"]),
]);
const results = el("ul", { class: "cards", id: "courses", "aria-live": "polite" });
const more = el("button", { type: "button", class: "secondary", id: "more", hidden: true }, ["더 보기"]);
main.append(form, results, more);

/** @type {{query: CatalogQuery, cursor: string | null, search: number}} */
const state = { query: {}, cursor: null, search: 0 };

/** @param {CourseSummary} course */
function card(course) {
  return el("li", {}, [
    el("h2", {}, [el("a", { href: `course.html?id=${encodeURIComponent(course.course_id)}` }, [course.title])]),
    el("p", { class: "muted" }, [`${course.instructor.name} · ${CATEGORIES[course.category] ?? course.category}`]),
    el("p", {}, [el("span", { class: "price" }, [formatMoney(course.price)]),
      ` · ★ ${course.rating.average ?? "-"} (${course.rating.count})`]),
  ]);
}

async function loadPage() {
  const search = state.search;
  const page = await api("get", "/courses", { query: { ...state.query, limit: PAGE_SIZE, cursor: state.cursor } });
  if (search !== state.search) return; // a newer search started while this page loaded: its answer wins
  results.append(...page.items.map(card));
  if (!results.children.length) results.append(el("li", {}, ["조건에 맞는 강의가 없습니다."]));
  state.cursor = page.next_cursor ?? null;
  more.hidden = !state.cursor;
}

onSubmit(form, async (fields) => {
  const category = String(fields.category || "");
  state.query = {
    q: String(fields.q || "") || undefined,
    category: category ? /** @type {CatalogQuery["category"]} */ (category) : undefined,
    sort: /** @type {Sort} */ (fields.sort),
  };
  state.cursor = null;
  state.search += 1;
  results.replaceChildren();
  await loadPage();
});
more.addEventListener("click", () => loadPage());
await loadPage();
