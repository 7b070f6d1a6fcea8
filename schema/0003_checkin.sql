-- 0003 checkin: check-ins (受付) as searchable columns plus the application's opaque JSON body, the
-- results linked to them, and the append-only history of their patient links.
-- Released migrations are never edited; add a new numbered file instead.

CREATE TABLE check_ins (
  id                text        PRIMARY KEY,
  version           bigint      NOT NULL CHECK (version >= 1),
  -- Idempotency key of the creating request; '' for check-ins created by an arriving result.
  client_key        text        NOT NULL DEFAULT '',
  day               text        NOT NULL,  -- Japan calendar date of arrival, YYYY-MM-DD
  desk_id           text        NOT NULL DEFAULT '',
  state             text        NOT NULL,
  correlation       text        NOT NULL DEFAULT '',
  patient_id        text        NOT NULL DEFAULT '',
  result_id         bigint      NOT NULL DEFAULT 0,
  reference_number  text        NOT NULL DEFAULT '',
  card_key          text        NOT NULL DEFAULT '',
  kana_key          text        NOT NULL DEFAULT '',
  birth_date        text        NOT NULL DEFAULT '',
  timed_out         boolean     NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  -- Owned by the application and never interpreted here; text (not jsonb) keeps it byte for byte.
  body              text        NOT NULL
);
-- Only non-empty keys are unique: many check-ins come from arriving results and have none.
CREATE UNIQUE INDEX check_ins_client_key_idx ON check_ins (client_key) WHERE client_key <> '';
CREATE INDEX check_ins_day_idx ON check_ins (day, created_at);  -- a day's 受付一覧 in arrival order
CREATE INDEX check_ins_desk_idx ON check_ins (desk_id, created_at);
-- What correlation looks at: the few check-ins not final yet, or updated recently.
CREATE INDEX check_ins_open_idx ON check_ins (state) WHERE state IN ('WAITING', 'NEEDS_FALLBACK');
CREATE INDEX check_ins_updated_idx ON check_ins (updated_at);
CREATE INDEX check_ins_patient_idx ON check_ins (patient_id) WHERE patient_id <> '';
CREATE INDEX check_ins_ref_idx ON check_ins (reference_number) WHERE reference_number <> '';
CREATE INDEX check_ins_card_idx ON check_ins (card_key) WHERE card_key <> '';
CREATE INDEX check_ins_kana_idx ON check_ins (kana_key, birth_date) WHERE kana_key <> '';

-- A result is linked to at most one check-in (the primary key); a check-in may hold several.
CREATE TABLE check_in_results (
  result_id    bigint      PRIMARY KEY REFERENCES eligibility_results (id),
  check_in_id  text        NOT NULL REFERENCES check_ins (id),
  link         text        NOT NULL,
  at           timestamptz NOT NULL
);
CREATE INDEX check_in_results_check_in_idx ON check_in_results (check_in_id, at);

-- Face results not linked yet are looked for after a restart (UnlinkedFaceResults).
CREATE INDEX eligibility_results_face_received_idx ON eligibility_results (received_at)
  WHERE source = 'face';

CREATE TABLE patient_links (
  id           bigserial   PRIMARY KEY,
  check_in_id  text        NOT NULL REFERENCES check_ins (id),
  patient_id   text        NOT NULL DEFAULT '',  -- '' = unlinked
  linked_by    text        NOT NULL DEFAULT '',
  request_id   text        NOT NULL DEFAULT '',
  at           timestamptz NOT NULL
);
CREATE INDEX patient_links_check_in_idx ON patient_links (check_in_id, at);
