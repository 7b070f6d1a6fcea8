-- 0005 fallback: fallback cases (when マイナ保険証 verification fails), their append-only proof of
-- attempt, the 申立書 personal data kept apart so that a purge deletes exactly it, and follow-up
-- tasks. Released migrations are never edited; add a new numbered file instead.

CREATE TABLE fallback_cases (
  id           text        PRIMARY KEY,
  version      bigint      NOT NULL CHECK (version >= 1),
  client_key   text        NOT NULL DEFAULT '',
  check_in_id  text        NOT NULL DEFAULT '',
  state        text        NOT NULL,
  claim_route  text        NOT NULL DEFAULT '',
  day          text        NOT NULL,  -- Japan calendar date the case was opened, YYYY-MM-DD
  opened_at    timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  closed_at    timestamptz,
  body         text        NOT NULL   -- owned by the application
);
CREATE UNIQUE INDEX fallback_cases_client_key_idx ON fallback_cases (client_key) WHERE client_key <> '';
CREATE UNIQUE INDEX fallback_cases_check_in_idx ON fallback_cases (check_in_id) WHERE check_in_id <> '';
CREATE INDEX fallback_cases_state_idx ON fallback_cases (state, opened_at);
CREATE INDEX fallback_cases_day_idx ON fallback_cases (day, opened_at);

-- The proof of attempt: never updated or deleted (enforced below), also not by a purge.
CREATE TABLE fallback_attempts (
  case_id  text        NOT NULL REFERENCES fallback_cases (id),
  seq      bigint      NOT NULL,
  at       timestamptz NOT NULL,
  actor    text        NOT NULL,
  kind     text        NOT NULL,
  body     text        NOT NULL,
  PRIMARY KEY (case_id, seq)
);
CREATE FUNCTION fallback_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'fallback_attempts is append-only';
END;
$$;
CREATE TRIGGER fallback_attempts_no_change BEFORE UPDATE OR DELETE ON fallback_attempts
  FOR EACH ROW EXECUTE FUNCTION fallback_attempts_append_only();

-- 申立書 and other personal data of a case; deleted when the case's claim work is finished.
CREATE TABLE fallback_personal_data (
  case_id    text        PRIMARY KEY REFERENCES fallback_cases (id),
  body       text        NOT NULL,
  stored_at  timestamptz NOT NULL
);

CREATE TABLE fallback_tasks (
  id          text        PRIMARY KEY,
  case_id     text        NOT NULL REFERENCES fallback_cases (id),
  kind        text        NOT NULL,
  state       text        NOT NULL,
  due_day     text        NOT NULL,
  created_at  timestamptz NOT NULL,
  done_at     timestamptz,
  done_by     text        NOT NULL DEFAULT '',
  body        text        NOT NULL
);
CREATE INDEX fallback_tasks_due_idx ON fallback_tasks (state, due_day, created_at);
CREATE INDEX fallback_tasks_case_idx ON fallback_tasks (case_id);
