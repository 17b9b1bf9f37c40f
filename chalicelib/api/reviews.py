"""Course reviews: public list; enrolled learners write one and edit it; the instructor replies once."""

from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from chalicelib import clock, errors
from chalicelib.api.routing import INSTRUCTOR, LEARNER, PUBLIC, ApiBlueprint, Call
from chalicelib.api.schemas import VISIBLE, Input, Page, PageQuery, Timestamp
from chalicelib.services import reviews

if TYPE_CHECKING:
    from chalicelib.store.reviews import Review

reviews_api = ApiBlueprint(__name__, tag="reviews")

Stars = Annotated[int, msgspec.Meta(ge=1, le=5, description="1 to 5 stars")]
ReviewText = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=VISIBLE,
                                         description="plain text, returned as sent (never rendered as HTML)")]


class NewReview(Input):
    rating: Stars
    text: ReviewText


class ReviewChanges(Input):
    json_schema_extra: ClassVar[dict] = {"minProperties": 1}  # an empty edit is refused
    rating: Stars | UnsetType = UNSET
    text: ReviewText | UnsetType = UNSET


class NewReply(Input):
    text: ReviewText


class ReplyOut(msgspec.Struct):
    text: str
    replied_at: Timestamp


class ReviewOut(msgspec.Struct):
    review_id: str
    course_id: str
    learner_name: str
    rating: int
    text: str
    created_at: Timestamp
    updated_at: Timestamp
    edited: bool
    reply: ReplyOut | None


def review_out(review: "Review") -> ReviewOut:
    reply = ReplyOut(review.reply_text, review.replied_at) if review.reply_text is not None else None
    edited = clock.to_rfc3339(review.updated_at) != review.created_at
    return ReviewOut(review.review_id, review.course_id, review.learner_name, review.rating, review.text,
                     review.created_at, review.updated_at, edited, reply)


@reviews_api.endpoint("GET", "/courses/{course_id}/reviews", policy=PUBLIC, query=PageQuery,
                      response=Page[ReviewOut], summary="A published course's reviews, newest first",
                      errors=(errors.NotFound,))
def list_reviews(call: Call, course_id: str):
    items, next_cursor = reviews.list_reviews(course_id, call.query.limit, call.query.cursor)
    return Page(items=[review_out(r) for r in items], next_cursor=next_cursor)


@reviews_api.endpoint("POST", "/courses/{course_id}/reviews", policy=LEARNER, body=NewReview, response=ReviewOut,
                      status=201, summary="Review a course you are enrolled in (one each; edit it with PATCH .../mine)",
                      errors=(errors.NotFound, errors.Forbidden, errors.AlreadyReviewed, errors.Conflict))
def write_review(call: Call, course_id: str):
    return review_out(reviews.write_review(call.caller, course_id, call.body.rating, call.body.text))


@reviews_api.endpoint("GET", "/courses/{course_id}/reviews/mine", policy=LEARNER, response=ReviewOut,
                      summary="My review of a course", errors=(errors.NotFound,))
def my_review(call: Call, course_id: str):
    return review_out(reviews.my_review(call.caller, course_id))


@reviews_api.endpoint("PATCH", "/courses/{course_id}/reviews/mine", policy=LEARNER, body=ReviewChanges,
                      response=ReviewOut, summary="Change my review's rating and/or text",
                      errors=(errors.NotFound, errors.Forbidden, errors.Conflict))
def edit_review(call: Call, course_id: str):
    body: ReviewChanges = call.body
    if body.rating is UNSET and body.text is UNSET:
        raise errors.ValidationFailed.on("body", "change rating or text")
    rating = None if body.rating is UNSET else body.rating
    text = None if body.text is UNSET else body.text
    return review_out(reviews.edit_review(call.caller, course_id, rating, text))


@reviews_api.endpoint("POST", "/courses/{course_id}/reviews/{review_id}/reply", policy=INSTRUCTOR, body=NewReply,
                      response=ReviewOut, status=201, summary="Reply to a review of your course (once)",
                      errors=(errors.NotFound, errors.Forbidden, errors.Conflict))
def reply(call: Call, course_id: str, review_id: str):
    return review_out(reviews.reply(call.caller, course_id, review_id, call.body.text))
