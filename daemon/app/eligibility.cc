#include "app/eligibility.h"

#include <algorithm>

#include "app/logging.h"
#include "failpoint/failpoint.h"

namespace onshid::app {
namespace {

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// yyyyMMdd → YYYY-MM-DD (unchanged when malformed).
std::string IsoDate(const std::string& raw) {
  if (raw.size() != 8) return raw;
  return raw.substr(0, 4) + "-" + raw.substr(4, 2) + "-" + raw.substr(6, 2);
}

template <typename T>
std::string RawOf(const std::optional<T>& v) {
  return v ? v->raw : std::string();
}
std::string RawOf(const std::optional<std::string>& v) { return v ? *v : std::string(); }

core::DomainError Pending(const std::string& request_id) {
  core::DomainError e;
  e.kind = core::ErrorKind::kDeadlineExceeded;
  e.reason = "UPSTREAM_RESULT_PENDING";
  e.message =
      "the terminal has not answered yet; the request is not re-sent. Call again with the same "
      "x-request-id to wait for the same answer, or read it with GetResult/ListResults or the "
      "event stream once it arrives";
  e.message_ja =
      "資格確認端末からの応答がまだありません。結果は届き次第保存されます。しばらくしてから受付一覧で確認してください。";
  e.metadata = {{"request_id", request_id}};
  return e;
}

core::DomainError Rejected(const std::string& request_id) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "UPSTREAM_REJECTED";
  e.message = "the terminal rejected the request file (.err); see the stored event for its text";
  e.message_ja =
      "資格確認端末が照会を受け付けませんでした。入力内容を確認し、解決しない場合はシステム管理者に連絡してください。";
  e.metadata = {{"request_id", request_id}};
  return e;
}

constexpr std::string_view kReferenceNumberType = "OQSsiimm01";

core::DomainError NoAnswer(const std::string& request_id) {
  core::DomainError e;
  e.kind = core::ErrorKind::kDeadlineExceeded;
  e.reason = "UPSTREAM_NO_ANSWER";
  e.message =
      "the terminal did not answer this request within upstream.answer_timeout_s; it was "
      "abandoned (a late answer is still stored). To ask again, send a new request id";
  e.message_ja =
      "資格確認端末から応答がありませんでした。端末の状態を確認し、もう一度照会してください。";
  e.metadata = {{"request_id", request_id}};
  return e;
}

core::DomainError Unreadable(const std::string& request_id, const std::string& reason) {
  core::DomainError err;
  err.kind = core::ErrorKind::kFailedPrecondition;
  err.reason = "UPSTREAM_RESULT_UNREADABLE";
  err.message = "the terminal's result could not be read" +
                (reason.empty() ? std::string() : ": " + reason) +
                "; the file is kept in quarantine";
  err.message_ja = "資格確認端末の結果を読み取れませんでした。システム管理者に連絡してください。";
  err.metadata = {{"request_id", request_id}};
  return err;
}

// How long a waiting call may wait: until shortly before its deadline, so that
// UPSTREAM_RESULT_PENDING reaches the client before the client's own deadline fires (and before the
// REST gateway's). A tenth of the time left, at least 200 ms and at most 2 s, is kept back.
std::chrono::milliseconds WaitBudget(core::SystemTime deadline, core::SystemTime now) {
  using std::chrono::milliseconds;
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
  const auto reserve = std::clamp(left / 10, milliseconds(200), milliseconds(2000));
  return std::max(left - reserve, milliseconds(1));
}

core::DomainError ShuttingDown() {
  return core::Unavailable("SHUTTING_DOWN", "the daemon is shutting down; the result will be stored",
                           "システムを停止中です。しばらくしてから再度お試しください。");
}

// The file's XML declaration and its CharacterCodeIdentifier must agree (0 UTF-8, 1 Shift_JIS).
// A disagreement is kept as evidence and flagged on the event; the text was decoded by the
// declaration.
bool EncodingMismatch(const core::UpstreamFile& file, const core::oqs::EligibilityResult& r) {
  const auto& cc = r.header.character_code_identifier;
  if (!cc || !cc->value || file.declared_encoding.empty()) return false;
  std::string declared = file.declared_encoding;
  for (auto& ch : declared) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool declared_sjis = declared.find("shift") != std::string::npos ||
                             declared.find("sjis") != std::string::npos ||
                             declared.find("932") != std::string::npos;
  return declared_sjis != (*cc->value == core::oqs::CharacterCode::kShiftJis);
}

}  // namespace

