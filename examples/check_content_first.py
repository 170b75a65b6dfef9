"""Seed example "Check Session Content First" (delete-session page, Best Practices)."""

import sys

import skald as ov

# Context from the seed page: the client its other examples create and the session id
# they work on (the snippet itself uses `client` without creating it).
client = ov.OpenViking(path="./my_data")
client.initialize()
session_id = "a1b2c3d4"

# Not in the seed: on an empty store, first make the data this example works on, so
# running it shows what it does.
if not client.list_sessions():
    client.add_message("a1b2c3d4", "user", "My name is Grace.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")
    client.add_message("a1b2c3d4", "user", "I love sailing.")
    client.add_message("a1b2c3d4", "assistant", "Noted.")

# Load session to review content
session = client.session(session_id="a1b2c3d4")
session.load()

if session.stats.memories_extracted == 0:
    print("Warning: No memories extracted yet")
    # Not in the seed: --yes answers for you, and without a terminal the answer is "no".
    if "--yes" in sys.argv:
        response = "yes"
    else:
        try:
            response = input("Commit before deleting? (yes/no): ")
        except EOFError:
            response = "no"
            print("(no answer: not committing)")
    if response == "yes":
        session.commit()

client.delete_session(session.session_id)
