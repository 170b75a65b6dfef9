"""The storage protocol: a transactional store of sessions, messages, archives, memories,
files, tasks and API keys, keyed by (account, user) — the public methods of
``sql_store.SQLStore``, where each is declared, documented and written once.

Every method is one transaction: it happens completely or not at all, also if the process
dies half way. Backends (``SQLiteStore``, ``PostgresStore``) raise core errors
(``NotFoundError``, ``AlreadyExistsError``, ``StorageUnavailableError``, ...) and never leak
driver exceptions. The contract test suite in ``tests/store`` runs against every backend.
"""

from .sql_store import SQLStore as Store

__all__ = ["Store"]
