"""Seed example "Check Session Content First" (delete-session page, Best Practices)."""

import skald as ov

# Context from the seed page: the client its other examples create and the session id
# they work on (the snippet itself uses `client` without creating it).
client = ov.OpenViking(path="./my_data")
client.initialize()
session_id = "a1b2c3d4"

# Load session to review content
session = client.session(session_id="a1b2c3d4")
session.load()

if session.stats.memories_extracted == 0:
    print("Warning: No memories extracted yet")
    response = input("Commit before deleting? (yes/no): ")
    if response == "yes":
        session.commit()

client.delete_session(session.session_id)
