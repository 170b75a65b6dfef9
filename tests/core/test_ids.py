"""Message and request ids: 32 hex digits, unique, also between forked worker processes."""

from __future__ import annotations

import os
import re

from skald_core.ids import new_message_id, new_request_id


def test_ids_are_32_hex_digits_and_do_not_repeat() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert re.fullmatch(r"msg_[0-9a-f]{32}", new_message_id())


def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    """``skald serve --workers N`` forks its workers: each must draw its own ids."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.write(write, " ".join(new_message_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 4096).decode().split())
    os.close(read)
    parent = {new_message_id() for _ in range(5)}
    assert len(child) == 5 and not child & parent
