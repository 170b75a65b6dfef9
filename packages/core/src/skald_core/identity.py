"""Who is calling: account, user and role. Every service operation takes one."""

from __future__ import annotations

from msgspec import Struct

from .literals import Role

__all__ = ["DEFAULT_IDENTITY", "Identity", "Role"]


class Identity(Struct, frozen=True, kw_only=True):
    account: str = "default"
    user: str = "default"
    role: Role = "user"
    read_only: bool = False
    #: Who authenticated, when that differs from the data owner above (an admin or root key
    #: acting for a user): recorded in the audit log and as ``deleted_by``.
    principal: str = ""

    @property
    def actor(self) -> str:
        return self.principal or f"{self.account}/{self.user}"


#: The embedded client's identity (contract §3).
DEFAULT_IDENTITY = Identity()
