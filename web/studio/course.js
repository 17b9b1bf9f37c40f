// @ts-check
/**
 * One of my courses: its details, curriculum (sections, lessons, each lesson's file uploaded from the
 * browser straight to S3 with a presigned PUT), publishing now or at a time, live sessions and coupons.
 * Every change re-reads the course and draws the page again (one source of truth: the API).
 */
import { api, savedTokens } from "../api.js";
import { CATEGORIES } from "../courses.js";
import { $, el, formatMoney, formatTime, onSubmit, pageHeader, param, requireLogin, showProblem } from "../ui.js";

/** @typedef {import("../api.js").Schemas["StudioCourse"]} StudioCourse */
/** @typedef {import("../api.js").Schemas["StudioLesson"]} StudioLesson */
/** @typedef {import("../api.js").Schemas["NewCourse"]["category"]} Category */
/** @typedef {import("../api.js").Schemas["NewLesson"]["kind"]} LessonKind */
/** @typedef {import("../api.js").Schemas["NewCoupon"]["kind"]} CouponKind */

const courseId = param("id");
await pageHeader("강의 편집");
if (!savedTokens()) requireLogin();
const main = $("main");
const path = { course_id: courseId };
const STATUS = { draft: "초안", scheduled: "공개 예약", published: "공개" };

/** A date-time-local input's value as RFC 3339 (the browser's time zone). @param {FormDataEntryValue} local */
const rfc3339 = (local) => new Date(String(local)).toISOString();

async function draw() {
  const course = await api("get", "/instructor/courses/{course_id}", { path });
  $("h1").textContent = `강의 편집: ${course.title}`;
  main.querySelectorAll("section").forEach((section) => section.remove());
  main.append(details(course), curriculum(course), publishing(course), sessions(course), await coupons(),
              await revenueSplit());
}

/** @param {StudioCourse} course */
function details(course) {
  const form = el("form", { id: "course-details", "aria-label": "강의 정보" }, [
    el("label", {}, ["제목", el("input", { name: "title", value: course.title, required: true })]),
    el("label", {}, ["소개", el("textarea", { name: "description", rows: 3 }, [course.description])]),
    el("label", {}, ["분야", el("select", { name: "category" }, Object.entries(CATEGORIES).map(([value, text]) =>
      el("option", { value, selected: value === course.category }, [text])))]),
    el("label", {}, ["가격 (원)", el("input", { name: "price.amount", type: "number", min: 0, value: course.price.amount, inputmode: "numeric" })]),
    el("button", { type: "submit" }, ["저장"]),
  ]);
  onSubmit(form, async (fields) => {
    await api("patch", "/instructor/courses/{course_id}", { path, body: {
      title: String(fields.title), description: String(fields.description),
      category: /** @type {Category} */ (fields.category),
      price: { amount: Number(fields["price.amount"]), currency: course.price.currency } } });
    await draw();
  });
  return el("section", { "aria-labelledby": "details-title" }, [
    el("h2", { id: "details-title" }, [`정보 (${STATUS[course.status]})`]), form]);
}

/** @param {StudioCourse} course */
function curriculum(course) {
  const section = el("section", { "aria-labelledby": "curriculum-title" }, [el("h2", { id: "curriculum-title" }, ["커리큘럼"])]);
  for (const part of course.sections) {
    const lessonForm = el("form", { class: "inline new-lesson", "aria-label": `${part.title}에 수업 추가` }, [
      el("label", {}, ["수업 제목", el("input", { name: "title", required: true })]),
      el("label", {}, ["종류", el("select", { name: "kind" }, [el("option", { value: "video" }, ["영상"]), el("option", { value: "document" }, ["문서"])])]),
      el("label", {}, ["길이 (초)", el("input", { name: "duration_seconds", type: "number", min: 0, value: 600, inputmode: "numeric" })]),
      el("button", { type: "submit" }, ["수업 추가"]),
    ]);
    onSubmit(lessonForm, async (fields) => {
      await api("post", "/instructor/courses/{course_id}/sections/{section_id}/lessons", {
        path: { course_id: courseId, section_id: part.section_id },
        body: { title: String(fields.title), kind: /** @type {LessonKind} */ (fields.kind), duration_seconds: Number(fields.duration_seconds) } });
      await draw();
    });
    section.append(el("h3", {}, [part.title]), el("ul", {}, part.lessons.map(lessonRow)), lessonForm);
  }
  const sectionForm = el("form", { class: "inline", id: "new-section", "aria-label": "섹션 추가" }, [
    el("label", {}, ["섹션 제목", el("input", { name: "title", required: true })]),
    el("button", { type: "submit" }, ["섹션 추가"]),
  ]);
  onSubmit(sectionForm, async (fields) => {
    await api("post", "/instructor/courses/{course_id}/sections", { path, body: { title: String(fields.title) } });
    await draw();
  });
  section.append(sectionForm);
  return section;
}

