"""Who is calling the HTTP API, and what they may do: every check goes through :func:`require`.

Contract: :func:`authenticate` turns a request's headers into the same :class:`~ui.identity.User`
the app would (name, ACL groups from ``settings.users.groups``), or raises
:class:`~core.errors.AccessError` (the API answers 401):

* an API key in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` names the user
  ``settings.api.keys[KEY]``; keys are compared in constant time, and a wrong key is refused even
  when another way in would have worked;
* else the trusted identity header ``settings.users.identity_header`` (set by a sign-in proxy,
  exactly as for the app) names the user;
* else, when neither keys nor an identity header are configured, the caller is the local operator
  (``users.default_user``), which ``finrag serve`` allows on a loopback address only.

:func:`role_of` is the caller's role: ``admin`` (the local operator or a name in
``settings.api.admins``), ``curator`` (``settings.api.curators``) or ``reader``. :func:`require`
raises :class:`~core.errors.AccessError` (403) unless the role allows the action: readers read
and ask; curators also write the memory bank and ingest into their own groups; admins also
ingest into any group and delete. :func:`batch_acl` is the ACL a new filing or memory entry gets.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Literal

from core.errors import AccessError
from core.settings import Settings
from ui.identity import User, resolve_user

Role = Literal["reader", "curator", "admin"]
Action = Literal["read", "memory.write", "ingest", "share.any", "delete"]

ALLOWED: dict[Role, frozenset[str]] = {
    "reader": frozenset({"read"}),
    "curator": frozenset({"read", "memory.write", "ingest"}),
    "admin": frozenset({"read", "memory.write", "ingest", "share.any", "delete"}),
}
_NEEDS = {
    "memory.write": "a curator (FINRAG_API__CURATORS) or an admin (FINRAG_API__ADMINS)",
    "ingest": "a curator (FINRAG_API__CURATORS) or an admin (FINRAG_API__ADMINS)",
    "share.any": "an admin (FINRAG_API__ADMINS) or the local operator",
    "delete": "an admin (FINRAG_API__ADMINS) or the local operator",
}
KEY_SOURCE = "api-key"


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The API key in ``Authorization: Bearer KEY`` or ``X-API-Key``, if any."""
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


def authenticate(settings: Settings, headers: Mapping[str, str]) -> User:
    """The caller of a request with ``headers``.

    Raises:
        AccessError: a wrong key, or no key and no identity where one is needed.
    """
    keys = settings.api.keys
    key = presented_key(headers)
    if key is not None:
        name = _match_key(key, keys)
        if name is None:
            raise AccessError("unknown API key; ask the operator for one (FINRAG_API__KEYS)")
        return User(name=name, groups=list(settings.users.groups.get(name, [])), source=KEY_SOURCE)
    if keys and not settings.users.identity_header:
        raise AccessError(
            "this API needs a key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`"
        )
    # The proxy's identity header (refused without it), or the local operator when neither keys
    # nor a header are configured.
    return resolve_user(settings, headers)


def _match_key(key: str, keys: Mapping[str, str]) -> str | None:
    # Every configured key is compared, in constant time, so timing tells nothing about which
    # (or how much of one) matched.
    found = None
    given = key.encode()
    for candidate, name in keys.items():
        if hmac.compare_digest(given, candidate.encode()):
            found = name
    return found


def role_of(user: User, settings: Settings) -> Role:
    """The caller's role: the local operator and ``api.admins`` are admins; otherwise the role
    the app gives the user (``FINRAG_USERS__ROLES``, else ``users.default_role``), raised to
    curator for ``api.curators``."""
    if user.source == "local" or user.name in settings.api.admins:
        return "admin"
    configured = settings.users.roles.get(user.name, settings.users.default_role)
    if configured == "admin":
        return "admin"
    if user.name in settings.api.curators:
        return "curator"
    return configured


def require(user: User, action: Action, settings: Settings) -> None:
    """Allow ``action`` for ``user`` or raise.

    Raises:
        AccessError: the user's role does not allow it; the message says who may.
    """
    if action not in ALLOWED[role_of(user, settings)]:
        raise AccessError(f"{user.name} may not do this ({action}); it takes {_NEEDS[action]}")


def batch_acl(user: User, groups: list[str] | None, settings: Settings) -> list[str]:
    """The ACL of what ``user`` adds: the named groups, or all of theirs.

    Raises:
        AccessError: a group the user is not in, unless they may share with any group, or no
            groups at all.
    """
    if not groups:
        if not user.groups:
            raise AccessError(
                f"{user.name} belongs to no ACL group, so nothing they add could be read; "
                "name the groups (acl) or add the user to FINRAG_USERS__GROUPS"
            )
        return list(user.groups)
    foreign = user.foreign_groups(groups)
    if foreign and "share.any" not in ALLOWED[role_of(user, settings)]:
        raise AccessError(
            f"you can only share with your own groups ({', '.join(user.groups) or 'none'}), "
            f"not {', '.join(foreign)}; sharing with other groups takes {_NEEDS['share.any']}"
        )
    return list(dict.fromkeys(groups))
