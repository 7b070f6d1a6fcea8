-- 0001 foundation: the audit log of every call that read or wrote patient data.
-- Released migrations are never edited; add a new numbered file instead.

CREATE TABLE audit_log (
  id          bigserial   PRIMARY KEY,
  at          timestamptz NOT NULL,
  request_id  text        NOT NULL,
  client      text        NOT NULL,
  method      text        NOT NULL,
  channel     text        NOT NULL,
  subject     text        NOT NULL DEFAULT '',
  outcome     text        NOT NULL
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_request_id_idx ON audit_log (request_id);
