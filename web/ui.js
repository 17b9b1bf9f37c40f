// @ts-check
/**
 * What every page shows the same way: the header and its links, money in KRW, times in Korean, and the
 * API's refusals (a problem document's message next to the field it names, the rest above the form).
 */
import { ApiProblem, apiBaseUrl, forgetTokens, me } from "./api.js";

/** @typedef {import("classpay-api").components["schemas"]["MoneyBody"]} Money */

const WON = new Intl.NumberFormat("ko-KR", { style: "currency", currency: "KRW" });
const WHEN = new Intl.DateTimeFormat("ko-KR", { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Seoul" });

/** @param {Money} money */
export function formatMoney(money) {
  if (money.currency === "KRW") return WON.format(money.amount);
  return new Intl.NumberFormat("ko-KR", { style: "currency", currency: money.currency }).format(money.amount);
}

/** @param {string | null | undefined} moment an RFC 3339 time */
export function formatTime(moment) {
  return moment ? WHEN.format(new Date(moment)) : "";
}

/** A page's query parameter (required ones throw: a link that lacks it is a bug). */
/** @param {string} name */
export function param(name) {
  const value = new URLSearchParams(location.search).get(name);
  if (!value) throw new Error(`this page needs ?${name}=`);
  return value;
}

/**
 * An element with text and children (text is never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean | number | undefined>} [attributes]
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** @param {string} selector */
export function $(selector) {
  const found = document.querySelector(selector);
  if (!(found instanceof HTMLElement)) throw new Error(`no ${selector} on this page`);
  return found;
}

/** A form's fields by name. @param {HTMLFormElement} form */
export function fieldsOf(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/** Remove what `showProblem` wrote in `form` (or on the page). @param {HTMLElement} where */
export function clearProblem(where) {
  where.querySelectorAll(".problem, .field-error").forEach((node) => node.remove());
  where.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/**
 * Show a failure: each field error next to its input (`name` as the API names the field), the rest in a
 * box at the top of `where`, announced to screen readers.
 * @param {HTMLElement} where a form or a section
 * @param {unknown} error
 */
export function showProblem(where, error) {
  clearProblem(where);
  const box = el("div", { class: "problem", role: "alert" });
  if (error instanceof ApiProblem) {
    box.append(el("strong", {}, [error.problem.title ?? "요청을 처리하지 못했습니다"]), " ",
               error.problem.detail ?? "", error.problem.code ? ` (${error.problem.code})` : "");
    for (const [field, message] of error.fieldErrors) {
      const input = where.querySelector(`[name="${CSS.escape(field)}"]`);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.closest("label")?.append(el("span", { class: "field-error" }, [message]));
      } else {
        box.append(el("div", {}, [`${field}: ${message}`]));
      }
    }
  } else {
    box.append(error instanceof Error ? error.message : String(error));
  }
  where.prepend(box);
}

/**
 * Run a form's action on submit, its button disabled meanwhile, a refusal shown in the form.
 * @param {HTMLFormElement} form
 * @param {(fields: Record<string, FormDataEntryValue>) => Promise<void>} action
 */
export function onSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button instanceof HTMLButtonElement) button.disabled = true;
    clearProblem(form);
    try {
      await action(fieldsOf(form));
    } catch (error) {
      showProblem(form, error);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  });
}

/** Where a page is from the site's root ("" or "../" for studio/ pages). */
function root() {
  return location.pathname.includes("/studio/") ? "../" : "";
}

/**
 * The header: the site's links for the caller's roles, who is signed in, log out. Answers the profile.
 * @param {string} title the page's title (also the document's)
 */
export async function pageHeader(title) {
  document.title = `${title} · classpay`;
  const base = root();
  /** @type {Awaited<ReturnType<typeof me>>} */
  let profile = null;
  try {
    profile = await me();
  } catch {
    forgetTokens(); // tokens the API no longer takes
  }
  const roles = profile?.roles ?? [];
  /** @type {[string, string][]} */
  const links = [["index.html", "강의 찾기"], ["cart.html", "장바구니"]];
  if (roles.includes("learner")) links.push(["learning.html", "내 학습"], ["orders.html", "주문"], ["wallet.html", "지갑"]);
  if (roles.includes("instructor")) {
    links.push(["studio/index.html", "스튜디오"], ["studio/dashboard.html", "대시보드"], ["studio/payouts.html", "정산"]);
  }
  const who = profile
    ? el("span", { class: "who" }, [`${profile.name} `, el("button", { type: "button", class: "secondary", id: "logout" }, ["로그아웃"])])
    : el("span", { class: "who" }, [el("a", { href: base + "login.html" }, ["로그인 / 가입"])]);
  const header = el("header", {}, [
    el("a", { class: "brand", href: base + "index.html" }, ["classpay"]),
    el("nav", { "aria-label": "사이트" }, links.map(([href, text]) => el("a", { href: base + href }, [text]))),
    who,
  ]);
  document.body.prepend(header);
  header.querySelector("#logout")?.addEventListener("click", () => {
    forgetTokens();
    location.href = base + "index.html";
  });
  $("main").prepend(el("h1", {}, [title]));
  return profile;
}

/** Send a signed-out visitor to log in, and back here afterwards. */
export function requireLogin() {
  const back = location.pathname.split("/").slice(root() ? -2 : -1).join("/") + location.search;
  location.href = `${root()}login.html?next=${encodeURIComponent(back)}`;
}

export { apiBaseUrl };

/** A page's script that fails (a refusal it did not expect, e.g. a course that is gone) says why on the page. */
/** @param {unknown} reason */
function showFailure(reason) {
  const main = document.querySelector("main");
  if (main instanceof HTMLElement) showProblem(main, reason);
}
window.addEventListener("unhandledrejection", (event) => showFailure(event.reason));
window.addEventListener("error", (event) => showFailure(event.error ?? event.message));
