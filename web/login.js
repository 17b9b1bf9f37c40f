// @ts-check
/** Log in, or sign up (then log in); back to `?next=` afterwards. */
import { api, logIn } from "./api.js";
import { $, el, onSubmit, pageHeader } from "./ui.js";

await pageHeader("로그인");
const main = $("main");
const next = new URLSearchParams(location.search).get("next");
/** Only a page of this site (never another origin). */
const back = next && /^[\w/.-]+\.html(\?[^#]*)?$/.test(next) ? next : "index.html";

const loginForm = el("form", { id: "login-form", "aria-labelledby": "login-title" }, [
  el("h2", { id: "login-title" }, ["로그인"]),
  el("label", {}, ["이메일", el("input", { name: "email", type: "email", autocomplete: "username", required: true })]),
  el("label", {}, ["비밀번호", el("input", { name: "password", type: "password", autocomplete: "current-password", required: true })]),
  el("button", { type: "submit" }, ["로그인"]),
]);
const signupForm = el("form", { id: "signup-form", "aria-labelledby": "signup-title" }, [
  el("h2", { id: "signup-title" }, ["회원가입"]),
  el("label", {}, ["이름", el("input", { name: "name", autocomplete: "name", required: true })]),
  el("label", {}, ["이메일", el("input", { name: "email", type: "email", autocomplete: "email", required: true })]),
  el("label", {}, ["비밀번호 (10자 이상)", el("input", { name: "password", type: "password", autocomplete: "new-password", required: true })]),
  el("fieldset", {}, [el("legend", {}, ["역할"]),
    el("label", {}, [el("input", { type: "checkbox", name: "learner", checked: true }), "수강생"]),
    el("label", {}, [el("input", { type: "checkbox", name: "instructor" }), "강사"])]),
  el("button", { type: "submit" }, ["가입하고 로그인"]),
]);
main.append(loginForm, signupForm);

onSubmit(loginForm, async (fields) => {
  await logIn(String(fields.email), String(fields.password));
  location.href = back;
});
onSubmit(signupForm, async (fields) => {
  /** @type {("learner" | "instructor")[]} */
  const roles = [];
  if (fields.learner) roles.push("learner");
  if (fields.instructor) roles.push("instructor");
  const email = String(fields.email), password = String(fields.password);
  await api("post", "/auth/signup", { body: { email, password, name: String(fields.name), roles } });
  const profile = await logIn(email, password);
  location.href = next ? back : profile?.roles.includes("instructor") ? "studio/index.html" : "index.html";
});
