"""The reference web client (`web/`) in Debian's Chromium, against a real local stack.

The shared stack (`local_stack` of tests/support/local_stack.py: the emulator's moto server, the local stage,
chalice local, as `make run` serves it, with the demo accounts only), and the web client served by
`infra/web_server.py` on a port of its own: another origin, so every call is a real cross-origin request
(preflights included), and the lesson file goes from the browser straight to the emulated S3 with its
presigned URL. Three flows, as people would click them: an instructor builds and publishes a course with an
uploaded file; a learner buys two courses by card with part from the wallet, studies, reviews, asks, gets the
certificate and refunds one; a learner pays by virtual account and the page turns paid when the (simulated)
deposit lands.

Every page is saved to build/screenshots/web-<page>.png and checked with axe-core (injected from the
npm package web/package-lock.json pins, never a CDN): a serious or critical violation (labels, names,
contrast, keyboard traps) fails the flow. The pages' JSDoc is checked by `tsc --strict` against types
openapi-typescript generates from the API's own document.
"""

import json
import shutil
import subprocess
import uuid

import pytest
import requests

from chalicelib.api import openapi
from infra import web_server
from infra.project import PROJECT_DIR
from infra.stack_client import Client, demo_admin, expect, krw
from tests.support.api import PASSWORD
from tests.support.browser import SCREENSHOTS

WEB_DIR = PROJECT_DIR / "web"
WEB_TOOLS = PROJECT_DIR / "build" / "web-tools"  # web/package-lock.json's packages, installed by npm ci
SERIOUS = {"serious", "critical"}
AUDITED: set[str] = set()  # the pages audited so far (a page shown in two flows is audited once)
LESSON_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def web_tools():
    """tsc, openapi-typescript and axe-core as web/package-lock.json pins them (npm ci once per lock file)."""
    lock = (WEB_DIR / "package-lock.json").read_bytes()
    installed = WEB_TOOLS / "installed-package-lock.json"
    if not installed.exists() or installed.read_bytes() != lock:
        WEB_TOOLS.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(WEB_DIR / name, WEB_TOOLS / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB_TOOLS, check=True,
                       capture_output=True, timeout=600)
        installed.write_bytes(lock)
    return WEB_TOOLS / "node_modules"


@pytest.fixture(scope="module", autouse=True)
def stack(local_stack):
    """The shared stack (booting while the module's first tests run, if this module is the first to need it)."""
    return local_stack


@pytest.fixture(scope="module")
def api_url(local_stack_url):
    return local_stack_url


@pytest.fixture(scope="module")
def web_url():
    with web_server.serving() as url:
        yield url


