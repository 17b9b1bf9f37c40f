// @ts-check
/** What the learner's and the studio's course pages share: the categories' Korean names. */

/** @type {Record<string, string>} the API's categories (`NewCourse.category`) */
export const CATEGORIES = {
  business: "비즈니스", data: "데이터", design: "디자인", finance: "재테크", language: "외국어",
  lifestyle: "라이프스타일", marketing: "마케팅", music: "음악", photography: "사진", programming: "프로그래밍",
};

/** @typedef {{course_id: string, session_id: string | null, title: string,
 *             price: import("./api.js").Schemas["MoneyBody"]}} CartLine */

const CART_KEY = "classpay.cart";

/** The cart (kept in this browser until checkout is paid). @returns {CartLine[]} */
export function cartLines() {
  return JSON.parse(localStorage.getItem(CART_KEY) || "[]");
}

/** @param {CartLine[]} lines */
export function keepCart(lines) {
  localStorage.setItem(CART_KEY, JSON.stringify(lines));
}

/** Add a course (once: a second add replaces its session). @param {CartLine} line */
export function addToCart(line) {
  keepCart([...cartLines().filter((l) => l.course_id !== line.course_id), line]);
}
