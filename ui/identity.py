"""Who is asking: the app user, the ACL groups they read with and their role.

Contract: :func:`current_user` turns the request (its headers) and ``settings.users`` into a
:class:`User`. Every page reads filings, page renders, citations and memory entries with
``user.groups`` only, so nothing outside them is ever fetched, let alone shown.

* Local use (no ``users.identity_header``): one user, ``users.default_user``, with the groups the
  mapping gives them or else ``settings.default_acl``.
* Behind an authenticating proxy: ``users.identity_header`` names the header the proxy sets. The
  header is trusted as is, so the app must only be reachable through that proxy (docker-compose
  does not publish it otherwise). A request without the header is refused with
  :class:`~core.errors.AccessError`; a user missing from ``users.groups`` reads nothing.

Roles (:mod:`core.roles`): the local user is ``admin`` (it is the operator's own machine); a user
behind the proxy has ``users.roles[name]``, else ``users.default_role`` (``reader``). Every page
checks ``user.can(action)`` before it offers or performs a write.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import AccessError
from core.roles import Actor
from core.settings import Settings


class User(Actor):
    """The signed-in user: an :class:`~core.roles.Actor` (name, role, groups) and where the name
    came from. ``user.can("filing.delete")`` asks the role (:data:`core.roles.ACTIONS`)."""

    source: str  # "local" or the header it came from

    @property
    def local(self) -> bool:
        return self.source == "local"


def request_headers() -> Mapping[str, str]:
    """The current Streamlit request's headers (empty outside a browser session, e.g. AppTest)."""
    import streamlit as st

    try:
        return dict(st.context.headers or {})
    except Exception:
        return {}


def resolve_user(settings: Settings, headers: Mapping[str, str]) -> User:
    """The user for a request with ``headers`` under ``settings.users``."""
    users = settings.users
    if not users.identity_header:
        name = users.default_user
        return User(
            name=name,
            groups=list(users.groups.get(name, settings.default_acl)),
            role="admin",
            source="local",
        )
    wanted = users.identity_header.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    name = value.strip()
    if not name:
        raise AccessError(
            f"no user identity: this app expects the {users.identity_header} header from its "
            "sign-in proxy. Open it through the proxy, or unset FINRAG_USERS__IDENTITY_HEADER "
            "for single-user local use."
        )
    return User(
        name=name,
        groups=list(users.groups.get(name, [])),
        role=users.roles.get(name, users.default_role),
        source=users.identity_header,
    )


def current_user(settings: Settings) -> User:
    """The user of the current Streamlit request."""
    return resolve_user(settings, request_headers())
