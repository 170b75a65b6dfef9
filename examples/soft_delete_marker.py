"""Seed example "Implement Soft Delete" (delete-session page, Best Practices)."""

import skald as ov
import json  # the seed omits this import but uses json.dumps below
from datetime import datetime

client = ov.OpenViking(path="./my_data")
client.initialize()

# Add deletion marker instead of actual deletion
session_uri = f"viking://session/a1b2c3d4"  # noqa: F541 (the seed's f-string, kept verbatim)
meta = {"deleted": True, "deleted_at": datetime.now().isoformat()}
client._viking_fs.write_file(f"{session_uri}/.deleted.json", json.dumps(meta), ctx=client.ctx)
print("Session marked as deleted")

# Later: Permanently delete marked sessions
sessions = client.list_sessions()
for sess in sessions:
    try:
        deleted_marker = client.read(f"{sess['uri']}/.deleted.json")
        if deleted_marker:
            client.delete_session(sess["session_id"])
            print(f"Permanently deleted: {sess['session_id']}")
    except:
        pass  # No deletion marker
