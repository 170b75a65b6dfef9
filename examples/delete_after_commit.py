"""Seed example "Delete After Commit" (delete-session page, Use Cases)."""

import skald as ov

# Context from the seed page (the snippet itself uses `client` without creating it):
client = ov.OpenViking(path="./my_data")
client.initialize()

session = client.session(session_id="a1b2c3d4")
session.load()

# Commit to extract memories first
result = session.commit()
print(f"Extracted {result['memories_extracted']} memories")

# Now safe to delete the session
client.delete_session(session.session_id)
print("Session deleted, memories preserved")