class Site:
    """One person's tab on the web client: opens pages (pointing them at the stack's API once), and
    saves and audits each page it is shown."""

    def __init__(self, page, web_url, api_url, axe_script):
        self.page, self.web_url, self.api_url, self.axe_script = page, web_url, api_url, axe_script
        self.violations: list[str] = []

    def open(self, path: str) -> None:
        separator = "&" if "?" in path else "?"
        self.page.goto(f"{self.web_url}/{path}{separator}api={self.api_url}")

    def audit(self, name: str) -> None:
        """Screenshot the page as build/screenshots/web-<name>.png and record axe's serious and critical findings
        (WCAG 2.1 A and AA: names, labels, contrast, keyboard), once per page for the module (2-3 s each)."""
        if name in AUDITED:
            return
        AUDITED.add(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"web-{name}.png"), full_page=True)
        self.page.add_script_tag(path=str(self.axe_script))
        found = self.page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"],
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}))
            .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))}))""")
        self.violations += [f"{name}: {v['id']} ({v['impact']}) at {v['nodes']}" for v in found if v["impact"] in SERIOUS]

    def sign_up(self, name: str, instructor: bool = False) -> str:
        email = f"web-{uuid.uuid4().hex[:12]}@classpay.test"
        self.open("login.html")
        form = self.page.locator("#signup-form")
        form.get_by_label("이름").fill(name)
        form.get_by_label("이메일").fill(email)
        form.get_by_label("비밀번호").fill(PASSWORD)
        if instructor:
            form.get_by_label("강사").check()
            form.get_by_label("수강생").uncheck()
        self.audit("login")
        form.get_by_role("button", name="가입하고 로그인").click()
        self.page.get_by_role("button", name="로그아웃").wait_for()
        return email


@pytest.fixture
def site(page, web_url, api_url, web_tools):
    visitor = Site(page, web_url, api_url, web_tools / "axe-core" / "axe.min.js")
    yield visitor
    assert visitor.violations == []


def _published_course(instructor: Client, title: str, price: int) -> str:
    """A published course of one document lesson whose file is uploaded (over HTTP, as the studio does)."""
    studio = "/instructor/courses"
    course_id = expect(instructor.post(studio, {"title": title, "description": "웹 클라이언트 시험용 강의",
                                                "category": "programming", "price": krw(price)}), 201)["course_id"]
    section = expect(instructor.post(f"{studio}/{course_id}/sections", {"title": "기초"}), 201)["section_id"]
    lesson = expect(instructor.post(f"{studio}/{course_id}/sections/{section}/lessons",
                                    {"title": "소개", "kind": "document", "duration_seconds": 60}), 201)["lesson_id"]
    ticket = expect(instructor.post(f"{studio}/{course_id}/lessons/{lesson}/upload-url",
                                    {"content_type": "application/pdf", "size_bytes": len(LESSON_PDF)}), 200)
    assert requests.put(ticket["url"], data=LESSON_PDF, headers=ticket["headers"], timeout=30).ok
    expect(instructor.post(f"{studio}/{course_id}/lessons/{lesson}/upload-complete"), 200)
    expect(instructor.post(f"{studio}/{course_id}/publish"), 200)
    return course_id


def test_the_pages_are_typed_against_the_api_document(chalice_app, web_tools, tmp_path):
    """openapi-typescript's types of this API's document; the pages' JSDoc checked by tsc --strict against them."""
    (WEB_TOOLS / "types").mkdir(exist_ok=True)
    (tmp_path / "openapi.json").write_text(json.dumps(openapi.document()))
    generate = subprocess.run([web_tools / ".bin" / "openapi-typescript", tmp_path / "openapi.json", "-o",
                               WEB_TOOLS / "types" / "api.d.ts", "--default-non-nullable", "false"],
                              capture_output=True, text=True, timeout=120, check=False)
    assert generate.returncode == 0, generate.stdout + generate.stderr
    check = subprocess.run([web_tools / ".bin" / "tsc", "--project", WEB_DIR / "tsconfig.json"],
                           capture_output=True, text=True, timeout=180, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_static_server_serves_the_pages_as_es_modules_and_nothing_else_of_web(web_url):
    page = requests.get(web_url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="catalog.js">' in page.text
    module = requests.get(web_url + "/studio/course.js", timeout=10)
    assert module.headers["Content-Type"] == "text/javascript; charset=utf-8" and module.headers["Cache-Control"] == "no-store"
    assert [requests.get(web_url + path, timeout=10).status_code for path in
            ("/package.json", "/tsconfig.json", "/../Makefile", "/missing.html")] == [404, 404, 404, 404]


def test_the_web_client_deploys_to_a_private_bucket_that_only_its_cloudfront_distribution_reads():
    from infra.template import web

    resources = web.web_client_resources("prod")
    bucket = resources[web.BUCKET]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    allow, tls_only = resources[web.BUCKET + "Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert f"distribution/${{{web.DISTRIBUTION}}}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert tls_only["Effect"] == "Deny"
    config = resources[web.DISTRIBUTION]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [web.ORIGIN_ACCESS, "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"


def test_an_instructor_builds_and_publishes_a_course_with_a_file_uploaded_from_the_browser(
        site, api_url, foreign_requests):
    page = site.page
    site.sign_up("웹 강사", instructor=True)
    page.wait_for_url("**/studio/index.html*")
    title = f"브라우저 강의 {uuid.uuid4().hex[:6]}"
    new_course = page.locator("#new-course")
    new_course.get_by_label("제목").fill("   ")  # the browser takes it; the API refuses a blank title
    new_course.get_by_label("소개").fill("브라우저에서 만든 강의")
    new_course.get_by_label("가격 (원)").fill("30000")
    new_course.get_by_role("button", name="초안 만들기").click()
    page.locator("#new-course .field-error").wait_for()  # the problem document's message, next to its field
    assert new_course.get_by_label("제목").get_attribute("aria-invalid") == "true"
    site.audit("studio-courses")
    new_course.get_by_label("제목").fill(title)
    new_course.get_by_role("button", name="초안 만들기").click()

    page.wait_for_url("**/studio/course.html?id=*")
    page.locator("#new-section").get_by_label("섹션 제목").fill("시작하기")
    page.locator("#new-section").get_by_role("button", name="섹션 추가").click()
    lesson_form = page.locator("form.new-lesson")
    lesson_form.get_by_label("수업 제목").fill("첫 수업")
    lesson_form.get_by_label("종류").select_option("document")
    lesson_form.get_by_role("button", name="수업 추가").click()
    upload = page.locator("form.upload")
    upload.locator("input[type=file]").set_input_files(
        {"name": "first.pdf", "mimeType": "application/pdf", "buffer": LESSON_PDF})
    upload.get_by_role("button", name="올리기").click()
    page.get_by_text("파일 있음 (application/pdf)").wait_for()

    sessions = page.locator("#new-session")
    sessions.get_by_label("시작").fill("2031-03-02T19:00")
    sessions.get_by_role("button", name="세션 추가").click()
    page.get_by_text("남은 좌석 20/20").wait_for()
    coupon = page.locator("#new-coupon")
    coupon.get_by_label("코드").fill("WEB10")
    coupon.get_by_label("할인").fill("10")
    coupon.get_by_label("만료").fill("2031-12-31T23:59")
    coupon.get_by_role("button", name="쿠폰 만들기").click()
    page.get_by_text("WEB10: 10% 할인").wait_for()
    co_instructor = Client(api_url).sign_up(roles=("instructor",), name="공동 강사")
    split = page.locator("#revenue-split")
    split.get_by_label("공동 강사 ID").fill(co_instructor.user_id)
    split.get_by_label("배분 (%)").fill("30")
    split.get_by_role("button", name="배분 저장").click()
    page.locator("#shares").get_by_text(f"{co_instructor.user_id}: 30%").wait_for()
    assert page.locator("#shares").get_by_text("나 (소유자): 70%").count() == 1
    site.audit("studio-course")
    page.locator("#publish-form").get_by_role("button", name="공개하기").click()
    page.locator("#published").wait_for()

    # the published course is in the catalog, found by its title
    site.open("index.html")
    page.get_by_label("검색어").fill(title)
    page.get_by_role("button", name="찾기").click()
    page.locator("#courses").get_by_role("link", name=title).click()
    page.wait_for_url("**/course.html?id=*")
    assert page.locator("#curriculum").inner_text().startswith("시작하기")
    assert page.locator("#price").inner_text() == "₩30,000"
    site.audit("course")

    site.open("studio/payouts.html")
    account = page.locator("#payout-account-form")
    account.get_by_label("은행 코드").fill("088")
    account.get_by_label("계좌번호").fill("110123456789")
    account.get_by_label("예금주").fill("웹강사")
    account.get_by_role("button", name="계좌 저장").click()
    page.locator("#payout-account", has_text="****6789").wait_for()  # the number masked
    assert "110123456789" not in page.content()
    tax = page.locator("#tax-profile-form")  # payouts are held until the instructor has one
    tax.get_by_label("구분").select_option("individual_business")
    tax.get_by_label("주민등록번호 또는 사업자등록번호").fill("900101-1234567")
    tax.get_by_role("button", name="세금 정보 저장").click()
    page.locator("#tax-profile", has_text="900101-1******").wait_for()
    assert "1234567" not in page.content()
    site.audit("studio-payouts")
    site.open("studio/dashboard.html")
    page.locator("#chart").wait_for()
    assert page.locator("#csv").get_attribute("download").startswith("dashboard-")
    site.audit("studio-dashboard")
    assert foreign_requests == []


def test_a_learner_buys_two_courses_by_card_and_wallet_studies_reviews_and_gets_a_certificate(
        site, api_url, foreign_requests):
    page = site.page
    instructor = Client(api_url).sign_up(roles=("instructor",), name="웹 강사")
    word = uuid.uuid4().hex[:6]
    first = _published_course(instructor, f"파이썬 {word}", 30_000)
    second = _published_course(instructor, f"데이터 {word}", 20_000)

    site.sign_up("웹 수강생")
    site.open("wallet.html")
    page.get_by_label("충전할 금액 (원)").fill("10000")
    page.get_by_role("button", name="충전하기").click()
    page.get_by_text("잔액 ₩10,000").wait_for()
    site.audit("wallet")

    site.open("index.html")
    page.get_by_label("검색어").fill(word)
    page.get_by_role("button", name="찾기").click()
    page.locator("#courses li").nth(1).wait_for()
    site.audit("catalog")
    page.locator("#courses").get_by_role("link", name=f"파이썬 {word}").click()
    page.get_by_role("button", name="장바구니에 담기").click()
    page.wait_for_url("**/cart.html*")
    site.open(f"course.html?id={second}")
    page.get_by_role("button", name="장바구니에 담기").click()
    page.wait_for_url("**/cart.html*")
    assert page.locator("#cart-total").inner_text() == "합계 ₩50,000"
    page.get_by_label("지갑에서 쓸 금액 (원)").fill("10000")
    site.audit("cart")
    page.get_by_role("button", name="결제하기").click()

    page.wait_for_url("**/pay.html?checkout=*")
    assert page.locator("#amount-due").inner_text() == "결제할 금액 ₩40,000"
    site.audit("pay")
    page.get_by_role("button", name="카드로 결제").click()
    page.wait_for_url("**/checkout-success.html?*paymentKey=*")
    page.locator("#paid").wait_for()
    site.audit("checkout-paid")

    page.get_by_role("link", name="내 학습으로 가기").click()
    page.locator("#enrollments li").nth(1).wait_for()
    site.audit("learning")
    page.locator("#enrollments li", has_text=f"파이썬 {word}").get_by_role("link", name="학습 시작하기").click()
    file_url = page.locator("#file-link").get_attribute("href")
    assert requests.get(file_url, timeout=30).content == LESSON_PDF  # the presigned GET of the uploaded file
    site.audit("lesson")
    page.get_by_role("button", name="수업 완료").click()
    page.get_by_text("진도 100%").wait_for()
    page.get_by_role("link", name="수료증 보기").click()
    page.locator("#certificate").wait_for()
    assert f"파이썬 {word}" in page.locator("#certificate").inner_text()
    site.audit("certificate")

    site.open(f"course.html?id={first}")
    page.locator("#review-form").get_by_label("수강평").fill("브라우저에서 남긴 수강평")
    page.get_by_role("button", name="수강평 남기기").click()
    page.locator("#reviews").get_by_text("브라우저에서 남긴 수강평").wait_for()
    page.locator("#question-form").get_by_label("제목").fill("질문 있어요")
    page.locator("#question-form").get_by_label("내용").fill("PDF는 어디서 받나요?")
    page.get_by_role("button", name="질문하기").click()
    page.locator("#questions").get_by_text("질문 있어요").wait_for()
    questions = page.locator("#questions")
    questions.get_by_role("button", name="답변 0").click()
    questions.get_by_label("답변").fill("수업 페이지의 '문서 열기'에 있었어요")
    questions.get_by_role("button", name="답하기").click()
    questions.get_by_text("수업 페이지의 '문서 열기'에 있었어요 — 웹 수강생").wait_for()
    site.audit("course-enrolled")

    # the course not yet studied is refunded in full (withdrawal), card and wallet parts in proportion
    site.open("orders.html")
    order = page.locator("section", has_text=f"데이터 {word}")
    order.get_by_role("button", name="환불 금액 확인").click()
    order.get_by_label("환불 사유").fill("단순 변심")
    order.get_by_role("button", name="₩20,000 환불하기").click()
    page.locator("section", has_text=f"데이터 {word}").get_by_text("환불됨").wait_for()
    site.audit("orders")
    assert foreign_requests == []


def test_a_learner_paying_by_virtual_account_sees_the_page_turn_paid_when_the_deposit_lands(
        site, api_url, foreign_requests):
    page = site.page
    instructor = Client(api_url).sign_up(roles=("instructor",), name="웹 강사")
    title = f"가상계좌 {uuid.uuid4().hex[:6]}"
    course = _published_course(instructor, title, 25_000)
    site.sign_up("입금 수강생")
    site.open(f"course.html?id={course}")
    # by keyboard alone: each control takes the focus and Enter works it
    page.get_by_role("button", name="장바구니에 담기").press("Enter")
    page.get_by_role("button", name="결제하기").press("Enter")
    page.get_by_role("button", name="가상계좌 발급").press("Enter")
    page.locator("#awaiting-deposit").wait_for()
    assert page.locator("#account-number").inner_text()
    site.audit("checkout-virtual-account")

    checkout_id = page.url.split("checkout=")[1].split("&")[0]
    learner_token = json.loads(page.evaluate("sessionStorage.getItem('classpay.tokens')"))["access_token"]
    checkout = expect(Client(api_url, token=learner_token).get(f"/checkouts/{checkout_id}"), 200)
    # the access token expires while the page waits: its next poll refreshes it with the refresh token first
    page.evaluate("""() => { const kept = JSON.parse(sessionStorage.getItem("classpay.tokens"));
        sessionStorage.setItem("classpay.tokens", JSON.stringify({...kept, access_token: "expired", expires_at: 0})); }""")
    expect(demo_admin(api_url).post("/admin/gateway/deposits",
                                    {"payment_key": checkout["payment"]["virtual_account_payment_key"]}), 200)
    page.locator("#paid").wait_for()  # the page polls the checkout
    refreshed = json.loads(page.evaluate("sessionStorage.getItem('classpay.tokens')"))
    assert refreshed["access_token"] not in ("expired", learner_token) and refreshed["expires_at"] > 0
    assert page.locator("#checkout-status").get_by_text("₩25,000").count() == 1
    site.audit("checkout-deposited")

    # refunded to a bank account: the API names refund_account until one is given, then the refund is made
    site.open("orders.html")
    order = page.locator("section", has_text=title)
    order.get_by_role("button", name="환불 금액 확인").click()
    order.get_by_label("환불 사유").fill("일정이 바뀌었어요")
    order.get_by_role("button", name="₩25,000 환불하기").click()
    order.locator(".problem").wait_for()
    order.get_by_label("은행 코드").fill("088")
    order.get_by_label("계좌번호").fill("110987654321")
    order.get_by_label("예금주").fill("입금수강생")
    order.get_by_role("button", name="₩25,000 환불하기").click()
    page.locator("section", has_text=title).get_by_text("환불됨").wait_for()
    assert foreign_requests == []

