"""Certificates of completion: the learner's own record, public verification, and the PDF.

A certificate is issued once, by the progress write that completes an enrollment
(see `learning._complete`). Verification is public and shows only the learner's
display name, the course title and the completion date.

The PDF is drawn with Pillow, imported only when a PDF is asked for, so no other
route pays for it at cold start. Text is set in Nanum Square (`typeface.py`), which
covers Hangul as well as Latin. Why a drawn page and not a PDF of text: a PDF library
that embeds TrueType fonts (fpdf2) needs fontTools, 5 MB of a 25 MB Lambda package (the
bare app's is 17); Pillow is already there for the dashboard's chart. The page looks the
same in every viewer; the name, course and verification id are in the metadata too.
"""

import functools
import io
from datetime import date

import msgspec

from chalicelib import errors
from chalicelib.roles import Caller
from chalicelib.services.typeface import nanum
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


DPI = 200  # sharp in print, small to send (a page is 150-350 KB)
A4_LANDSCAPE_MM = (297, 210)
INK, BLUE, GREY, LIGHT = (30, 30, 30), (40, 70, 120), (90, 90, 90), (120, 120, 120)


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _font(bold: bool, points: float):
    return nanum(bold, round(points / 72 * DPI))


def _wrap(draw, text: str, font, width: int) -> list[str]:
    """`text` in lines no wider than `width`: at spaces, or inside a word too long for a line."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
            continue
        while draw.textlength(word, font=font) > width and len(word) > 1:
            cut = max(n for n in range(1, len(word)) if draw.textlength(word[:n], font=font) <= width or n == 1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines or [""]


@functools.lru_cache(maxsize=32)  # a certificate never changes
def render_pdf(certificate: PublicCertificate) -> bytes:
    """One landscape A4 page (title, name, course, date, verification id), drawn with Pillow and
    saved as a one-image PDF; the name, course and id are also in the PDF's metadata."""
    from PIL import Image, ImageDraw  # lazily: only this route and the chart need Pillow

    width, height = _px(A4_LANDSCAPE_MM[0]), _px(A4_LANDSCAPE_MM[1])
    page = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle([_px(10), _px(10), width - _px(10), height - _px(10)], outline=BLUE, width=_px(1.2))
    draw.rectangle([_px(14), _px(14), width - _px(14), height - _px(14)], outline=BLUE, width=_px(0.4))
    text_width = width - 2 * _px(30)

    def fitting(text: str, largest: float, smallest: float, most_lines: int) -> float:
        """The largest size (in steps of 2 pt) at which `text` takes at most `most_lines` lines."""
        size = largest
        while size > smallest and len(_wrap(draw, text, _font(True, size), text_width)) > most_lines:
            size -= 2
        return size

    y = _px(32)

    def line(text: str, points: float, bold: bool = False, gap_mm: float = 0, color=INK) -> None:
        nonlocal y
        for part in _wrap(draw, text, _font(bold, points), text_width):
            draw.text((width // 2, y), part, font=_font(bold, points), fill=color, anchor="mt")
            y += _px(points * 0.5)
        y += _px(gap_mm)

    line("수료증", 34, True, 2, BLUE)
    line("Certificate of Completion", 16, gap_mm=12, color=GREY)
    line("This certifies that", 12, gap_mm=4, color=GREY)
    line(certificate.learner_name, fitting(certificate.learner_name, 30, 16, 1), True, 6)
    line("has completed the course", 12, gap_mm=4, color=GREY)
    line(certificate.course_title, fitting(certificate.course_title, 22, 12, 2), True)

    y = height - _px(52)
    line(f"수료일 Completed on {certificate.completed_on.isoformat()}", 13, gap_mm=8)
    line(f"Verification ID {certificate.verification_id}", 11, color=GREY)
    line(f"Verify at /certificates/{certificate.verification_id}", 9, color=LIGHT)

    out = io.BytesIO()
    page.save(out, format="PDF", resolution=DPI, quality=90, title=f"Certificate {certificate.verification_id}",
              subject=f"{certificate.learner_name} completed {certificate.course_title} on "
                      f"{certificate.completed_on.isoformat()}",
              keywords=f"verification id {certificate.verification_id}", author="classpay", creator="classpay")
    return out.getvalue()
