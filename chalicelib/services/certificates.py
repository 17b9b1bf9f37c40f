"""Certificates of completion: the learner's own record, public verification, and the PDF.

A certificate is issued once, by the progress write that completes an enrollment
(see `learning._complete`). Verification is public and shows only the learner's
display name, the course title and the completion date.

The PDF is drawn with fpdf2, imported only when a PDF is asked for, so no other
route pays for it at cold start. Text is set in Nanum Square (bundled in
`chalicelib/fonts/`, SIL OFL), which covers Hangul as well as Latin.
"""

import functools
import os
from datetime import date

import msgspec

from chalicelib import errors
from chalicelib.roles import Caller
from chalicelib.store import certificates, enrollments
from chalicelib.store.certificates import Certificate

FONTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fonts")


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
    certificate = certificates.get_certificate(certificates.normalize_verification_id(verification_id))
    if certificate is None:
        raise errors.NotFound(f"No certificate {verification_id}")
    return public_view(certificate)


@functools.lru_cache(maxsize=32)  # a certificate never changes; loading the fonts is most of the ~200 ms
def render_pdf(certificate: PublicCertificate) -> bytes:
    """One landscape A4 page: title, name, course, date, verification id."""
    from fpdf import FPDF  # lazily: a few tens of ms of imports that only this route needs

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate {certificate.verification_id}")
    pdf.set_creator("classpay")
    pdf.set_auto_page_break(False)
    pdf.add_font("nanum", "", os.path.join(FONTS, "NanumSquareR.ttf"))
    pdf.add_font("nanum", "B", os.path.join(FONTS, "NanumSquareB.ttf"))
    pdf.add_page()
    width, height = pdf.w, pdf.h

    pdf.set_draw_color(40, 70, 120)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, width - 28, height - 28)

    def line(text: str, size: float, style: str = "", gap: float = 0, color=(30, 30, 30)) -> None:
        pdf.set_font("nanum", style, size)
        pdf.set_text_color(*color)
        pdf.set_x(30)
        pdf.multi_cell(width - 60, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)

    def fitting(text: str, style: str, largest: float, smallest: float, lines: int) -> float:
        """The largest size (in steps of 2 pt) at which `text` takes at most `lines` lines."""
        size = largest
        while size > smallest:
            pdf.set_font("nanum", style, size)
            if len(pdf.multi_cell(width - 60, size * 0.5, text, dry_run=True, output="LINES")) <= lines:
                break
            size -= 2
        return size

    pdf.set_y(32)
    line("수료증", 34, "B", 2, color=(40, 70, 120))
    line("Certificate of Completion", 16, gap=12, color=(90, 90, 90))
    line("This certifies that", 12, gap=4, color=(90, 90, 90))
    line(certificate.learner_name, fitting(certificate.learner_name, "B", 30, 16, 1), "B", 6)
    line("has completed the course", 12, gap=4, color=(90, 90, 90))
    line(certificate.course_title, fitting(certificate.course_title, "B", 22, 12, 2), "B")

    pdf.set_y(height - 52)
    line(f"수료일 Completed on {certificate.completed_on.isoformat()}", 13, gap=8)
    line(f"Verification ID {certificate.verification_id}", 11, color=(90, 90, 90))
    line(f"Verify at /certificates/{certificate.verification_id}", 9, color=(120, 120, 120))
    return bytes(pdf.output())
