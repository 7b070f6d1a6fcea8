-- 0006 integrity: event cursors in commit order, journal states and owners, the client's request
-- id on results and registrations, and request keys (idempotency of write calls).
-- Released migrations are never edited; add a new numbered file instead.
--
-- Applied in the migrations runner's single transaction, under its advisory lock: every statement
-- below commits together or not at all. Upgrade every daemon sharing a database together: a daemon
-- built before 0006 reads `RETURNING cursor` at insert time, which is NULL from now on.

-- ---- Events: cursors in commit order ----------------------------------------------------------
--
-- Until now `cursor` was a bigserial drawn at INSERT time and readers asked for `cursor > N`.
-- Numbers are drawn in insert order but become visible in commit order: a transaction holding
-- cursor 16 that commits after the one holding 17 is never seen by a subscriber that has already
-- read 17 and moved its position past it. The event is lost for that subscriber, silently.
--
-- From now on a cursor is drawn at COMMIT, under a transaction-level lock, so that the order of
-- the numbers is the order in which they become visible:
--   * A row is inserted with cursor NULL. The constraint trigger below is DEFERRABLE INITIALLY
--     DEFERRED, so it runs at commit time (in the pre-commit phase, after the transaction's last
--     statement), once per inserted row, in insertion order.
--   * It takes pg_advisory_xact_lock(kEventsCursorLock), then sets the row's cursor from
--     events_cursor_seq. The lock is held until the transaction has ended.
--   * In PostgreSQL's CommitTransaction the commit record is written and the transaction is
--     removed from the proc array (ProcArrayEndTransaction: from then on every new snapshot sees it)
--     BEFORE the transaction's locks are released (ResourceOwnerRelease → LockReleaseAll). So the
--     next transaction can draw a cursor only after the previous holder's rows are visible to
--     everyone: whoever sees cursor N in a snapshot also sees every smaller cursor, and no
--     smaller cursor can appear later. An aborted transaction releases the lock too and only
--     leaves a gap in the numbers, which `cursor > N` does not mind.
--   * Rows whose cursor is NULL belong to transactions that have not committed; other sessions
--     cannot see them at all. ListAfter stays `WHERE cursor > $1 ORDER BY cursor` (NULL never
--     compares greater).
-- Cost: commits that carry events are serialised for the short time between the trigger and the
-- end of the commit (including its WAL flush); commits without events are not affected. The lock
-- wait counts against lock_timeout. Nobody may SET CONSTRAINTS this trigger IMMEDIATE: the cursor
-- would be drawn before the commit again.
--
-- The lock key is "onshid" in ASCII followed by 2 (the migrations runner uses ... 1); advisory
-- locks are per database, so every daemon and site on this database shares the order.

-- A row identity that exists from the insert on (the trigger finds the row by it).
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ALTER COLUMN cursor DROP DEFAULT, ALTER COLUMN cursor DROP NOT NULL;
ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX events_cursor_idx ON events (cursor);

-- Keep drawing from the bigserial's own sequence (still owned by events.cursor), never below a
-- cursor already handed out.
SELECT setval('events_cursor_seq',
              greatest(s.last_value, coalesce(m.max_cursor, 0), 1),
              s.is_called OR m.max_cursor IS NOT NULL)
  FROM events_cursor_seq s, (SELECT max(cursor) AS max_cursor FROM events) m;

-- The old trigger notified at insert time, with a cursor that was not yet in commit order.
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();

CREATE FUNCTION events_assign_cursor() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  assigned bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(8029482077930127362);  -- 0x6F6E736869640002, see above
  UPDATE events SET cursor = nextval('events_cursor_seq') WHERE id = NEW.id
    RETURNING cursor INTO assigned;
  -- Delivered when (and only if) the transaction commits: wakes every subscriber, in this and in
  -- other daemons on the database.
  PERFORM pg_notify('onshid_events', assigned::text);
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER events_assign_cursor AFTER INSERT ON events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_assign_cursor();

-- ---- Upstream journal: owner, state, request bytes ---------------------------------------------
--
-- instance_id: the daemon instance that journalled the request; only it writes and recovers it
--   (several daemons may share one database, each with its own terminal folder). '' for rows
--   journalled before 0006: the first instance that asks for its recoverable entries adopts them.
-- state: JOURNALLED → WRITING → WRITTEN → ANSWERED | REJECTED, any non-final → ABANDONED →
--   ANSWERED | REJECTED (core/upstream.h). completed_at is when it reached ANSWERED, REJECTED or
--   ABANDONED.
-- payload: the request file's bytes, so that a request journalled but not written before a crash
--   is written after the restart. Personal data: cleared (NULL) once the request is ANSWERED or
--   REJECTED.
ALTER TABLE upstream_journal
  ADD COLUMN instance_id        text NOT NULL DEFAULT '',
  ADD COLUMN client_request_id  text NOT NULL DEFAULT '',
  ADD COLUMN state              text,
  ADD COLUMN written_at         timestamptz,
  ADD COLUMN payload            bytea;

