"""Who the HTTP API takes a caller for, and what each role may do (no server needed)."""

from __future__ import annotations

import pytest

from core.errors import AccessError
from core.settings import ApiSettings, UsersSettings
from ui.api.access import authenticate, batch_acl, presented_key, require, role_of


@pytest.fixture
def keyed(settings):
    settings.users = UsersSettings(groups={"ann": ["public"], "cat": ["public"], "root": []})
    settings.api = ApiSettings(
        keys={"k-ann": "ann", "k-cat": "cat", "k-root": "root"},
        curators=["cat"],
        admins=["root"],
    )
    return settings


def test_keys_in_either_header(keyed):
    assert presented_key({"authorization": "Bearer  k1 "}) == "k1"
    assert presented_key({"X-API-Key": "k2"}) == "k2"
    assert presented_key({"Authorization": "Basic abc"}) is None
    ann = authenticate(keyed, {"Authorization": "Bearer k-ann"})
    assert (ann.name, ann.groups, ann.source) == ("ann", ["public"], "api-key")
    with pytest.raises(AccessError, match="unknown API key"):
        authenticate(keyed, {"X-API-Key": "k-ann-but-longer"})
    with pytest.raises(AccessError, match="needs a key"):
        authenticate(keyed, {"X-Forwarded-User": "ann"})  # no header is trusted here


def test_identity_header_and_local_operator(settings):
    local = authenticate(settings, {})
    assert local.source == "local" and role_of(local, settings) == "admin"
    settings.users = UsersSettings(identity_header="X-Forwarded-User", groups={"ann": ["public"]})
    user = authenticate(settings, {"x-forwarded-user": "ann"})
    assert (user.name, user.groups, role_of(user, settings)) == ("ann", ["public"], "reader")
    with pytest.raises(AccessError, match="X-Forwarded-User"):
        authenticate(settings, {})


def test_roles(keyed):
    ann, cat, root = (authenticate(keyed, {"X-API-Key": k}) for k in ("k-ann", "k-cat", "k-root"))
    require(ann, "read", keyed)
    for action in ("memory.write", "ingest", "delete"):
        with pytest.raises(AccessError, match="curator|admin"):
            require(ann, action, keyed)
    require(cat, "ingest", keyed)
    with pytest.raises(AccessError, match="FINRAG_API__ADMINS"):
        require(cat, "delete", keyed)
    require(root, "delete", keyed)

    assert batch_acl(cat, None, keyed) == ["public"]
    with pytest.raises(AccessError, match="own groups"):
        batch_acl(cat, ["finance"], keyed)
    assert batch_acl(root, ["finance", "finance"], keyed) == ["finance"]
    with pytest.raises(AccessError, match="no ACL group"):
        batch_acl(root, None, keyed)


def test_an_api_caller_has_the_role_the_app_gives_them(tmp_path):
    from core.settings import Settings
    from ui.api.access import role_of
    from ui.identity import User

    settings = Settings(data_dir=tmp_path)
    settings.users.roles = {"alice": "curator", "root": "admin"}
    settings.api.curators = ["bob"]
    role = {
        n: role_of(User(name=n, groups=[], source="api-key"), settings)
        for n in ["alice", "root", "bob", "eve"]
    }
    assert role == {"alice": "curator", "root": "admin", "bob": "curator", "eve": "reader"}
    assert role_of(User(name="x", groups=[], source="local"), settings) == "admin"
