"""Courses as instructors build them in the studio."""

STUDIO = "/instructor/courses"


def make_course(api, token, title="Python for Data", category="programming", amount=55000, lessons=1,
                publish=True, description="Learn Python by doing"):
    created = api.post(STUDIO, {"title": title, "description": description, "category": category,
                                "price": {"amount": amount, "currency": "KRW"}}, token=token)
    assert created.status_code == 201, created.body
    course_id = created.json_body["course_id"]
    section = api.post(f"{STUDIO}/{course_id}/sections", {"title": "Basics"}, token=token).json_body
    for n in range(lessons):
        response = api.post(f"{STUDIO}/{course_id}/sections/{section['section_id']}/lessons",
                            {"title": f"Lesson {n}", "kind": "video", "duration_seconds": 300}, token=token)
        assert response.status_code == 201, response.body
    if publish:
        published = api.post(f"{STUDIO}/{course_id}/publish", token=token)
        assert published.status_code == 200, published.body
    return course_id
