// @ts-check
/** My certificate for a completed course, its public verification link and the PDF. */
import { api, send } from "./api.js";
import { $, el, formatTime, pageHeader, param, showProblem } from "./ui.js";

const courseId = param("course");
await pageHeader("수료증");
const main = $("main");
try {
  const certificate = await api("get", "/me/certificates/{course_id}", { path: { course_id: courseId } });
  const pdf = el("button", { type: "button", id: "pdf" }, ["PDF로 받기"]);
  main.append(el("section", { class: "box", id: "certificate" }, [
    el("p", { class: "price" }, [certificate.course_title]),
    el("p", {}, [`${certificate.learner_name} 님은 ${certificate.instructor_name} 강사의 이 강의를 ${formatTime(certificate.completed_at)}에 수료했습니다.`]),
    el("p", { class: "muted" }, [`확인 번호 ${certificate.verification_id}`]),
    pdf,
  ]));
  pdf.addEventListener("click", async () => {
    // the PDF needs the bearer token, so it is fetched and opened as a blob, not linked
    const answer = await send("GET", `/me/certificates/${encodeURIComponent(courseId)}?format=pdf`, { accept: "application/pdf" });
    window.open(URL.createObjectURL(await answer.blob()), "_blank");
  });
} catch (error) {
  showProblem(main, error);
}
