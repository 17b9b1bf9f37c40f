"""User profiles: the display name and roles behind a Cognito `sub`.

Table `<prefix>users`
    hash key  user_id (the Cognito `sub`)

Access patterns
    get a profile by user id ............ GetItem
    create a profile once at sign-up .... PutItem if user_id does not exist
    an instructor edits name, bio, links  UpdateItem if the profile exists
    an instructor's dashboard time zone . UpdateItem `timezone` if the profile exists
    display names of a page of learners . BatchGetItem (name only; the instructor's learner list)

Emails are kept for the owner's own `/me` and for mail; they are never shown
to other users (instructors see display names only).
"""

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import ListAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import condition_failed


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    email: str
    name: str
    groups: frozenset[str]
    created_at: datetime
    bio: str = ""
    links: tuple[str, ...] = ()
    timezone: str | None = None


class UserItem(Model):
    Meta = table_meta("users")

    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    groups = UnicodeSetAttribute(default=set)
    created_at = UTCDateTimeAttribute()
    bio = UnicodeAttribute(default="")
    links = ListAttribute(of=UnicodeAttribute, default=list)
    timezone = UnicodeAttribute(null=True)  # IANA name; the instructor dashboard's day boundary

    def to_profile(self) -> UserProfile:
        return UserProfile(self.user_id, self.email, self.name, frozenset(self.groups or ()), self.created_at,
                           self.bio or "", tuple(self.links or ()), self.timezone)


def get_profile(user_id: str) -> UserProfile | None:
    try:
        return UserItem.get(user_id).to_profile()
    except UserItem.DoesNotExist:
        return None


def create_profile(profile: UserProfile) -> UserProfile:
    """Store a new profile; if one exists already (a retried sign-up), return that one."""
    item = UserItem(
        profile.user_id,
        email=profile.email,
        name=profile.name,
        groups=set(profile.groups) or None,
        created_at=profile.created_at,
    )
    try:
        item.save(condition=UserItem.user_id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return get_profile(profile.user_id) or profile
    return profile


def update_public_profile(user_id: str, name: str, bio: str, links: list[str]) -> UserProfile:
    item = UserItem(user_id)
    item.update(
        actions=[UserItem.name.set(name), UserItem.bio.set(bio), UserItem.links.set(links)],
        condition=UserItem.user_id.exists(),
    )
    return item.to_profile()


def set_timezone(user_id: str, timezone: str) -> None:
    """The instructor's dashboard time zone (counts already made keep the days they were made in)."""
    UserItem(user_id).update(actions=[UserItem.timezone.set(timezone)], condition=UserItem.user_id.exists())


def display_names(user_ids: set[str]) -> dict[str, str]:
    """Display names (only names: never emails) of many users, in one BatchGetItem per 100."""
    if not user_ids:
        return {}
    return {item.user_id: item.name
            for item in UserItem.batch_get(sorted(user_ids), attributes_to_get=["user_id", "name"])}