core::ResultKeys KeysOf(const core::oqs::EligibilityResult& r) {
  core::ResultKeys k;
  if (!r.results.empty()) {
    const auto& q = r.results.front();
    k.insurer_number = Trim(RawOf(q.insurer_number));
    k.insured_card_symbol = RawOf(q.insured_card_symbol);
    k.insured_identification_number = RawOf(q.insured_identification_number);
    k.insured_branch_number = RawOf(q.insured_branch_number);
    k.birth_date = IsoDate(RawOf(q.birthdate));
    k.reference_number = RawOf(q.reference_number);
  } else if (r.search_info) {
    k.insurer_number = Trim(RawOf(r.search_info->insurer_number));
    k.insured_card_symbol = RawOf(r.search_info->insured_card_symbol);
    k.insured_identification_number = RawOf(r.search_info->insured_identification_number);
    k.insured_branch_number = RawOf(r.search_info->insured_branch_number);
    k.birth_date = IsoDate(RawOf(r.search_info->birth_date));
  }
  k.validity = RawOf(r.qualification_validity);
  return k;
}

EligibilityUseCases::EligibilityUseCases(core::Upstream& upstream, core::UpstreamJournal& journal,
                                         core::ResultStore& results,
                                         core::ReferenceNumberStore& reference_numbers,
                                         core::EventStore& events,
                                         const core::OqsCodec& codec, const core::Clock& clock,
                                         core::IdSource& ids, Executor& executor,
                                         EligibilityOptions options)
    : upstream_(upstream),
      journal_(journal),
      results_(results),
      reference_numbers_(reference_numbers),
      events_(events),
      codec_(codec),
      clock_(clock),
      ids_(ids),
      executor_(executor),
      options_(std::move(options)),
      queries_(executor),
      registrations_(executor) {}

EligibilityUseCases::~EligibilityUseCases() { Shutdown(); }

core::UpstreamHandlers EligibilityUseCases::Handlers() {
  core::UpstreamHandlers h;
  h.on_result = [this](const core::UpstreamFile& f) { return OnResult(f); };
  h.on_face = [this](const core::UpstreamFile& f) { return OnFace(f); };
  h.on_quarantine = [this](const std::string& name, const std::string& request_id,
                           const std::string& reason) {
    OnQuarantine(name, request_id, reason);
  };
  return h;
}

ResultView EligibilityUseCases::View(core::StoredResult stored) const {
  ResultView v;
  auto parsed = codec_.ParseQualificationResult(stored.xml_utf8);
  if (parsed) {
    v.parsed = std::move(parsed).value();
  } else {
    v.parse_error = parsed.error().message;
  }
  v.stored = std::move(stored);
  return v;
}

core::Event EligibilityUseCases::MakeEvent(std::string type, const core::UpstreamFile& file) const {
  core::Event e;
  e.at = clock_.Now();
  e.type = std::move(type);
  e.request_id = file.client_request_id;
  e.file_name = file.file_name;
  return e;
}

core::Status EligibilityUseCases::QuarantineUnparsable(const core::UpstreamFile& file,
                                                       const std::string& reason,
                                                       const std::string& complete_request,
                                                       core::DomainError* for_waiter) {
  core::QuarantinedFile q;
  q.file_name = file.file_name;
  q.raw = file.raw;
  q.reason = reason;
  q.at = clock_.Now();
  q.complete_request_id = complete_request;
  core::Event e = MakeEvent("upstream.file_quarantined", file);
  e.detail = reason;
  if (auto stored = results_.Quarantine(q, {e}); !stored) {
    return stored.error();  // the adapter keeps the file and retries
  }
  Logger("eligibility")->warn("file {} quarantined: {}", file.file_name, reason);
  *for_waiter = Unreadable(file.client_request_id, reason);
  return core::OkStatus();
}