/** A lesson and its file: chosen in the browser, PUT to S3 with the presigned URL, then made the lesson's. */
/** @param {StudioLesson} lesson */
function lessonRow(lesson) {
  const input = el("input", { type: "file", name: "file", accept: lesson.kind === "video" ? "video/mp4,video/webm" : "application/pdf,text/markdown" });
  const form = el("form", { class: "inline upload", "aria-label": `${lesson.title} 파일 올리기` }, [
    el("label", {}, [`${lesson.title} 파일`, input]), el("button", { type: "submit" }, ["올리기"])]);
  onSubmit(form, async () => {
    const file = input.files?.[0];
    if (!file) throw new Error("파일을 고르세요");
    const lessonPath = { course_id: courseId, lesson_id: lesson.lesson_id };
    const ticket = await api("post", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-url", {
      path: lessonPath, body: { content_type: file.type, size_bytes: file.size } });
    // The browser sets Content-Length itself (a header scripts may not set); the signed Content-Type is sent.
    const headers = Object.fromEntries(Object.entries(ticket.headers).filter(([name]) => name.toLowerCase() !== "content-length"));
    const put = await fetch(ticket.url, { method: ticket.method, headers, body: file });
    if (!put.ok) throw new Error(`S3가 파일을 받지 않았습니다 (HTTP ${put.status})`);
    await api("post", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-complete", { path: lessonPath });
    await draw();
  });
  return el("li", { "data-lesson": lesson.lesson_id }, [
    `${lesson.title} (${lesson.kind === "video" ? "영상" : "문서"}) `,
    el("span", { class: lesson.has_file ? "notice-text" : "muted" }, [lesson.has_file ? `파일 있음 (${lesson.content_type})` : "파일 없음"]),
    form,
  ]);
}

/** @param {StudioCourse} course */
function publishing(course) {
  const section = el("section", { "aria-labelledby": "publish-title" }, [el("h2", { id: "publish-title" }, ["공개"])]);
  if (course.status === "published") {
    section.append(el("p", { class: "notice", id: "published" }, [`${formatTime(course.published_at)}에 공개되었습니다. `,
      el("a", { href: `../course.html?id=${encodeURIComponent(courseId)}` }, ["강의 페이지 보기"])]));
    return section;
  }
  if (course.status === "scheduled") section.append(el("p", {}, [`${formatTime(course.publish_at)}에 공개됩니다.`]));
  const form = el("form", { class: "inline", id: "publish-form", "aria-label": "공개하기" }, [
    el("label", {}, ["공개 시각 (비우면 지금)", el("input", { name: "publish_at", type: "datetime-local" })]),
    el("button", { type: "submit" }, ["공개하기"]),
  ]);
  onSubmit(form, async (fields) => {
    await api("post", "/instructor/courses/{course_id}/publish", { path,
      body: { publish_at: fields.publish_at ? rfc3339(fields.publish_at) : null } });
    await draw();
  });
  section.append(form);
  return section;
}

