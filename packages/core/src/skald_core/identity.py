"""Who is calling: account, user and role. Every service operation takes one."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

Role = Literal["root", "admin", "user"]


class Identity(Struct, frozen=True, kw_only=True):
    account: str = "default"
    user: str = "default"
    role: Role = "user"
    read_only: bool = False


#: The embedded client's identity (contract §3).
DEFAULT_IDENTITY = Identity()
