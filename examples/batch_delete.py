"""Seed example "Batch Delete" (delete-session page, Use Cases)."""

import skald as ov

client = ov.OpenViking(path="./my_data")
client.initialize()

# Not in the seed: on an empty store, first make the data this example works on, so
# running it shows what it does.
if not client.list_sessions():
    for sid in ("abc123", "def456", "ghi789"):
        client.add_message(sid, "user", f"Session {sid} talking.")

# Delete multiple sessions
session_ids_to_delete = ["abc123", "def456", "ghi789"]

for session_id in session_ids_to_delete:
    try:
        client.delete_session(session_id)
        print(f"Deleted: {session_id}")
    except Exception as e:
        print(f"Failed to delete {session_id}: {e}")
