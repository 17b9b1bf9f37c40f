"""The learner's side after checkout: my learning, lesson files, progress, certificates, booked sessions.

The certificate is imported inside its views: it writes its PDF with fpdf2, which only DrawingHandler carries
(infra/function_layers.py).
"""

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.courses import InstructorRef
from chalicelib.api.routing import LEARNER, PUBLIC, SIGNED_IN, ApiBlueprint, Call, Reply
from chalicelib.api.schemas import EnrollmentStatus, Input, Page, PageQuery, Timestamp
from chalicelib.services import learning

if TYPE_CHECKING:
    from chalicelib.services import certificates
    from chalicelib.store.enrollments import Enrollment

learning_api = ApiBlueprint(__name__, tag="learning")

PDF = "application/pdf"


class EnrolledCourse(msgspec.Struct):
    course_id: str
    title: str
    category: str
    thumbnail_url: str | None
    instructor: InstructorRef
    lesson_count: int


class NextSession(msgspec.Struct):
    session_id: str
    starts_at: Timestamp
    duration_minutes: int


class EnrollmentOut(msgspec.Struct):
    enrollment_id: str
    course_id: str
    status: EnrollmentStatus
    progress_percent: int
    completed_lesson_count: int
    last_lesson_id: str | None
    last_position_seconds: int | None
    session_id: str | None
    enrolled_at: Timestamp
    completed_at: Timestamp | None
    certificate_id: str | None


class EnrollmentDetail(EnrollmentOut):
    completed_lessons: list[str]


class MyEnrollmentOut(EnrollmentOut):
    course: EnrolledCourse | None
    next_session: NextSession | None


class ProgressInput(Input):
    completed: bool
    position_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400, description="where to resume, in seconds")] = 0


class LessonFileOut(msgspec.Struct):
    lesson_id: str
    url: str
    method: str
    content_type: str | None
    expires_at: Timestamp


class BookedSessionOut(msgspec.Struct):
    session_id: str
    course_id: str
    course_title: str
    starts_at: Timestamp
    duration_minutes: int
    join_opens_at: Timestamp
    join_url: str | None


class FormatQuery(msgspec.Struct):
    format: Literal["json", "pdf"] = "json"


class CertificateOut(msgspec.Struct):
    verification_id: str
    course_id: str
    enrollment_id: str
    learner_name: str
    course_title: str
    instructor_name: str
    completed_at: Timestamp
    verify_path: str


class PublicCertificateOut(msgspec.Struct):
    verification_id: str
    learner_name: str
    course_title: str
    completed_on: date


def _enrollment_fields(enrollment: "Enrollment") -> dict:
    return dict(
        enrollment_id=enrollment.enrollment_id, course_id=enrollment.course_id, status=enrollment.status,
        progress_percent=enrollment.progress_percent, completed_lesson_count=len(enrollment.completed_lessons),
        last_lesson_id=enrollment.last_lesson_id, last_position_seconds=enrollment.last_position_seconds,
        session_id=enrollment.session_id, enrolled_at=enrollment.enrolled_at, completed_at=enrollment.completed_at,
        certificate_id=enrollment.certificate_id,
    )


def _detail(enrollment: "Enrollment") -> EnrollmentDetail:
    return EnrollmentDetail(**_enrollment_fields(enrollment), completed_lessons=sorted(enrollment.completed_lessons))


def _my_enrollment(found: "learning.MyEnrollment") -> MyEnrollmentOut:
    course = found.course
    session = found.next_session
    return MyEnrollmentOut(
        **_enrollment_fields(found.enrollment),
        course=EnrolledCourse(course.course_id, course.title, course.category, course.thumbnail_url,
                              InstructorRef(course.instructor_id, course.instructor_name), course.lesson_count)
        if course else None,
        next_session=NextSession(session.session_id, session.starts_at, session.duration_minutes) if session else None,
    )


