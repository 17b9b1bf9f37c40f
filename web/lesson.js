// @ts-check
/**
 * A lesson: the course's lessons beside it, the file through its short-lived presigned URL (a video
 * plays, a document is shown), and "complete" (the progress the refund rules and the certificate read).
 */
import { api } from "./api.js";
import { $, el, pageHeader, param, showProblem } from "./ui.js";

const courseId = param("course");
await pageHeader("수업");
const main = $("main");
const [course, enrollment] = await Promise.all([
  api("get", "/courses/{course_id}", { path: { course_id: courseId } }),
  api("get", "/me/enrollments/{course_id}", { path: { course_id: courseId } }),
]);
const lessons = course.sections.flatMap((section) => section.lessons);
const done = new Set(enrollment.completed_lessons);
const lessonId = new URLSearchParams(location.search).get("lesson")
  ?? lessons.find((l) => !done.has(l.lesson_id))?.lesson_id ?? lessons[0].lesson_id;
const lesson = lessons.find((l) => l.lesson_id === lessonId) ?? lessons[0];
$("h1").textContent = `${course.title} · ${lesson.title}`;

const progress = el("p", { id: "progress", "aria-live": "polite" }, [`진도 ${enrollment.progress_percent}%`]);
main.append(
  el("nav", { "aria-label": "수업 목록" }, [el("ol", {}, lessons.map((l) => el("li", {}, [
    el("a", { href: `lesson.html?course=${encodeURIComponent(courseId)}&lesson=${encodeURIComponent(l.lesson_id)}`,
              "aria-current": l.lesson_id === lesson.lesson_id ? "page" : undefined }, [l.title]),
    done.has(l.lesson_id) ? " ✓" : ""])))]),
  progress,
);

const viewer = el("section", { class: "lesson-file", id: "lesson-file", "aria-label": "수업 자료" });
main.append(viewer);
try {
  const file = await api("get", "/courses/{course_id}/lessons/{lesson_id}/content",
                         { path: { course_id: courseId, lesson_id: lesson.lesson_id } });
  // a video plays here; a document opens in the browser's own viewer (a PDF, a Markdown file)
  if (file.content_type?.startsWith("video/")) viewer.append(el("video", { src: file.url, controls: true, "aria-label": lesson.title }));
  viewer.append(el("p", {}, [el("a", { href: file.url, id: "file-link", target: "_blank", rel: "noopener" },
    [file.content_type?.startsWith("video/") ? "영상 파일 열기" : "문서 열기"]), " (링크는 잠시 후 만료됩니다)"]));
} catch (error) {
  showProblem(viewer, error); // no file uploaded yet, or not enrolled
}

const complete = el("button", { type: "button", id: "complete", disabled: done.has(lesson.lesson_id) },
                    [done.has(lesson.lesson_id) ? "완료한 수업" : "수업 완료"]);
main.append(el("p", {}, [complete]));
complete.addEventListener("click", async () => {
  complete.disabled = true;
  try {
    const saved = await api("put", "/me/enrollments/{course_id}/lessons/{lesson_id}/progress",
                            { path: { course_id: courseId, lesson_id: lesson.lesson_id }, body: { completed: true, position_seconds: lesson.duration_seconds } });
    progress.textContent = `진도 ${saved.progress_percent}%`;
    complete.textContent = "완료한 수업";
    const next = lessons[lessons.indexOf(lesson) + 1];
    progress.append(" ", saved.status === "completed"
      ? el("a", { href: `certificate.html?course=${encodeURIComponent(courseId)}` }, ["수료증 보기"])
      : next ? el("a", { href: `lesson.html?course=${encodeURIComponent(courseId)}&lesson=${encodeURIComponent(next.lesson_id)}` }, ["다음 수업"]) : "");
  } catch (error) {
    complete.disabled = false;
    showProblem(main, error);
  }
});
