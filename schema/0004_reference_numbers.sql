-- 0004 reference numbers: 照会番号登録 (OQSsiimm01) requests and the terminal's answers.
-- A row is written (PENDING) before the request is journalled, and completed in the same
-- transaction that completes the journal entry. Released migrations are never edited.

CREATE TABLE reference_number_registrations (
  id                             bigserial   PRIMARY KEY,
  -- The journal key of the request (upstream_journal.request_id); one registration per key.
  request_id                     text        NOT NULL UNIQUE,
  reference_number               text        NOT NULL,
  insurer_number                 text        NOT NULL,
  insured_card_symbol            text        NOT NULL DEFAULT '',
  insured_identification_number  text        NOT NULL,
  insured_branch_number          text        NOT NULL DEFAULT '',
  state                          text        NOT NULL
    CHECK (state IN ('PENDING', 'REGISTERED', 'FAILED', 'REJECTED')),
  error_code                     text        NOT NULL DEFAULT '',
  error_message                  text        NOT NULL DEFAULT '',
  file_name                      text        NOT NULL DEFAULT '',
  raw                            bytea,
  raw_sha256                     text        NOT NULL DEFAULT '',
  requested_at                   timestamptz NOT NULL,
  completed_at                   timestamptz
);
CREATE INDEX reference_number_registrations_number_idx
  ON reference_number_registrations (reference_number, id);