core::Status EligibilityUseCases::OnResult(const core::UpstreamFile& file) {
  if (file.file_name.rfind(kReferenceNumberType, 0) == 0) return OnReferenceNumberResult(file);
  auto log = Logger("eligibility");
  if (file.kind == core::UpstreamFile::Kind::kRejection) {
    core::Event e = MakeEvent("eligibility.rejected", file);
    e.detail = "the terminal rejected the request file";
    if (auto c = journal_.Complete(file.request_id, core::JournalState::kRejected, clock_.Now(),
                                   {e});
        !c) {
      return c.error();
    }
    ONSHID_FAILPOINT("result.after_store");
    log->warn("request {} rejected by the terminal", file.request_id);
    queries_.Resolve(file.request_id, Rejected(file.client_request_id));
    return core::OkStatus();
  }
  auto parsed = codec_.ParseQualificationResult(file.xml_utf8);
  if (!parsed) {
    core::DomainError unreadable;
    if (auto s = QuarantineUnparsable(file, parsed.error().message, file.request_id, &unreadable);
        !s) {
      return s.error();
    }
    queries_.Resolve(file.request_id, unreadable);
    return core::OkStatus();
  }
  core::StoredResult stored;
  stored.source = "query";
  stored.request_id = file.request_id;
  stored.client_request_id = file.client_request_id;
  stored.file_name = file.file_name;
  stored.raw = file.raw;
  stored.raw_sha256 = file.sha256;
  stored.xml_utf8 = file.xml_utf8;
  stored.received_at = file.received_at;
  stored.keys = KeysOf(parsed.value());
  const bool mismatch = EncodingMismatch(file, parsed.value());
  const std::string segment = RawOf(parsed->header.segment_of_result);
  auto outcome = results_.StoreResult(stored, [&](const core::StoreOutcome& o) {
    core::Event e = MakeEvent("eligibility.result", file);
    e.result_id = o.id;
    e.attributes = {{"validity", stored.keys.validity}, {"segment_of_result", segment}};
    if (mismatch) e.attributes.emplace_back("encoding_mismatch", "true");
    return std::vector<core::Event>{e};
  });
  if (!outcome) return outcome.error();
  stored.id = outcome->id;
  if (mismatch && !outcome->same_file) {
    log->warn("result {}: XML declaration and CharacterCodeIdentifier disagree", file.file_name);
  }
  log->info("result {} stored for request {} (validity {})", stored.id, file.request_id,
            stored.keys.validity);
  ResultView view;
  view.stored = std::move(stored);
  view.parsed = std::move(parsed).value();
  if (!outcome->same_file) Notify(view);
  queries_.Resolve(file.request_id, view);
  return core::OkStatus();
}

void EligibilityUseCases::SetResultListener(ResultListener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void EligibilityUseCases::Notify(const ResultView& view) {
  ResultListener listener;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
  }
  if (listener) listener(view);
}

core::Status EligibilityUseCases::OnFace(const core::UpstreamFile& file) {
  auto parsed = codec_.ParseQualificationResult(file.xml_utf8);
  if (!parsed) {
    core::DomainError unreadable;
    return QuarantineUnparsable(file, parsed.error().message, "", &unreadable);
  }
  core::StoredResult stored;
  stored.source = "face";
  stored.file_name = file.file_name;
  stored.raw = file.raw;
  stored.raw_sha256 = file.sha256;
  stored.xml_utf8 = file.xml_utf8;
  stored.received_at = file.received_at;
  stored.keys = KeysOf(parsed.value());
  const bool mismatch = EncodingMismatch(file, parsed.value());
  auto outcome = results_.StoreResult(stored, [&](const core::StoreOutcome& o) {
    core::Event e = MakeEvent(o.duplicate_of ? "face.duplicate" : "face.received", file);
    e.result_id = o.id;
    e.attributes = {{"validity", stored.keys.validity}};
    if (mismatch) e.attributes.emplace_back("encoding_mismatch", "true");
    if (!stored.keys.reference_number.empty()) {
      e.attributes.emplace_back("reference_number", stored.keys.reference_number);
    }
    if (o.duplicate_of) {
      e.detail = "identical to result " + std::to_string(*o.duplicate_of);
      e.attributes.emplace_back("duplicate_of", std::to_string(*o.duplicate_of));
    }
    return std::vector<core::Event>{e};
  });
  if (!outcome) return outcome.error();
  if (outcome->same_file) return core::OkStatus();  // read again after a restart: published already
  if (mismatch) {
    Logger("eligibility")->warn("face file {}: XML declaration and CharacterCodeIdentifier disagree",
                                file.file_name);
  }
  Logger("eligibility")->info("face check-in stored as result {}{}", outcome->id,
                              outcome->duplicate_of ? " (duplicate)" : "");
  if (!outcome->duplicate_of) {
    ResultView view;
    stored.id = outcome->id;
    view.stored = std::move(stored);
    view.parsed = std::move(parsed).value();
    Notify(view);
  }
  return core::OkStatus();
}

