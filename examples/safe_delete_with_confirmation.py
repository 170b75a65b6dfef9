"""Seed example "Safe Delete with Confirmation" (delete-session page, Use Cases)."""

import skald as ov

client = ov.OpenViking(path="./my_data")
client.initialize()

session_id = "a1b2c3d4"

# Load session to show details
session = client.session(session_id=session_id)
session.load()

print(f"Session: {session.session_id}")
print(f"Messages: {len(session.messages)}")
print(f"Turns: {session.stats.total_turns}")
print(f"Archives: {session.stats.compression_count}")

# Confirm before deleting
confirm = input("Are you sure you want to delete this session? (yes/no): ")
if confirm.lower() == "yes":
    client.delete_session(session_id)
    print("Session deleted")
else:
    print("Deletion cancelled")
