#pragma once
// The application's form of a check-in and its storage encoding (CheckInRow: searchable columns
// plus a JSON body). Contains personal data (patient keys, query identifiers): never log a record.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/card/certificate_status.h"
#include "core/checkin/changes.h"
#include "core/checkin/check_in.h"
#include "core/checkin/check_in_store.h"
#include "core/checkin/consent.h"
#include "core/checkin/correlation.h"
#include "core/checkin/documents.h"
#include "core/error.h"
#include "core/oqs/query.h"

namespace onshid::app {

struct CheckInRecord {
  std::string id;
  std::int64_t version = 0;
  std::string client_key;
  std::string day;  // YYYY-MM-DD (Japan)
  std::string desk_id;
  core::checkin::Channel channel = core::checkin::Channel::kManual;
  std::vector<core::checkin::Document> documents;
  core::checkin::PatientHoldings holdings;
  core::checkin::VerificationPath path = core::checkin::VerificationPath::kNoDocument;
  core::checkin::VisitFacts visit;
  std::vector<std::string> staff_notes_ja;

  // DOCUMENT_QUERY: what was (or will be) sent, and the request key of that query.
  std::optional<core::oqs::EligibilityQueryInput> query;
  std::string query_key;
  // GENERIC_READER: the reader and what its card showed.
  std::string reader;
  std::optional<core::card::CertificateStatus> certificate;

  // What is known about the patient (from the vendor, a card tap, or the result).
  core::checkin::PatientKeys keys;

  core::checkin::CheckInState state = core::checkin::CheckInState::kWaiting;
  std::optional<core::checkin::FallbackCause> cause;
  core::checkin::InformationScope scope = core::checkin::InformationScope::kFull;
  std::string reason;  // of the last transition
  std::string message;
  std::string message_ja;
  std::vector<core::checkin::StaffNotice> notices;

  // Created by a result no check-in took (UNMATCHED / AMBIGUOUS): it waits for nothing.
  bool from_result = false;
  // "", BOUND, UNMATCHED, AMBIGUOUS, ASSIGNED.
  std::string correlation;
  std::vector<std::string> correlation_reasons;  // codes
  struct Candidate {
    std::string check_in_id;
    bool fits = false;
    std::vector<std::string> reasons;  // codes
  };
  std::vector<Candidate> candidates;

  std::int64_t result_id = 0;
  bool timed_out = false;
  std::string patient_id;
  std::vector<core::checkin::FieldChange> changes;
  std::string baseline_check_in_id;
  std::vector<core::checkin::OralConsentRecord> oral_consents;
  std::vector<core::checkin::ConsentWithdrawal> withdrawals;

  // Request keys ("<client>/<x-request-id>") of the staff actions applied to this check-in, the
  // most recent kAppliedRequestsKept: an action retried after its outcome was lost (the daemon
  // stopped in between) is recognised and not applied twice. Written with the change itself.
  std::vector<std::string> applied_requests;
  static constexpr std::size_t kAppliedRequestsKept = 32;
  bool Applied(const std::string& request_key) const;
  void MarkApplied(const std::string& request_key);

  core::SystemTime created_at{};
  core::SystemTime updated_at{};
};

// Row ⇄ record. Decode errors are CHECKIN_RECORD_UNREADABLE (kInternal) naming the field.
core::checkin::CheckInRow EncodeRecord(const CheckInRecord& record);
core::Result<CheckInRecord> DecodeRecord(const core::checkin::CheckInRow& row);

// Normalised search forms (what the row's key columns hold).
std::string KanaKey(const std::optional<std::string>& name_kana);
std::string BirthDateKey(const std::optional<std::chrono::year_month_day>& birth_date);

// A calendar date as YYYY-MM-DD (the form of days and birth dates in rows and the API).
std::string IsoDate(const std::chrono::year_month_day& d);

// Instants as microseconds since the Unix epoch (the form of times in JSON bodies).
std::int64_t UnixMicros(core::SystemTime t);
core::SystemTime FromUnixMicros(std::int64_t us);

// YYYY-MM-DD → a calendar date; nullopt when malformed or not a real date.
std::optional<std::chrono::year_month_day> ParseIsoDate(std::string_view iso);

// Stable-name parsers for the core enums (nullopt for an unknown name).
std::optional<core::checkin::Channel> ParseChannel(std::string_view text);
std::optional<core::checkin::Document> ParseDocument(std::string_view text);
std::optional<core::checkin::CheckInState> ParseCheckInState(std::string_view text);
std::optional<core::checkin::InformationKind> ParseInformationKind(std::string_view text);
std::string_view ToString(core::checkin::InformationScope scope);  // "FULL", "INSURANCE_ONLY"
std::string_view ToString(core::checkin::ConsentFlag flag);       // "ABSENT", "GIVEN", …

}  // namespace onshid::app