void EligibilityUseCases::OnQuarantine(const std::string& file_name,
                                       const std::string& request_key,
                                       const std::string& reason) {
  core::Event e;
  e.at = clock_.Now();
  e.type = "upstream.file_quarantined";
  e.file_name = file_name;
  e.detail = reason;
  if (!request_key.empty()) {
    if (auto entry = journal_.Get(request_key); entry && entry.value()) {
      e.request_id = entry.value()->client_request_id;
    }
  }
  // The file is in the quarantine folder (nothing else was stored): the event stands alone.
  if (auto appended = events_.Append(e); !appended) {
    Logger("eligibility")->error("event {} not appended: {}", e.type, appended.error().message);
  }
}

core::Result<std::optional<core::JournalEntry>> EligibilityUseCases::JournalEntryOf(
    const std::string& key) {
  return journal_.Get(key);
}

bool EligibilityUseCases::SettleQuery(const RequestRef& request, bool* journalled) {
  *journalled = false;
  auto stored = results_.ResultForRequest(request.key);
  if (!stored) {
    queries_.Resolve(request.key, stored.error());
    return true;
  }
  if (stored.value()) {
    queries_.Resolve(request.key, View(std::move(*stored.value())));
    return true;
  }
  auto entry = journal_.Get(request.key);
  if (!entry) {
    queries_.Resolve(request.key, entry.error());
    return true;
  }
  if (!entry.value()) return false;
  *journalled = true;
  switch (entry.value()->state) {
    case core::JournalState::kJournalled:
    case core::JournalState::kWriting:
    case core::JournalState::kWritten:
      return false;  // its answer resolves the waiter
    case core::JournalState::kRejected:
      queries_.Resolve(request.key, Rejected(request.client_request_id));
      return true;
    case core::JournalState::kAbandoned:
      queries_.Resolve(request.key, NoAnswer(request.client_request_id));
      return true;
    case core::JournalState::kAnswered: {
      // Stored between the two reads, or answered unreadably (quarantined).
      auto again = results_.ResultForRequest(request.key);
      if (again && again.value()) {
        queries_.Resolve(request.key, View(std::move(*again.value())));
      } else {
        queries_.Resolve(request.key, Unreadable(request.client_request_id, ""));
      }
      return true;
    }
  }
  return false;
}

void EligibilityUseCases::Query(const RequestRef& request,
                                const core::oqs::EligibilityQueryInput& input,
                                std::optional<core::oqs::OqsDate> confirmation_date,
                                core::SystemTime deadline, QueryDone done) {
  core::oqs::QueryValidationOptions vopts;
  vopts.today = core::oqs::OqsDate::JapanDateOf(clock_.Now());
  auto query = core::oqs::ValidateQueryInput(input, vopts);
  if (!query) return done(query.error());

  // Register the waiter first, so that a fast answer is never missed; then answer from what is
  // stored (a retry), wait for a request in flight, or send.
  queries_.Add(request.key, std::move(done), WaitBudget(deadline, clock_.Now()),
               Pending(request.client_request_id), ShuttingDown());
  bool journalled = false;
  if (SettleQuery(request, &journalled) || journalled) return;

  const auto header = NewHeader(confirmation_date ? *confirmation_date
                                                 : core::oqs::OqsDate::JapanDateOf(clock_.Now()));
  auto submitted = Send(request, "OQSsiquc01", "eligibility_query",
                        codec_.BuildQualificationRequest(query.value(), header), header);
  if (!submitted) {
    if (submitted.error().reason == "UPSTREAM_REQUEST_EXISTS") {
      // Journalled by a concurrent call with the same key since we looked: wait for it.
      if (SettleQuery(request, &journalled) || journalled) return;
    }
    return queries_.Resolve(request.key, submitted.error());
  }
  Logger("eligibility")->info("query {} submitted as {}", request.key, submitted->file_name);
}

core::QualificationRequestHeader EligibilityUseCases::NewHeader(core::oqs::OqsDate date) {
  // A short random token: echoed by the terminal, verified on the result.
  return {options_.medical_institution_code, date,
          ids_.NewId().substr(0, 8) + ids_.NewId().substr(0, 8)};
}

