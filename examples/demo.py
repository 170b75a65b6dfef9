"""Skald in one minute: create a session, add messages, commit, delete — and see what stayed.

Run with:  uv run python examples/demo.py [DATA_DIR]
(without DATA_DIR the data goes to a fresh temporary directory, removed at the end)
"""

import shutil
import sys
import tempfile

import skald as ov

if len(sys.argv) > 1:
    path = sys.argv[1]
    shutil.rmtree(path, ignore_errors=True)
else:
    path = tempfile.mkdtemp(prefix="skald-demo-")

with ov.OpenViking(path=path) as client:
    created = client.create_session("demo-1")
    print(f"Created session {created['session_id']} at {created['uri']}")

    client.add_message("demo-1", "user", "Hi! My name is Ada. I work as a compiler engineer.")
    client.add_message("demo-1", "assistant", "Nice to meet you, Ada.")
    client.add_message("demo-1", "user", "I love hiking, and I don't like meetings before 10am.")
    client.add_message("demo-1", "assistant", "Noted.")

    session = client.session("demo-1")
    print(f"Messages: {len(session.messages)}, turns: {session.stats.total_turns}")

    result = session.commit()
    print(
        f"Committed into {result['archive_uri']}: {result['memories_extracted']} memories extracted"
    )

    receipt = client.delete_session("demo-1")
    removed = receipt["deleted"]
    print(
        f"Deleted session {receipt['session_id']}: removed {removed['messages']} messages, "
        f"{removed['archives']} archives, {removed['files']} files"
    )
    print(f"Kept {receipt['kept']['memories']} memories:")
    for node in client.ls("viking://user/default/memories", recursive=True):
        if not node["isDir"]:
            print(f"  {node['uri']}: {client.read(node['uri']).strip()}")

    print(f"Session still exists? {client.session_exists('demo-1')}")

if len(sys.argv) <= 1:
    shutil.rmtree(path, ignore_errors=True)
