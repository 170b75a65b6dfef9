"""The product end to end in a few lines: add, commit, delete; memories survive."""

import skald as ov


def test_add_commit_delete_keeps_memories(tmp_path):
    with ov.OpenViking(path=tmp_path) as client:
        client.add_message("s1", "user", "Hello, my name is Ada and I love hiking.")
        result = client.session("s1").commit()
        assert result["status"] == "completed"
        assert result["memories_extracted"] == 2

        receipt = client.delete_session("s1")

        assert receipt["deleted"]["messages"] == 1
        assert receipt["kept"]["memories"] == 2
        assert not client.session_exists("s1")
        assert "Ada" in client.read("viking://user/default/memories/profile/name.md")
