// @ts-check
/** My learning: each enrolled course with its progress, where to continue, and the certificate once complete. */
import { api, savedTokens } from "./api.js";
import { $, el, pageHeader, requireLogin } from "./ui.js";

await pageHeader("내 학습");
if (!savedTokens()) requireLogin();
const main = $("main");
const enrollments = await api("get", "/me/enrollments", { query: { limit: 50 } });
main.append(el("ul", { class: "cards", id: "enrollments" }, enrollments.items.map((e) => el("li", {}, [
  el("h2", {}, [e.course?.title ?? e.course_id]),
  el("label", {}, [`진도 ${e.progress_percent}%`, el("progress", { max: 100, value: e.progress_percent })]),
  el("p", {}, [e.status === "ended" ? "환불로 종료된 수강입니다."
    : el("a", { href: `lesson.html?course=${encodeURIComponent(e.course_id)}` }, [e.progress_percent ? "이어서 학습하기" : "학습 시작하기"])]),
  e.status === "completed" ? el("p", {}, [el("a", { href: `certificate.html?course=${encodeURIComponent(e.course_id)}` }, ["수료증 보기"])]) : null,
]))));
if (!enrollments.items.length) main.append(el("p", {}, ["아직 수강 중인 강의가 없습니다."]));
