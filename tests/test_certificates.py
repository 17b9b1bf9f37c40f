"""The certificate PDF is a page of text: a learner's Korean name, the course title and an absolute verification
URL (the stage's public base URL) are text a reader selects and a search finds, set in Nanum Square whose used
glyphs are embedded (a subset), so every viewer shows the same page."""

import io

from pypdf import PdfReader

from chalicelib import config
from tests.support.courses import make_course
from tests.support.learning import complete_all, enroll

NAME, TITLE = "김민지", "파이썬 데이터 분석 입문: pandas로 시작하는 실무 데이터 정리와 시각화 (2026년 개정판)"


def test_the_certificate_pdf_is_text_in_embedded_fonts_with_an_absolute_verification_url(api):
    instructor = api.token_for(roles=["instructor"], name="Ina Instructor")
    course_id = make_course(api, instructor, title=TITLE, lessons=1)
    learner = api.token_for(name=NAME)
    enroll(api, learner, course_id)
    complete_all(api, learner, course_id)
    verification_id = api.get(f"/me/certificates/{course_id}", token=learner).json_body["verification_id"]
    mine = api.call("GET", f"/me/certificates/{course_id}?format=pdf", token=learner,
                    headers={"Accept": "application/pdf"})
    assert mine.status_code == 200, mine.body
    assert mine.headers["Content-Type"] == "application/pdf"
    public = api.call("GET", f"/certificates/{verification_id}?format=pdf", headers={"Accept": "*/*"})
    assert public.status_code == 200 and public.body == mine.body  # the same page, to anyone verifying it

    pdf = PdfReader(io.BytesIO(mine.body))
    (page,) = pdf.pages
    assert [round(v) for v in page.mediabox[2:]] == [842, 595]  # A4 landscape, in points
    text = page.extract_text()
    url = f"https://api.classpay.test/api/certificates/{verification_id}"  # the test stage's PUBLIC_BASE_URL
    assert NAME in text and TITLE in text.replace("\n", " ") and verification_id in text
    assert f"Verify at {url}" in text
    (link,) = [annotation.get_object() for annotation in page.get("/Annots", [])]
    assert link["/A"]["/URI"] == url  # and it is a link
    assert len(page.images) == 0  # no picture of text
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert sorted(font["/BaseFont"].split("+")[1] for font in fonts) == ["NanumSquare", "NanumSquareBold"]
    for font in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        embedded = descriptor["/FontFile2"].get_object().get_data()
        assert 1_000 < len(embedded) < 100_000  # the glyphs the page uses, of the 720 KB font
    assert NAME in pdf.metadata.subject and verification_id in pdf.metadata.title


def test_the_verification_url_starts_with_the_stages_public_base_url(monkeypatch):
    from chalicelib.services.certificates import verification_url

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://abc123.execute-api.ap-northeast-2.amazonaws.com/api/")
    assert config.public_base_url() == "https://abc123.execute-api.ap-northeast-2.amazonaws.com/api"
    assert verification_url("CP-7") == "https://abc123.execute-api.ap-northeast-2.amazonaws.com/api/certificates/CP-7"
