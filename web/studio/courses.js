// @ts-check
/** The studio's start: my courses (draft, scheduled, published) and a new draft. */
import { api, savedTokens } from "../api.js";
import { CATEGORIES } from "../courses.js";
import { $, el, formatMoney, onSubmit, pageHeader, requireLogin } from "../ui.js";

/** @typedef {import("../api.js").Schemas["NewCourse"]["category"]} Category */

const STATUS = { draft: "초안", scheduled: "공개 예약", published: "공개" };
const profile = await pageHeader("스튜디오");
if (!savedTokens()) requireLogin();
const main = $("main");
// what a course's owner enters to share its revenue with this instructor
main.append(el("p", { class: "muted", id: "instructor-id" }, [`내 강사 ID: ${profile?.user_id ?? ""}`]));
const courses = await api("get", "/instructor/courses", { query: { limit: 100 } });
main.append(el("ul", { class: "cards", id: "my-courses" }, courses.items.map((c) => el("li", {}, [
  el("h2", {}, [el("a", { href: `course.html?id=${encodeURIComponent(c.course_id)}` }, [c.title])]),
  el("p", {}, [`${STATUS[c.status]} · ${formatMoney(c.price)} · 수강생 ${c.enrollment_count}명`]),
]))));

const form = el("form", { id: "new-course", "aria-labelledby": "new-course-title" }, [
  el("h2", { id: "new-course-title" }, ["새 강의"]),
  el("label", {}, ["제목", el("input", { name: "title", required: true })]),
  el("label", {}, ["소개", el("textarea", { name: "description", rows: 3 })]),
  el("label", {}, ["분야", el("select", { name: "category" },
    Object.entries(CATEGORIES).map(([value, text]) => el("option", { value }, [text])))]),
  el("label", {}, ["가격 (원)", el("input", { name: "price.amount", type: "number", min: 0, step: 100, required: true, inputmode: "numeric" })]),
  el("button", { type: "submit" }, ["초안 만들기"]),
]);
main.append(form);
onSubmit(form, async (fields) => {
  const course = await api("post", "/instructor/courses", { body: {
    title: String(fields.title), description: String(fields.description ?? ""),
    category: /** @type {Category} */ (fields.category),
    price: { amount: Number(fields["price.amount"]), currency: "KRW" },
  } });
  location.href = `course.html?id=${encodeURIComponent(course.course_id)}`;
});