core::Result<core::JournalEntry> EligibilityUseCases::Send(
    const RequestRef& ref, std::string_view message_type, std::string_view kind,
    core::Result<std::string> xml, const core::QualificationRequestHeader& header) {
  if (!xml) return xml.error();
  core::UpstreamRequest request;
  request.request_id = ref.key;
  request.client_request_id = ref.client_request_id;
  request.message_type = std::string(message_type);
  request.kind = std::string(kind);
  request.xml_utf8 = std::move(xml).value();
  request.arbitrary_file_identifier = header.arbitrary_file_identifier;
  return upstream_.Submit(request);
}

core::Result<ResultView> EligibilityUseCases::Get(std::int64_t id) {
  auto found = results_.GetResult(id);
  if (!found) return found.error();
  if (!found.value()) {
    core::DomainError e;
    e.kind = core::ErrorKind::kNotFound;
    e.reason = "RESULT_NOT_FOUND";
    e.message = "no result with id " + std::to_string(id);
    e.message_ja = "指定された資格確認結果が見つかりません。";
    e.field_violations = {{"result_id", "no such result"}};
    return e;
  }
  return View(std::move(*found.value()));
}

core::Result<std::vector<ResultView>> EligibilityUseCases::List(const core::ResultQuery& query) {
  auto found = results_.ListResults(query);
  if (!found) return found.error();
  std::vector<ResultView> out;
  out.reserve(found->size());
  for (auto& s : found.value()) out.push_back(View(std::move(s)));
  return out;
}

core::Status EligibilityUseCases::OnReferenceNumberResult(const core::UpstreamFile& file) {
  auto log = Logger("eligibility");
  core::ReferenceNumberRecord outcome;
  outcome.request_id = file.request_id;
  outcome.client_request_id = file.client_request_id;
  outcome.file_name = file.file_name;
  outcome.raw = file.raw;
  outcome.raw_sha256 = file.sha256;
  outcome.completed_at = file.received_at;
  if (file.kind == core::UpstreamFile::Kind::kRejection) {
    outcome.state = "REJECTED";
    outcome.error_message = file.rejection_text;
  } else if (auto parsed = codec_.ParseReferenceNumberResult(file.xml_utf8); !parsed) {
    // The unreadable file is kept in quarantine; the registration records that it failed.
    core::DomainError unreadable;
    if (auto s = QuarantineUnparsable(file, parsed.error().message, "", &unreadable); !s) {
      return s.error();
    }
    outcome.state = "FAILED";
    outcome.error_code = unreadable.reason;
    outcome.error_message = unreadable.message;
  } else {
    auto registered = reference_numbers_.RegistrationForRequest(file.request_id);
    if (!registered) return registered.error();
    const std::string expected = registered.value() ? registered.value()->reference_number : "";
    const auto& r = parsed.value();
    if (registered.value() && r.IsRegistered(expected)) {
      outcome.state = "REGISTERED";
    } else {
      outcome.state = "FAILED";
      if (r.header.error_code) {
        outcome.error_code = *r.header.error_code;
        outcome.error_message = r.header.error_message.value_or("");
      } else {
        outcome.error_code = r.processing_result_code.value_or("");
        outcome.error_message = r.processing_result_message.value_or("");
      }
      if (outcome.error_code.empty()) outcome.error_code = "NOT_REGISTERED";
    }
  }
  auto completed = reference_numbers_.CompleteRegistration(
      outcome, [&](const core::ReferenceNumberRecord& record) {
        core::Event e = MakeEvent(record.state == "REGISTERED" ? "reference_number.registered"
                                  : record.state == "REJECTED" ? "reference_number.rejected"
                                                               : "reference_number.failed",
                                  file);
        e.request_id = record.client_request_id;
        e.file_name = record.file_name;
        e.attributes = {{"registration_id", std::to_string(record.id)}, {"state", record.state}};
        if (!record.error_code.empty()) e.attributes.emplace_back("error_code", record.error_code);
        return std::vector<core::Event>{e};
      });
  if (!completed) {
    if (completed.error().kind != core::ErrorKind::kNotFound) return completed.error();
    // A journalled siimm request without its registration row cannot happen through this class;
    // the journal entry is completed all the same so the file is archived.
    log->warn("reference number result {} has no registration; archived", file.file_name);
    return core::OkStatus();
  }
  auto& [record, changed] = completed.value();
  if (changed) log->info("reference number registration {} {}", record.id, record.state);
  registrations_.Resolve(file.request_id, record);
  return core::OkStatus();
}

