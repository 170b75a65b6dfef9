"""Helpers shared by several test directories (``tests/`` is on ``sys.path``: ``support.x``)."""
