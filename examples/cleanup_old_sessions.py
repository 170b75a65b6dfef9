"""Seed example "Clean Up Old Sessions" (delete-session page, Use Cases)."""

import skald as ov
from datetime import datetime, timedelta

client = ov.OpenViking(path="./my_data")
client.initialize()

# List all sessions
sessions = client.list_sessions()

# Delete sessions older than 30 days
for session in sessions:
    session_id = session["session_id"]

    # Get session details
    sess = client.session(session_id=session_id)
    sess.load()

    # Check age
    age = datetime.now() - sess.created_at
    if age > timedelta(days=30):
        print(f"Deleting old session: {session_id}")
        client.delete_session(session_id)