/** @param {StudioCourse} course */
function sessions(course) {
  const form = el("form", { class: "inline", id: "new-session", "aria-label": "라이브 세션 추가" }, [
    el("label", {}, ["시작", el("input", { name: "starts_at", type: "datetime-local", required: true })]),
    el("label", {}, ["길이 (분)", el("input", { name: "duration_minutes", type: "number", min: 1, value: 60, inputmode: "numeric" })]),
    el("label", {}, ["좌석", el("input", { name: "capacity", type: "number", min: 1, value: 20, inputmode: "numeric" })]),
    el("button", { type: "submit" }, ["세션 추가"]),
  ]);
  onSubmit(form, async (fields) => {
    await api("post", "/instructor/courses/{course_id}/sessions", { path, body: {
      starts_at: rfc3339(fields.starts_at), duration_minutes: Number(fields.duration_minutes), capacity: Number(fields.capacity) } });
    await draw();
  });
  return el("section", { "aria-labelledby": "sessions-title" }, [
    el("h2", { id: "sessions-title" }, ["라이브 세션"]),
    el("ul", {}, course.sessions.map((s) => el("li", {}, [`${formatTime(s.starts_at)} · ${s.duration_minutes}분 · 남은 좌석 ${s.seats_left}/${s.capacity}`]))),
    form,
  ]);
}

async function coupons() {
  const list = await api("get", "/instructor/courses/{course_id}/coupons", { path });
  const form = el("form", { class: "inline", id: "new-coupon", "aria-label": "쿠폰 만들기" }, [
    el("label", {}, ["코드", el("input", { name: "code", required: true, autocomplete: "off" })]),
    el("label", {}, ["종류", el("select", { name: "kind" }, [el("option", { value: "percent" }, ["퍼센트"]), el("option", { value: "fixed" }, ["금액"])])]),
    el("label", {}, ["할인", el("input", { name: "value", type: "number", min: 1, required: true, inputmode: "numeric" })]),
    el("label", {}, ["최대 사용", el("input", { name: "max_redemptions", type: "number", min: 1, value: 100, inputmode: "numeric" })]),
    el("label", {}, ["만료", el("input", { name: "expires_at", type: "datetime-local", required: true })]),
    el("button", { type: "submit" }, ["쿠폰 만들기"]),
  ]);
  onSubmit(form, async (fields) => {
    await api("post", "/instructor/courses/{course_id}/coupons", { path, body: {
      code: String(fields.code), kind: /** @type {CouponKind} */ (fields.kind), value: Number(fields.value),
      max_redemptions: Number(fields.max_redemptions), expires_at: rfc3339(fields.expires_at) } });
    await draw();
  });
  return el("section", { "aria-labelledby": "coupons-title" }, [
    el("h2", { id: "coupons-title" }, ["쿠폰"]),
    el("ul", {}, list.map((c) => el("li", {}, [`${c.code}: ${c.kind === "percent" ? `${c.value}%` : formatMoney({ amount: c.value, currency: c.currency })} 할인 · ${c.redemptions}/${c.max_redemptions} 사용 · ${formatTime(c.expires_at)}까지`]))),
    form,
  ]);
}

/** The course's revenue split: the owner keeps what the co-instructors do not get (sales from now on). */
async function revenueSplit() {
  const split = await api("get", "/instructor/courses/{course_id}/revenue-split", { path });
  const form = el("form", { class: "inline", id: "revenue-split", "aria-label": "공동 강사 수익 배분" }, [
    el("label", {}, ["공동 강사 ID", el("input", { name: "instructor_id", required: true, autocomplete: "off" })]),
    el("label", {}, ["배분 (%)", el("input", { name: "percent", type: "number", min: 0.01, max: 99.99, step: 0.01, required: true })]),
    el("button", { type: "submit" }, ["배분 저장"]),
  ]);
  onSubmit(form, async (fields) => {
    const bps = Math.round(Number(fields.percent) * 100);
    await api("put", "/instructor/courses/{course_id}/revenue-split", { path, body: { shares: [
      { instructor_id: split.owner_id, bps: 10_000 - bps }, { instructor_id: String(fields.instructor_id), bps }] } });
    await draw();
  });
  return el("section", { "aria-labelledby": "split-title" }, [
    el("h2", { id: "split-title" }, ["수익 배분"]),
    el("ul", { id: "shares" }, split.shares.map((share) => el("li", {}, [
      `${share.instructor_id === split.owner_id ? "나 (소유자)" : share.instructor_id}: ${share.bps / 100}%`]))),
    form,
  ]);
}

try {
  await draw();
} catch (error) {
  showProblem(main, error);
}