def _pdf_reply(certificate: "certificates.PublicCertificate", headers: dict[str, str]) -> Reply:
    from chalicelib.services import certificates
    accept = next((value for name, value in headers.items() if name.lower() == "accept"), "")
    if PDF not in accept.lower() and "*/*" not in accept:
        raise errors.NotAcceptable("Send `Accept: application/pdf` to receive the certificate as a PDF",
                                   errors=[errors.FieldError("Accept", "must allow application/pdf")])
    filename = f"certificate-{certificate.verification_id}.pdf"
    return Reply(certificates.render_pdf(certificate), content_type=PDF,
                 headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private"})


@learning_api.endpoint("GET", "/me/enrollments", policy=LEARNER, query=PageQuery, response=Page[MyEnrollmentOut],
                       summary="My courses, newest enrollment first, with progress and my next booked session")
def my_enrollments(call: Call):
    items, next_cursor = learning.my_enrollments(call.caller, call.query.limit, call.query.cursor)
    return Page(items=[_my_enrollment(found) for found in items], next_cursor=next_cursor)


@learning_api.endpoint("GET", "/me/enrollments/{course_id}", policy=LEARNER, response=EnrollmentDetail,
                       summary="My enrollment in a course, with the lessons I completed", errors=(errors.NotFound,))
def my_enrollment(call: Call, course_id: str):
    return _detail(learning.my_enrollment(call.caller, course_id))


@learning_api.endpoint(
    "PUT", "/me/enrollments/{course_id}/lessons/{lesson_id}/progress", policy=LEARNER, body=ProgressInput,
    response=EnrollmentDetail,
    summary="Save my position in a lesson, and mark it complete (idempotent; never un-completes a lesson)",
    errors=(errors.NotFound, errors.Forbidden, errors.Conflict),
)
def record_progress(call: Call, course_id: str, lesson_id: str):
    body: ProgressInput = call.body
    return _detail(learning.record_progress(call.caller, course_id, lesson_id, body.completed, body.position_seconds))


@learning_api.endpoint(
    "GET", "/courses/{course_id}/lessons/{lesson_id}/content", policy=SIGNED_IN, response=LessonFileOut,
    summary="A short-lived presigned GET of a lesson's file: for its learners, its instructor, admins; "
            "preview lessons for anyone signed in",
    errors=(errors.NotFound, errors.Forbidden, errors.Conflict),
)
def lesson_content(call: Call, course_id: str, lesson_id: str):
    found = learning.lesson_file(call.caller, course_id, lesson_id)
    return LessonFileOut(found.lesson_id, found.url, "GET", found.content_type, found.expires_at)


@learning_api.endpoint("GET", "/me/sessions", policy=LEARNER, query=PageQuery, response=Page[BookedSessionOut],
                       summary="Live sessions I booked; the join URL appears from 15 minutes before the start")
def my_sessions(call: Call):
    items, next_cursor = learning.my_sessions(call.caller, call.query.limit, call.query.cursor)
    return Page(items=[BookedSessionOut(b.session.session_id, b.session.course_id, b.course_title,
                                        b.session.starts_at, b.session.duration_minutes, b.join_opens_at, b.join_url)
                       for b in items], next_cursor=next_cursor)


@learning_api.endpoint(
    "GET", "/me/certificates/{course_id}", policy=LEARNER, query=FormatQuery, response=CertificateOut,
    alternatives=(PDF,),
    summary="My certificate for a completed course (`?format=pdf` with `Accept: application/pdf` for the PDF)",
    errors=(errors.NotFound, errors.Forbidden, errors.CourseNotCompleted, errors.NotAcceptable),
)
def my_certificate(call: Call, course_id: str):
    from chalicelib.services import certificates
    certificate = certificates.my_certificate(call.caller, course_id)
    if call.query.format == "pdf":
        return _pdf_reply(certificates.public_view(certificate), call.headers)
    return CertificateOut(certificate.verification_id, certificate.course_id, certificate.enrollment_id,
                          certificate.learner_name, certificate.course_title, certificate.instructor_name,
                          certificate.completed_at, f"/certificates/{certificate.verification_id}")


@learning_api.endpoint(
    "GET", "/certificates/{verification_id}", policy=PUBLIC, query=FormatQuery, response=PublicCertificateOut,
    alternatives=(PDF,),
    summary="Verify a certificate: the learner's display name, the course title and the completion date only",
    errors=(errors.NotFound, errors.NotAcceptable),
)
def verify_certificate(call: Call, verification_id: str):
    from chalicelib.services import certificates
    certificate = certificates.verify(verification_id)
    if call.query.format == "pdf":
        return _pdf_reply(certificate, call.headers)
    return PublicCertificateOut(certificate.verification_id, certificate.learner_name, certificate.course_title,
                                certificate.completed_on)
