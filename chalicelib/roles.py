"""Who is calling: the roles (Cognito groups) and the verified caller."""

from dataclasses import dataclass

LEARNERS = "learners"
INSTRUCTORS = "instructors"
ADMINS = "admins"
ALL_GROUPS = (LEARNERS, INSTRUCTORS, ADMINS)

# What a sign-up may ask for, and the group each becomes. Admins are made by hand.
SIGNUP_ROLES = {"learner": LEARNERS, "instructor": INSTRUCTORS}
# How a group is named to clients (the singular of sign-up's `roles`).
ROLE_OF_GROUP = {LEARNERS: "learner", INSTRUCTORS: "instructor", ADMINS: "admin"}


@dataclass(frozen=True)
class Caller:
    """A caller whose token was verified; `user_id` is the Cognito `sub`."""

    user_id: str
    groups: frozenset[str]

    def is_in(self, group: str) -> bool:
        return group in self.groups
