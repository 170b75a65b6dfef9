"""Seed example "Delete After Commit" (delete-session page, Use Cases)."""

import skald as ov

# Context from the seed page (the snippet itself uses `client` without creating it):
client = ov.OpenViking(path="./my_data")
client.initialize()

# Not in the seed: on an empty store, first make the data this example works on, so
# running it shows what it does.
if not client.list_sessions():
    client.add_message("a1b2c3d4", "user", "Hi, my name is Ada.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")
    client.add_message("a1b2c3d4", "user", "I love hiking.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")
    client.add_message("a1b2c3d4", "user", "I don't like meetings before 10am.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")

session = client.session(session_id="a1b2c3d4")
session.load()

# Commit to extract memories first
result = session.commit()
print(f"Extracted {result['memories_extracted']} memories")

# Now safe to delete the session
client.delete_session(session.session_id)
print("Session deleted, memories preserved")
