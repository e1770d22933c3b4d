"""Roles: what a reader, a curator and an admin may do, and who is doing it.

Contract: a role is one of :data:`ROLES`, ordered (a curator may do everything a reader may, an
admin everything a curator may). :data:`ACTIONS` names each guarded action with the least role
that may do it; :func:`allows` answers "may this role do this", and :func:`require` raises
:class:`~core.errors.AccessError` naming who may. Groups still decide *what* is read or written
(an action on a filing or memory entry outside the actor's groups is refused by its owner); the
role decides *which* actions are offered at all.

* ``reader``: ask, browse the catalog and statements, ingest filings shared with their own groups,
  export the memory entries they may read.
* ``curator``: a reader who also adds, edits, approves, retires, removes and imports memory
  entries for their own groups.
* ``admin``: a curator who also ingests for any group, deletes and re-ingests filings, changes a
  filing's ACL, runs evaluations over server folders, starts fine-tuning jobs, promotes rerankers
  and reads the audit log.

Example:
    >>> allows("curator", "memory.approve"), allows("reader", "filing.delete")
    (True, False)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.errors import AccessError
from core.records import Record

Role = Literal["reader", "curator", "admin"]
ROLES: tuple[Role, ...] = ("reader", "curator", "admin")

ACTIONS: dict[str, Role] = {
    "ask": "reader",
    "ingest": "reader",  # into the actor's own groups
    "memory.export": "reader",
    "memory.write": "curator",  # add, edit, retire, remove, import
    "memory.approve": "curator",
    "ingest.any-group": "admin",
    "filing.delete": "admin",
    "filing.reingest": "admin",
    "filing.acl": "admin",
    "eval.run": "admin",
    "finetune.start": "admin",
    "model.promote": "admin",
    "audit.read": "admin",
}


class Actor(Record):
    """Who does something: a name, a role and the ACL groups they act for."""

    name: str
    role: Role = "reader"
    groups: list[str] = Field(default_factory=list)

    def can(self, action: str) -> bool:
        """Whether this actor's role allows ``action`` (a key of :data:`ACTIONS`)."""
        return allows(self.role, action)

    def foreign_groups(self, groups: list[str]) -> list[str]:
        """The groups among ``groups`` this actor does not belong to (empty = allowed)."""
        return [g for g in groups if g not in self.groups]


def allows(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``.

    Raises:
        KeyError: ``action`` is not one of :data:`ACTIONS` (a typo must not read as "allowed").
    """
    need = ACTIONS[action]
    return role in ROLES and ROLES.index(role) >= ROLES.index(need)  # type: ignore[arg-type]


def require(actor: Actor, action: str, what: str) -> None:
    """Raise :class:`AccessError` unless ``actor`` may do ``action``; ``what`` says it in words."""
    if not actor.can(action):
        need = ACTIONS[action]
        raise AccessError(
            f"{what} needs the {need} role; {actor.name} is a {actor.role}. "
            f"Ask an admin to set FINRAG_USERS__ROLES for {actor.name}."
        )
