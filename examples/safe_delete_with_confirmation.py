"""Seed example "Safe Delete with Confirmation" (delete-session page, Use Cases)."""

import sys

import skald as ov

client = ov.OpenViking(path="./my_data")
client.initialize()

session_id = "a1b2c3d4"

# Not in the seed: on an empty store, first make the data this example works on, so
# running it shows what it does.
if not client.list_sessions():
    client.add_message("a1b2c3d4", "user", "First question.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")
    client.add_message("a1b2c3d4", "user", "Second question.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")

# Load session to show details
session = client.session(session_id=session_id)
session.load()

print(f"Session: {session.session_id}")
print(f"Messages: {len(session.messages)}")
print(f"Turns: {session.stats.total_turns}")
print(f"Archives: {session.stats.compression_count}")

# Confirm before deleting
# (Not in the seed: --yes answers for you, and without a terminal the answer is "no".)
if "--yes" in sys.argv:
    confirm = "yes"
else:
    try:
        confirm = input("Are you sure you want to delete this session? (yes/no): ")
    except EOFError:
        confirm = "no"
        print("(no answer)")
if confirm.lower() == "yes":
    client.delete_session(session_id)
    print("Session deleted")
else:
    print("Deletion cancelled")