void EligibilityUseCases::RegisterReferenceNumber(const RequestRef& request,
                                                  const core::oqs::ReferenceNumberInput& input,
                                                  core::SystemTime deadline,
                                                  RegistrationDone done) {
  auto registration = core::oqs::ValidateReferenceNumberInput(input);
  if (!registration) return done(registration.error());
  const auto& reg = registration.value();
  core::ReferenceNumberRecord wanted;
  wanted.request_id = request.key;
  wanted.client_request_id = request.client_request_id;
  wanted.reference_number = reg.reference_number;
  wanted.insurer_number = reg.insurer_number.digits();
  wanted.insured_card_symbol = reg.insured_card_symbol ? reg.insured_card_symbol->raw() : "";
  wanted.insured_identification_number = reg.insured_identification_number.raw();
  wanted.insured_branch_number = reg.insured_branch_number ? reg.insured_branch_number->digits() : "";
  wanted.requested_at = clock_.Now();
  auto stored = reference_numbers_.CreateRegistration(wanted);
  if (!stored) return done(stored.error());
  const core::ReferenceNumberRecord& have = stored.value();
  if (have.reference_number != wanted.reference_number ||
      have.insurer_number != wanted.insurer_number ||
      have.insured_card_symbol != wanted.insured_card_symbol ||
      have.insured_identification_number != wanted.insured_identification_number ||
      have.insured_branch_number != wanted.insured_branch_number) {
    return done(core::RequestIdReused(request.client_request_id));
  }
  if (have.state != "PENDING") return done(have);  // answered before: a retry

  registrations_.Add(request.key, std::move(done), WaitBudget(deadline, clock_.Now()),
                     Pending(request.client_request_id), ShuttingDown());
  auto entry = journal_.Get(request.key);
  if (!entry) return registrations_.Resolve(request.key, entry.error());
  if (entry.value()) {
    switch (entry.value()->state) {
      case core::JournalState::kAbandoned:
        return registrations_.Resolve(request.key, NoAnswer(request.client_request_id));
      case core::JournalState::kAnswered:
      case core::JournalState::kRejected: {
        // Answered between the first read and now.
        auto again = reference_numbers_.RegistrationForRequest(request.key);
        if (!again) return registrations_.Resolve(request.key, again.error());
        if (again.value() && again.value()->state != "PENDING") {
          return registrations_.Resolve(request.key, *again.value());
        }
        return registrations_.Resolve(request.key,
                                      Unreadable(request.client_request_id, ""));
      }
      default:
        return;  // in flight: its answer resolves the waiter
    }
  }
  // Not journalled yet (new, or a crash between storing the row and journalling): send it.
  const auto header = NewHeader(core::oqs::OqsDate::JapanDateOf(clock_.Now()));
  auto submitted = Send(request, kReferenceNumberType, "reference_number",
                        codec_.BuildReferenceNumberRequest(reg, header), header);
  if (!submitted) {
    // A concurrent retry journalled it first: its answer resolves the waiter.
    if (submitted.error().reason == "UPSTREAM_REQUEST_EXISTS") return;
    return registrations_.Resolve(request.key, submitted.error());
  }
  Logger("eligibility")->info("reference number registration {} submitted as {}", have.id,
                              submitted->file_name);
}

core::Result<core::ReferenceNumberRecord> EligibilityUseCases::GetRegistration(std::int64_t id) {
  auto found = reference_numbers_.GetRegistration(id);
  if (!found) return found.error();
  if (!found.value()) {
    core::DomainError e;
    e.kind = core::ErrorKind::kNotFound;
    e.reason = "REFERENCE_NUMBER_NOT_FOUND";
    e.message = "no reference number registration with id " + std::to_string(id);
    e.message_ja = "指定された照会番号登録が見つかりません。";
    e.field_violations = {{"registration_id", "no such registration"}};
    return e;
  }
  return *std::move(found.value());
}

core::Result<std::vector<core::ReferenceNumberRecord>> EligibilityUseCases::ListRegistrations(
    const std::string& reference_number, int limit) {
  if (reference_number.empty()) {
    return core::InvalidArgument("INVALID_REFERENCE_NUMBER", "reference_number is required",
                                 "照会番号を指定してください。",
                                 {{"reference_number", "required"}});
  }
  return reference_numbers_.ListRegistrations(reference_number, limit);
}

void EligibilityUseCases::Shutdown() {
  queries_.Shutdown(ShuttingDown());
  registrations_.Shutdown(ShuttingDown());
}

}  // namespace onshid::app