-- Rows from before 0006 knew only "completed or not". A completed one had its result or rejection
-- stored: ANSWERED. A pending one may have been written (the old code wrote right after
-- journalling) and may be being answered right now: WRITTEN, so that it is awaited and never
-- written a second time (we do not have its bytes anyway). Its write time is unknown; the
-- journal time is the earliest it can have been, so an answer time-out measured from it errs
-- towards abandoning early, which still accepts a late answer.
UPDATE upstream_journal
   SET state = CASE WHEN completed_at IS NULL THEN 'WRITTEN' ELSE 'ANSWERED' END,
       written_at = journalled_at;

ALTER TABLE upstream_journal
  ALTER COLUMN state SET NOT NULL,
  ADD CONSTRAINT upstream_journal_state_check
    CHECK (state IN ('JOURNALLED', 'WRITING', 'WRITTEN', 'ANSWERED', 'REJECTED', 'ABANDONED')),
  -- Final entries never keep the request bytes.
  ADD CONSTRAINT upstream_journal_payload_check
    CHECK (payload IS NULL OR state NOT IN ('ANSWERED', 'REJECTED'));

-- Recovery looks for one instance's entries by state (and adopts instance '').
DROP INDEX upstream_journal_pending_idx;
CREATE INDEX upstream_journal_recovery_idx ON upstream_journal (instance_id, state);

-- ---- The client's x-request-id next to our internal keys ---------------------------------------
--
-- Journal keys are internal: "<client>/<x-request-id>" for eligibility queries,
-- "refno:<client>/<x-request-id>" for 照会番号 registrations, "checkin:<id>[#r<n>]" for queries a
-- check-in sent (no client request: ''). Clients must see their x-request-id exactly as sent, so it
-- is kept in its own column; for rows from before 0006 it is recovered from the key (client names
-- contain no '/', so the id is everything after the first '/').
-- The same expression three times (inline, so the migration creates no helper object).
UPDATE upstream_journal
   SET client_request_id = CASE WHEN request_id LIKE 'checkin:%' THEN ''
                                WHEN strpos(request_id, '/') > 0
                                  THEN substr(request_id, strpos(request_id, '/') + 1)
                                ELSE '' END;

ALTER TABLE eligibility_results ADD COLUMN client_request_id text NOT NULL DEFAULT '';
UPDATE eligibility_results
   SET client_request_id = CASE WHEN request_id LIKE 'checkin:%' THEN ''
                                WHEN strpos(request_id, '/') > 0
                                  THEN substr(request_id, strpos(request_id, '/') + 1)
                                ELSE '' END
 WHERE source = 'query' AND request_id <> '';

ALTER TABLE reference_number_registrations ADD COLUMN client_request_id text NOT NULL DEFAULT '';
UPDATE reference_number_registrations
   SET client_request_id = substr(request_id, strpos(request_id, '/') + 1)
 WHERE request_id LIKE 'refno:%/%';

-- ---- Request keys (core/request_keys.h) --------------------------------------------------------
--
-- One row per (client, x-request-id) of a write call: the fingerprint of the call that claimed it
-- and, once final, its outcome (answered again to a retry). Purged by claimed_at.
CREATE TABLE request_keys (
  client          text        NOT NULL,
  request_id      text        NOT NULL,
  method          text        NOT NULL,
  fingerprint     text        NOT NULL,
  claimed_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  outcome_code    integer,
  outcome_body    bytea,
  outcome_reason  text,
  audit_subject   text,
  PRIMARY KEY (client, request_id),
  -- An outcome is recorded whole or not at all.
  CHECK ((finished_at IS NULL) = (outcome_code IS NULL)
         AND (outcome_code IS NULL) = (outcome_body IS NULL)
         AND (outcome_code IS NULL) = (outcome_reason IS NULL)
         AND (outcome_code IS NULL) = (audit_subject IS NULL))
);
CREATE INDEX request_keys_claimed_idx ON request_keys (claimed_at);

-- ---- Quarantined files are kept once ---------------------------------------------------------
-- A file read again after a crash (before it was moved out of the terminal's folder) is recognised
-- by its name and bytes and not kept (or reported) twice.
CREATE INDEX quarantined_files_name_idx ON quarantined_files (file_name);
