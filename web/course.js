// @ts-check
/** A course's page: curriculum, live sessions, add to cart; its reviews and Q&A (write them when enrolled). */
import { api } from "./api.js";
import { addToCart, CATEGORIES } from "./courses.js";
import { $, el, formatMoney, formatTime, onSubmit, pageHeader, param } from "./ui.js";

const courseId = param("id");
const profile = await pageHeader("강의");
const main = $("main");
const course = await api("get", "/courses/{course_id}", { path: { course_id: courseId } });
document.title = `${course.title} · classpay`;
$("h1").textContent = course.title;

main.append(
  el("p", { class: "muted" }, [`${course.instructor.name} · ${CATEGORIES[course.category] ?? course.category} · ★ ${course.rating.average ?? "-"} (${course.rating.count})`]),
  el("p", {}, [course.description]),
  el("p", { class: "price", id: "price" }, [formatMoney(course.price)]),
);

const cartForm = el("form", { class: "inline", id: "add-to-cart" }, [
  course.sessions.length
    ? el("label", {}, ["라이브 세션", el("select", { name: "session_id" }, [
      el("option", { value: "" }, ["세션 없이"]),
      ...course.sessions.map((s) => el("option", { value: s.session_id, disabled: s.seats_left === 0 },
        [`${formatTime(s.starts_at)} (${s.duration_minutes}분, 남은 좌석 ${s.seats_left}/${s.capacity})`]))])])
    : null,
  el("button", { type: "submit" }, ["장바구니에 담기"]),
]);
main.append(cartForm);
onSubmit(cartForm, async (fields) => {
  addToCart({ course_id: course.course_id, session_id: String(fields.session_id || "") || null, title: course.title,
              price: course.price });
  location.href = "cart.html";
});

main.append(el("h2", {}, ["커리큘럼"]), el("ol", { id: "curriculum" }, course.sections.map((section) =>
  el("li", {}, [section.title, el("ul", {}, section.lessons.map((lesson) =>
    el("li", {}, [`${lesson.title} (${lesson.kind === "video" ? "영상" : "문서"}${lesson.preview ? ", 미리보기" : ""})`])))]))));

// Reviews: anyone reads them; an enrolled learner writes one.
const reviews = await api("get", "/courses/{course_id}/reviews", { path: { course_id: courseId } });
const reviewList = el("ul", { id: "reviews" }, reviews.items.map((r) =>
  el("li", {}, [`★ ${r.rating} ${r.text} — ${r.learner_name}`, r.reply ? el("p", { class: "muted" }, [`강사 답글: ${r.reply.text}`]) : null])));
main.append(el("h2", {}, ["수강평"]), reviewList);

const enrolled = profile?.roles.includes("learner")
  ? await api("get", "/me/enrollments/{course_id}", { path: { course_id: courseId } }).catch(() => null)
  : null;
if (enrolled) {
  const reviewForm = el("form", { id: "review-form", "aria-label": "수강평 쓰기" }, [
    el("label", {}, ["평점", el("select", { name: "rating" }, [5, 4, 3, 2, 1].map((n) => el("option", { value: n }, [`${n}점`])))]),
    el("label", {}, ["수강평", el("textarea", { name: "text", rows: 3, required: true })]),
    el("button", { type: "submit" }, ["수강평 남기기"]),
  ]);
  main.append(reviewForm);
  onSubmit(reviewForm, async (fields) => {
    const review = await api("post", "/courses/{course_id}/reviews", { path: { course_id: courseId },
      body: { rating: Number(fields.rating), text: String(fields.text) } });
    reviewList.append(el("li", {}, [`★ ${review.rating} ${review.text} — ${review.learner_name}`]));
    reviewForm.replaceChildren(el("p", { class: "notice", role: "status" }, ["수강평을 남겼습니다."]));
  });
}

// Q&A: signed-in callers read the course's questions; enrolled learners ask.
if (profile) {
  const questions = await api("get", "/courses/{course_id}/questions", { path: { course_id: courseId } });
  const questionList = el("ul", { id: "questions" }, questions.items.map(questionItem));
  main.append(el("h2", {}, ["질문과 답변"]), questionList);
  if (enrolled) {
    const askForm = el("form", { id: "question-form", "aria-label": "질문하기" }, [
      el("label", {}, ["제목", el("input", { name: "title", required: true })]),
      el("label", {}, ["내용", el("textarea", { name: "body", rows: 3, required: true })]),
      el("button", { type: "submit" }, ["질문하기"]),
    ]);
    main.append(askForm);
    onSubmit(askForm, async (fields) => {
      const question = await api("post", "/courses/{course_id}/questions", { path: { course_id: courseId },
        body: { title: String(fields.title), body: String(fields.body) } });
      questionList.append(questionItem(question));
      askForm.reset();
    });
  }
}

/**
 * A question; "답변" opens its thread and, for its course's instructor and enrolled learners, an answer form.
 * @param {import("./api.js").Schemas["QuestionOut"]} question
 */
function questionItem(question) {
  const open = el("button", { type: "button", class: "secondary" }, [`답변 ${question.answer_count}`]);
  const item = el("li", {}, [el("strong", {}, [question.title]), ` ${question.body} — ${question.learner_name} `, open]);
  open.addEventListener("click", async () => {
    open.remove();
    const path = { question_id: question.question_id };
    const thread = await api("get", "/questions/{question_id}", { path });
    const answers = el("ul", {}, thread.answers.map((a) => el("li", {}, [`${a.body} — ${a.author_name}`])));
    const form = el("form", { class: "inline", "aria-label": `${question.title}에 답하기` }, [
      el("label", {}, ["답변", el("input", { name: "body", required: true })]), el("button", { type: "submit" }, ["답하기"])]);
    onSubmit(form, async (fields) => {
      const answer = await api("post", "/questions/{question_id}/answers", { path, body: { body: String(fields.body) } });
      answers.append(el("li", {}, [`${answer.body} — ${answer.author_name}`]));
      form.reset();
    });
    item.append(answers, form);
  });
  return item;
}
