"""Certificates of completion: the learner's own record, public verification, and the PDF.

A certificate is issued once, by the progress write that completes an enrollment
(see `learning._complete`). Verification is public and shows only the learner's
display name, the course title and the completion date.

The PDF is a page of text (selectable, searchable, read aloud) written by fpdf2, which embeds the
subset of Nanum Square (`typeface.py`, Hangul as well as Latin) that the page uses, through fontTools.
Both live in the drawing function's own layer (infra/drawing-requirements.txt), so only the routes that
draw load them, and only when a PDF is asked for. The page says where to verify it: an absolute URL,
the stage's public base URL (`config.public_base_url`) and the public verification route.
"""

import functools
from datetime import date

import msgspec

from chalicelib import config, errors
from chalicelib.roles import Caller
from chalicelib.services.typeface import font_file
from chalicelib.store import certificates, enrollments
from chalicelib.store.certificates import Certificate


class PublicCertificate(msgspec.Struct, frozen=True):
    """All that verification reveals."""

    verification_id: str
    learner_name: str
    course_title: str
    completed_on: date


def public_view(certificate: Certificate) -> PublicCertificate:
    return PublicCertificate(certificate.verification_id, certificate.learner_name, certificate.course_title,
                             certificate.completed_at.date())


def my_certificate(caller: Caller, course_id: str) -> Certificate:
    """The caller's certificate for a course: 404 not enrolled, 403 ended, 409 not completed yet."""
    enrollment = enrollments.get_enrollment(caller.user_id, course_id)
    if enrollment is None:
        raise errors.NotFound(f"You are not enrolled in course {course_id}")
    if not enrollment.grants_access:
        raise errors.Forbidden("Your enrollment in this course has ended")
    if enrollment.certificate_id is None:
        raise errors.CourseNotCompleted(
            f"Complete every lesson first: {enrollment.progress_percent}% done so far")
    certificate = certificates.get_certificate(enrollment.certificate_id)
    if certificate is None:  # issued in the transaction that completed the enrollment, so never expected
        raise errors.NotFound("No certificate for this course")
    return certificate


def verify(verification_id: str) -> PublicCertificate:
    """A certificate verifies while the enrollment it was awarded for stands: one an admin refunded
    (the enrollment ended) no longer does, nor an old one after the learner bought and finished again."""
    certificate = certificates.get_certificate(certificates.normalize_verification_id(verification_id))
    enrollment = certificate and enrollments.get_enrollment(certificate.learner_id, certificate.course_id)
    if not enrollment or not enrollment.grants_access or enrollment.certificate_id != certificate.verification_id:
        raise errors.NotFound(f"No certificate {verification_id}")
    return public_view(certificate)


A4_LANDSCAPE_MM = (297, 210)
MARGIN_MM = 30  # the text's, left and right
INK, BLUE, GREY, LIGHT = (30, 30, 30), (40, 70, 120), (90, 90, 90), (120, 120, 120)
FAMILY = "NanumSquare"


def verification_url(verification_id: str) -> str:
    """Where anyone checks a certificate: the public verification route on the stage's public base URL."""
    return f"{config.public_base_url()}/certificates/{verification_id}"


@functools.lru_cache(maxsize=32)  # a certificate never changes, nor a container's stage
def render_pdf(certificate: PublicCertificate) -> bytes:
    """One landscape A4 page of text (title, name, course, date, verification id and URL) in Nanum Square; the
    name, course and id are in the PDF's metadata too."""
    from fpdf import FPDF  # lazily: only the drawing function's layer has it

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN_MM, 0, MARGIN_MM)
    for style in ("", "B"):
        pdf.add_font(FAMILY, style, font_file(bold=style == "B"))
    pdf.set_title(f"Certificate {certificate.verification_id}")
    pdf.set_subject(f"{certificate.learner_name} completed {certificate.course_title} on "
                    f"{certificate.completed_on.isoformat()}")
    pdf.set_keywords(f"verification id {certificate.verification_id}")
    pdf.set_author("classpay")
    pdf.set_creator("classpay")
    pdf.add_page()
    width, height = A4_LANDSCAPE_MM
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, width - 28, height - 28)
    text_width = width - 2 * MARGIN_MM

    def lines_at(text: str, points: float, bold: bool) -> int:
        pdf.set_font(FAMILY, "B" if bold else "", points)
        return len(pdf.multi_cell(text_width, points * 0.5, text, align="C", dry_run=True, output="LINES"))

    def fitting(text: str, largest: float, smallest: float, most_lines: int) -> float:
        """The largest size (in steps of 2 pt) at which `text` takes at most `most_lines` lines."""
        size = largest
        while size > smallest and lines_at(text, size, True) > most_lines:
            size -= 2
        return size

    def line(text: str, points: float, bold: bool = False, gap_mm: float = 0, color=INK, link: str = "") -> None:
        pdf.set_font(FAMILY, "B" if bold else "", points)
        pdf.set_text_color(*color)
        pdf.set_x(MARGIN_MM)
        pdf.multi_cell(text_width, points * 0.5, text, align="C", link=link, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(pdf.get_y() + gap_mm)

    pdf.set_y(32)
    line("수료증", 34, True, 2, BLUE)
    line("Certificate of Completion", 16, gap_mm=12, color=GREY)
    line("This certifies that", 12, gap_mm=4, color=GREY)
    line(certificate.learner_name, fitting(certificate.learner_name, 30, 16, 1), True, 6)
    line("has completed the course", 12, gap_mm=4, color=GREY)
    line(certificate.course_title, fitting(certificate.course_title, 22, 12, 2), True)

    pdf.set_y(height - 52)
    line(f"수료일 Completed on {certificate.completed_on.isoformat()}", 13, gap_mm=8)
    line(f"Verification ID {certificate.verification_id}", 11, color=GREY)
    verify_at = verification_url(certificate.verification_id)
    line(f"Verify at {verify_at}", 9, color=LIGHT, link=verify_at)
    return bytes(pdf.output())
