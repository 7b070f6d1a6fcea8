#pragma once
// The stored form of a fallback case (core/fallback/case.h) in the FallbackCaseStore
// (core/fallback/case_store.h): the row's columns, its JSON body, its personal data, its tasks'
// JSON bodies and the JSON details of its proof of attempt. Contains personal data: never log a
// decoded case or its personal data.
//
// Bodies written since issue 6 decode; values a body does not hold take the defaults below, and an
// unknown name reads as the default of its field, so a case written by a newer daemon still opens.
// Writing always uses the current form.
//
// Case body (CaseRow::body; no personal data):
//   {"opened_by": "desk-1",                   token name or "onshid"
//    "close_reason": "CLAIM_WORK_FINISHED",   once closed ("" / absent while open)
//    "input": INPUT,                          the engine's inputs without identifiers
//    "unconfirmed_facts": ["age", …],
//    "decision": DECISION,                    what the engine answered when last evaluated
//    "evidence": [EVIDENCE, …],               oldest first
//    "applied_method": "PORTAL_SCREEN",       of the latest METHOD_APPLIED evidence (absent: none)
//    "claim": {"route": "UNKNOWN", "rule": RULE, "notes": [RULE, …], "engine_version": "…",
//              "chosen_at": µs, "chosen_by": "desk-1"},             absent until chosen
//    "purged_at": µs,                         absent until the personal data is deleted
//    "reverify": {"state": "QUEUED", "attempts": 0},   NONE, QUEUED, SENT, DONE, GAVE_UP
//    "applied_requests": ["<client>/<x-request-id>", …],  the most recent 32 (absent: none)
//    "task_seq": 2}                           tasks numbered so far (absent: 0)
//   INPUT = {"cause": "NETWORK_ERROR", "presented": ["MY_NUMBER_CARD", …], "visit": "FIRST_VISIT",
//            "actual_days": 1, "known_eligibilities": [{"source": "PAST_VISITS",
//            "ratio_wari": 3}, …], "has_valid_insurance_now": true,
//            "facility": {"oqs_available": true, "reads_smartphones": false,
//                         "emergency_mode_active": false},
//            "date": "2025-12-10" | null, "age": "UNDER_70" | "70_TO_74" | "KOUKI",
//            "newborn": "NO" | "CARD_REGISTERED" | "CARD_NOT_REGISTERED" |
//                       "REGISTRATION_UNCHECKED",
//            "certificate_expiry": "2025-10-19" | null}
//     Legacy: "presented" as an object of flags ({"my_number_card": true, "smartphone": …,
//     "qualification_certificate", "health_insurance_card", "eligibility_notice"}) from before the
//     shared vocabulary. Sources: INVALID_RESULT, PAST_VISITS, CONFIRMED.
//   DECISION = {"engine_version": "…", "first_choice": "ELIGIBILITY_NOTICE",
//               "charge": "NORMAL_RATIO", "charge_rule": "…", "charge_notes": ["…"],
//               "methods": [{"method": "…", "allowed": true, "rule": "…",
//                            "leads_to": "CURRENT" | null}, …]}
//            | {"error": "CERTIFICATE_IN_GRACE", "fields": ["…"]}   when the engine refused
//   EVIDENCE = {"seq": 1, "kind": "METHOD_APPLIED", "method": "…" (absent: none),
//               "staff_id": "…", "at": µs, "rule_id": "…", "eligibility_recorded": false,
//               "statement_recorded": false, "card_face_recorded": false,
//               "oral_answered_by": "", "amount_collected_yen": 0 (absent: none),
//               "contacted_on": "YYYY-MM-DD" (absent: none)}
//   RULE = {"id", "source", "reason", "reason_ja"}
//   µs: microseconds since the Unix epoch.
//
// Personal data (FallbackCaseStore::PersonalData; written only when there is some):
//   {"known": [ELIGIBILITY, …],   the identifiers of INPUT's known_eligibilities, by position
//    "confirmed": ELIGIBILITY, "claim_with": ELIGIBILITY, "statement": STATEMENT,
//    "card_face": {"name", "sex": 0–2, "birth_date": "YYYY-MM-DD" | null, "address",
//                  "insurer_name"},
//    "contacted_on": "YYYY-MM-DD", "tekiyo": "不詳\n…"}      each absent when not held
//   ELIGIBILITY = {"source", "insurer_number", "symbol", "number", "branch", "insurer_name",
//                  "ratio_wari": 3 (absent: none)}
//   STATEMENT = the 申立書's members by name (core/fallback/statement.h); enums as their numbers,
//               "written_on" as "YYYY-MM-DD" | null, "birth_date": {"era", "year", "month",
//               "day"} (absent: none).
//
// Task body (Task::body): {"why": "…", "why_ja": "…", "route": "UNKNOWN" (RETURN_WATCH only),
// "outcome": "DONE" | "CLAIM_RETURNED" (once done)}.
//
// Attempt body (Attempt::body), by kind: OPENED {"by_hand": true} or {"check_in_id",
// "check_in_cause", "reverify", "unconfirmed_facts"}; EVALUATED {"why", "input": INPUT,
// "decision": DECISION}; EVIDENCE EVIDENCE; CLAIM_ROUTE_REFUSED {"reason", "fields"};
// CLAIM_ROUTE {"route", "rule", "notes", "engine_version", "tekiyo_built"}; CLOSED {"reason",
// "route", "keep_personal_data"}; PURGED {"why", "retention_hours"?}; TASK_DONE {"task_id",
// "kind", "outcome", "staff_id"}; VERIFIED_ONLINE {"check_in_id", "result_id"}; REVERIFY_SENT
// {"attempt"}; REVERIFY_FAILED {"attempt", "reason", "next"}; REVERIFIED {"attempt", "result_id",
// "valid", "cause": "…" | null}.

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fallback/case.h"
#include "core/fallback/case_store.h"

namespace onshid::app {

// A case as it is written: the row (version and updated_at as given) and the personal data
// (nullopt when there is none to write).
struct EncodedCase {
  core::fallback::CaseRow row;
  std::optional<std::string> personal_data;
};
EncodedCase EncodeCase(const core::fallback::Case& c);

// Row, personal data (nullopt when none is stored) and the case's tasks → case. Errors: INTERNAL
// when the body is not a JSON object; unreadable personal data reads as none.
core::Result<core::fallback::Case> DecodeCase(const core::fallback::CaseRow& row,
                                              const std::optional<std::string>& personal_data,
                                              const std::vector<core::fallback::Task>& tasks);

core::fallback::Task EncodeTask(const core::fallback::CaseTask& task, const std::string& case_id);
core::fallback::CaseTask DecodeTask(const core::fallback::Task& task);

// What a change writes besides the case row: its proof entries and events (in order, stamped
// with case_id), its tasks, and the purge; the personal data is EncodeCase's.
core::fallback::CaseWrite EncodeChange(const core::fallback::Change& change);

// The proof of attempt as exported (pretty JSON): the case summary and every attempt with its
// detail, no personal data.
std::string EncodeProof(const core::fallback::Case& c,
                        const std::vector<core::fallback::Attempt>& attempts,
                        core::SystemTime exported_at);

}  // namespace onshid::app
