-- 0002 upstream: the request journal of the terminal's file protocol, every result received (raw
-- bytes kept as evidence and re-parsed on read), quarantined files, and the append-only event log.

CREATE SEQUENCE upstream_request_seq;

CREATE TABLE upstream_journal (
  request_id                 text        PRIMARY KEY,
  message_type               text        NOT NULL,
  kind                       text        NOT NULL,
  file_name                  text        NOT NULL UNIQUE,
  payload_sha256             text        NOT NULL,
  arbitrary_file_identifier  text        NOT NULL DEFAULT '',
  journalled_at              timestamptz NOT NULL,
  completed_at               timestamptz
);
CREATE INDEX upstream_journal_pending_idx ON upstream_journal (journalled_at) WHERE completed_at IS NULL;

CREATE TABLE eligibility_results (
  id                             bigserial   PRIMARY KEY,
  source                         text        NOT NULL CHECK (source IN ('query', 'face')),
  request_id                     text        NOT NULL DEFAULT '',
  file_name                      text        NOT NULL UNIQUE,
  raw                            bytea       NOT NULL,
  raw_sha256                     text        NOT NULL,
  xml                            text        NOT NULL,
  received_at                    timestamptz NOT NULL,
  insurer_number                 text        NOT NULL DEFAULT '',
  insured_card_symbol            text        NOT NULL DEFAULT '',
  insured_identification_number  text        NOT NULL DEFAULT '',
  insured_branch_number          text        NOT NULL DEFAULT '',
  birth_date                     text        NOT NULL DEFAULT '',
  reference_number               text        NOT NULL DEFAULT '',
  validity                       text        NOT NULL DEFAULT ''
);
CREATE INDEX eligibility_results_sha_idx ON eligibility_results (raw_sha256);
CREATE INDEX eligibility_results_ids_idx ON eligibility_results (insurer_number, insured_identification_number);
CREATE INDEX eligibility_results_birth_idx ON eligibility_results (birth_date);
CREATE INDEX eligibility_results_ref_idx ON eligibility_results (reference_number) WHERE reference_number <> '';
CREATE INDEX eligibility_results_request_idx ON eligibility_results (request_id) WHERE request_id <> '';

CREATE TABLE quarantined_files (
  id          bigserial   PRIMARY KEY,
  file_name   text        NOT NULL,
  raw         bytea       NOT NULL,
  reason      text        NOT NULL,
  at          timestamptz NOT NULL
);

CREATE TABLE events (
  cursor      bigserial   PRIMARY KEY,
  at          timestamptz NOT NULL,
  type        text        NOT NULL,
  result_id   bigint      NOT NULL DEFAULT 0,
  request_id  text        NOT NULL DEFAULT '',
  file_name   text        NOT NULL DEFAULT '',
  detail      text        NOT NULL DEFAULT '',
  attributes  jsonb       NOT NULL DEFAULT '{}'
);

-- Wake every subscriber (in this and other daemons on the same database) when an event commits.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('onshid_events', NEW.cursor::text);
  RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_notify();
