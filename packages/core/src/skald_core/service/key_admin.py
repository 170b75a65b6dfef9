"""API keys managed by admins (the console's keys page): root manages every account's keys,
an admin key those of its own account; a read-only key manages none. The secret of a new key
is returned once and never stored (only its hash is)."""

from __future__ import annotations

from .. import clock, ids
from ..errors import InvalidArgumentError, NotFoundError
from ..identity import Identity
from ..keys import KeyRecord, KeyStore, NewKey
from .deletion import require_admin_of
from .sessions import require_writable

KEY_ROLES = ("user", "admin")


class KeyAdmin:
    def __init__(self, keys: KeyStore, *, now: clock.Clock = clock.now) -> None:
        self.keys = keys
        self.now = now

    def list(self, identity: Identity, account: str | None = None) -> list[KeyRecord]:
        """The keys of ``account`` (default: the caller's; root with none: every account)."""
        if identity.role == "root" and account is None:
            return self.keys.list_keys(None)
        account = ids.check_id(account or identity.account, "account")
        require_admin_of(identity, account)
        return self.keys.list_keys(account)

    def create(
        self, identity: Identity, account: str, user: str, role: str, read_only: bool
    ) -> NewKey:
        require_writable(identity)
        ids.check_id(account, "account")
        ids.check_id(user, "user")
        require_admin_of(identity, account)
        if role not in KEY_ROLES:
            raise InvalidArgumentError(
                "role must be 'user' or 'admin'", {"field": "role", "value": role}
            )
        return self.keys.create_key(account, user, role, read_only, self.now(), actor=identity)  # type: ignore[arg-type]

    def revoke(self, identity: Identity, key_id: str) -> KeyRecord:
        require_writable(identity)
        found = next((k for k in self.list(identity) if k.key_id == key_id), None)
        if found is None or found.revoked_at is not None:
            raise NotFoundError.of("key", key_id)
        if not self.keys.revoke_key(key_id, self.now(), actor=identity):
            raise NotFoundError.of("key", key_id)
        return found
