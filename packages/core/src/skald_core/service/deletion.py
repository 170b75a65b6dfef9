"""Deletion users can trust: hard and soft delete, restore, purge, batch delete, retention,
commit-before-delete, memory rollback, user erasure and the audit log.

Every removal is one store transaction that also writes its audit row. ``commit_first`` commits,
waits for every extraction of the session, then deletes with a same-transaction check that
nothing new arrived; an append that lands in between is committed and extracted in the next
round (or the call gives up with ABORTED) — never silently lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .. import clock, ids
from ..errors import (
    AbortedError,
    FailedPreconditionError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    SkaldError,
)
from ..identity import Identity
from ..literals import CleanupBy, SessionState
from ..schemas import (
    Actor,
    AuditEntry,
    BatchDeleteResult,
    BatchFailure,
    CleanupMatch,
    CleanupResult,
    DeleteOptions,
    DeletionReceipt,
    ErasureResult,
    SessionMeta,
)
from ..store.deletion_rules import check_still_old
from ..store.model import Owner
from ..store.protocol import Store
from .sessions import SessionService, owner_of, require_writable, session_meta
from .tasks import TaskRunner

MAX_BATCH_DELETE = 1000
MAX_AGE_DAYS = 36_500
COMMIT_FIRST_ROUNDS = 5
DAY = 86_400.0
#: The identity the retention sweep acts (and is audited) as.
RETENTION_ACTOR = Identity(account="system", user="retention", role="root")


def check_options(options: DeleteOptions) -> None:
    """Refuse options no deletion can honour (the same for one session, a batch, a cleanup)."""
    if options.mode not in ("hard", "soft"):
        raise InvalidArgumentError(
            "mode must be 'hard' or 'soft'", {"field": "mode", "value": options.mode}
        )
    if options.mode == "soft" and options.forget_memories:
        raise InvalidArgumentError(
            "forget_memories needs mode='hard': a trashed session can still be restored",
            {"field": "forget_memories"},
        )


def require_admin_of(identity: Identity, account: str) -> None:
    if identity.role == "root" or (identity.role == "admin" and identity.account == account):
        return
    raise ForbiddenError(
        f"Only root or an admin of account {account!r} may do this",
        {"reason": "admin_required", "account": account},
    )


class DeletionService:
    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        sessions: SessionService,
        *,
        extraction_timeout: float = 60.0,
        now: clock.Clock = clock.now,
    ) -> None:
        self.store = store
        self.runner = runner
        self.sessions = sessions
        self.extraction_timeout = extraction_timeout
        self.now = now

    # ------------------------------------------------------------------ one session
    def delete(
        self,
        identity: Identity,
        session_id: str,
        options: DeleteOptions,
        *,
        action: str = "delete",
        older_than: tuple[str, float] | None = None,
    ) -> DeletionReceipt:
        """Delete one session as ``options`` say. ``older_than=(column, cutoff)`` (cleanup)
        makes the delete re-check, in its transaction, that the session is still that old."""
        require_writable(identity)
        ids.check_id(session_id)
        check_options(options)
        if not options.commit_first:
            return self._remove(identity, session_id, options, action=action, older_than=older_than)
        if older_than is not None:
            # Checked once before committing: the commit itself refreshes updated_at.
            self._check_still_old(identity, session_id, older_than)
        for _ in range(COMMIT_FIRST_ROUNDS):
            self.sessions.commit(identity, session_id, wait=True, timeout=self.extraction_timeout)
            self._finish_extractions(owner_of(identity), session_id)
            try:
                return self._remove(identity, session_id, options, action=action)
            except FailedPreconditionError as exc:
                if "uncommitted_messages" in exc.details or "pending_archives" in exc.details:
                    continue  # something arrived meanwhile: commit it too, then try again
                raise
        raise AbortedError(
            f"Session {session_id} kept receiving messages while it was being committed for "
            "deletion; nothing was deleted, try again",
            {"type": "session", "resource": session_id, "rounds": COMMIT_FIRST_ROUNDS},
        )

    def preview(
        self, identity: Identity, session_id: str, options: DeleteOptions
    ) -> DeletionReceipt:
        """The receipt ``delete`` would give, without deleting anything: the store runs the
        same deletion, with the same checks, and rolls it back (nothing is audited). With
        ``commit_first`` it previews the deletion as it stands now (the commit would archive
        the live messages first; the counts are the same)."""
        require_writable(identity)
        ids.check_id(session_id)
        check_options(options)
        if options.commit_first:
            options = DeleteOptions(mode=options.mode, forget_memories=options.forget_memories)
        return self.store.delete_session(
            owner_of(identity), session_id, self.now(), options, actor=identity, dry_run=True
        )

    def _remove(
        self,
        identity: Identity,
        session_id: str,
        options: DeleteOptions,
        *,
        action: str,
        older_than: tuple[str, float] | None = None,
    ) -> DeletionReceipt:
        """The store transaction removing the session. Once ``commit_first`` has committed and
        extracted it, the store refuses it if anything is still uncommitted or unextracted (it
        arrived meanwhile)."""
        owner = owner_of(identity)
        now = self.now()
        return self.store.delete_session(
            owner, session_id, now, options, actor=identity, action=action, older_than=older_than
        )

    def _check_still_old(
        self, identity: Identity, session_id: str, older_than: tuple[str, float]
    ) -> None:
        row = self.store.get_session(owner_of(identity), session_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        check_still_old(row, *older_than)

    def _finish_extractions(self, owner: Owner, session_id: str) -> None:
        """Run or wait for every pending extraction of the session; refuse failed ones."""
        deadline = time.monotonic() + self.extraction_timeout
        while True:
            archives = self.store.archives(owner, session_id)
            failed = [a.archive_no for a in archives if a.status == "failed"]
            if failed:
                raise FailedPreconditionError(
                    f"Extraction failed for archives {failed} of session {session_id}; "
                    "re-extract them or delete without commit_first",
                    {"type": "session", "resource": session_id, "failed_archives": failed},
                )
            if not any(a.status == "pending" for a in archives):
                return
            if time.monotonic() > deadline:
                raise AbortedError(
                    f"Extraction of session {session_id} did not finish in time; nothing was "
                    "deleted",
                    {"type": "session", "resource": session_id},
                )
            # Run this session's queued extractions here (never other users' work); one held
            # by a worker is waited for.
            ran = False
            for task_id in self.store.runnable_tasks(self.now()):
                task = self.store.get_task(owner, task_id)
                if task is not None and task.session_id == session_id:
                    ran = self.runner.run(task_id) or ran
            if not ran:
                time.sleep(0.01)

    def restore(self, identity: Identity, session_id: str) -> SessionMeta:
        require_writable(identity)
        ids.check_id(session_id)
        row = self.store.restore_session(owner_of(identity), session_id, self.now(), actor=identity)
        return session_meta(row)

    # ------------------------------------------------------------------ many sessions
    def delete_many(
        self,
        identity: Identity,
        session_ids: Sequence[str],
        options: DeleteOptions,
    ) -> BatchDeleteResult:
        require_writable(identity)
        if isinstance(session_ids, str | bytes):
            raise InvalidArgumentError(
                "session_ids must be a list of ids, not one string", {"field": "session_ids"}
            )
        if not 1 <= len(session_ids) <= MAX_BATCH_DELETE:
            raise InvalidArgumentError(
                f"session_ids must hold between 1 and {MAX_BATCH_DELETE} ids",
                {"field": "session_ids", "count": len(session_ids)},
            )
        result = BatchDeleteResult(deleted=[], not_found=[], forbidden=[], failed=[])
        for sid in session_ids:
            try:
                result.deleted.append(self.delete(identity, sid, options, action="batch_delete"))
            except NotFoundError:
                result.not_found.append(sid)
            except ForbiddenError:
                result.forbidden.append(sid)
            except SkaldError as exc:
                result.failed.append(
                    BatchFailure(session_id=sid, code=exc.wire_code, message=exc.message)
                )
        return result

    def cleanup(
        self,
        identity: Identity,
        *,
        older_than_days: float,
        by: CleanupBy = "created_at",
        options: DeleteOptions,
        dry_run: bool = False,
        progress: Callable[[int, CleanupResult], bool] | None = None,
    ) -> CleanupResult:
        """The seed's "delete sessions older than 30 days" as one call.

        ``progress(processed, result)`` is called once the matching sessions are listed
        (``processed`` 0) and after each one is dealt with (deleted, failed, or skipped
        because it is gone or no longer that old); it returning False stops the run there,
        every session after it untouched. Each session is deleted whole or not at all."""
        if not dry_run:
            require_writable(identity)
        if not (0 <= older_than_days <= MAX_AGE_DAYS):  # also refuses NaN
            raise InvalidArgumentError(
                f"older_than_days must be between 0 and {MAX_AGE_DAYS}",
                {"field": "older_than_days", "value": str(older_than_days)},
            )
        if by not in ("created_at", "updated_at"):
            raise InvalidArgumentError(
                "by must be 'created_at' or 'updated_at'", {"field": "by", "value": by}
            )
        cutoff = self.now() - older_than_days * DAY
        rows = self.store.expired_sessions(owner_of(identity), cutoff, by)
        result = CleanupResult(
            dry_run=dry_run,
            older_than_days=older_than_days,
            by=by,
            cutoff=clock.iso_ms(cutoff),
            matched=[
                CleanupMatch(
                    session_id=r.session_id,
                    created_at=clock.iso_ms(r.created_at),
                    updated_at=clock.iso_ms(r.updated_at),
                    message_count=r.total_message_count,
                )
                for r in rows
            ],
            deleted=[],
            failed=[],
        )
        if dry_run or (progress is not None and not progress(0, result)):
            return result
        for processed, row in enumerate(rows, 1):
            try:
                result.deleted.append(
                    self.delete(
                        identity, row.session_id, options, action="cleanup", older_than=(by, cutoff)
                    )
                )
            except NotFoundError:
                pass  # deleted by someone else meanwhile: it is gone, as asked
            except SkaldError as exc:
                # A session used or restored since it was listed is no longer what was asked.
                if exc.details.get("reason") != "no_longer_expired":
                    result.failed.append(
                        BatchFailure(
                            session_id=row.session_id, code=exc.wire_code, message=exc.message
                        )
                    )
            if progress is not None and not progress(processed, result):
                break
        return result

    def sweep(self, *, retention_days: float | None, trash_days: float | None) -> int:
        """The server's retention policy: purge live sessions idle (``updated_at``) longer than
        ``retention_days`` and trashed ones deleted longer than ``trash_days`` ago."""
        purged = 0
        now = self.now()
        if retention_days is not None:
            cutoff = now - retention_days * DAY
            for row in self.store.expired_sessions(None, cutoff, "updated_at"):
                purged += self._sweep_one(
                    row.account,
                    row.user,
                    row.session_id,
                    "retention",
                    state="live",
                    older_than=("updated_at", cutoff),
                )
        if trash_days is not None:
            cutoff = now - trash_days * DAY
            for row in self.store.expired_sessions(None, cutoff, "updated_at", trashed=True):
                purged += self._sweep_one(
                    row.account,
                    row.user,
                    row.session_id,
                    "purge",
                    state="trashed",
                    older_than=("deleted_at", cutoff),
                )
        return purged

    def _sweep_one(
        self,
        account: str,
        user: str,
        session_id: str,
        action: str,
        *,
        state: SessionState,
        older_than: tuple[str, float],
    ) -> int:
        """Purge one session if it is still in the ``state`` it was selected in (same
        transaction: a session restored or used since the sweep listed it is kept)."""
        try:
            self.store.delete_session(
                Owner(account, user),
                session_id,
                self.now(),
                actor=RETENTION_ACTOR,
                action=action,
                state=state,
                older_than=older_than,
            )
        except (NotFoundError, FailedPreconditionError):
            return 0
        return 1

    # ------------------------------------------------------------------ users and audit
    def erase_user(self, identity: Identity, account: str, user: str) -> ErasureResult:
        require_writable(identity)
        ids.check_id(account, "account")
        ids.check_id(user, "user")
        require_admin_of(identity, account)
        erased = self.store.erase_user(account, user, self.now(), actor=identity)
        return ErasureResult(account_id=account, user_id=user, deleted=erased)

    def audit(
        self,
        identity: Identity,
        *,
        account: str | None = None,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        before: int | None = None,
    ) -> list[AuditEntry]:
        if identity.role == "root":
            scope = account
        else:
            require_admin_of(identity, account or identity.account)
            scope = identity.account
        if not 1 <= limit <= 1000:
            raise InvalidArgumentError(
                "limit must be between 1 and 1000", {"field": "limit", "value": limit}
            )
        rows = self.store.list_audit(
            scope, limit=limit, action=action, session_id=session_id, before=before
        )
        return [
            AuditEntry(
                id=r.id,
                at=clock.iso_ms(r.at),
                actor=Actor(account_id=r.actor_account, user_id=r.actor_user, role=r.actor_role),
                action=r.action,
                account_id=r.account,
                user_id=r.user,
                session_id=r.session_id,
                counts=r.counts,
                key_id=r.key_id,
            )
            for r in rows
        ]
