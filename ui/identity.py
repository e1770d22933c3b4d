"""Who is asking: the app user and the ACL groups they read with.

Contract: :func:`current_user` turns the request (its headers) and ``settings.users`` into a
:class:`User`. Every page reads filings, page renders, citations and memory entries with
``user.groups`` only, so nothing outside them is ever fetched, let alone shown.

* Local use (no ``users.identity_header``): one user, ``users.default_user``, with the groups the
  mapping gives them or else ``settings.default_acl``.
* Behind an authenticating proxy: ``users.identity_header`` names the header the proxy sets. The
  header is trusted as is, so the app must only be reachable through that proxy (docker-compose
  does not publish it otherwise). A request without the header is refused with
  :class:`~core.errors.AccessError`; a user missing from ``users.groups`` reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from core.errors import AccessError
from core.settings import Settings


class User(BaseModel):
    name: str
    groups: list[str]
    source: str  # "local" or the header it came from

    def foreign_groups(self, groups: list[str]) -> list[str]:
        """The groups among ``groups`` this user does not belong to (empty = allowed)."""
        return [g for g in groups if g not in self.groups]


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
            name=name, groups=list(users.groups.get(name, settings.default_acl)), source="local"
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
    return User(name=name, groups=list(users.groups.get(name, [])), source=users.identity_header)


def current_user(settings: Settings) -> User:
    """The user of the current Streamlit request."""
    return resolve_user(settings, request_headers())
