#include "app/eligibility.h"

#include <algorithm>

#include "app/logging.h"

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

core::DomainError Pending(const std::string& request_key) {
  core::DomainError e;
  e.kind = core::ErrorKind::kDeadlineExceeded;
  e.reason = "UPSTREAM_RESULT_PENDING";
  e.message =
      "the terminal has not answered before the deadline; the query is not re-sent and its result "
      "will be stored and published when it arrives (read it with GetResult/ListResults or the "
      "event stream)";
  e.message_ja =
      "資格確認端末からの応答がまだありません。結果は届き次第保存されます。しばらくしてから受付一覧で確認してください。";
  e.metadata = {{"request_id", request_key}};
  return e;
}

core::DomainError Rejected(const std::string& request_key) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "UPSTREAM_REJECTED";
  e.message = "the terminal rejected the request file (.err); see the stored event for its text";
  e.message_ja =
      "資格確認端末が照会を受け付けませんでした。入力内容を確認し、解決しない場合はシステム管理者に連絡してください。";
  e.metadata = {{"request_id", request_key}};
  return e;
}

constexpr std::string_view kReferenceNumberType = "OQSsiimm01";

std::chrono::milliseconds Remaining(core::SystemTime deadline, core::SystemTime now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
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
  h.on_quarantine = [this](const std::string& name, const std::string& reason) {
    OnQuarantine(name, reason);
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

void EligibilityUseCases::Publish(core::Event event) {
  event.at = clock_.Now();
  if (auto appended = events_.Append(event); !appended) {
    // The result itself is stored; a lost event only delays clients until they list results.
    Logger("eligibility")->error("event {} not appended: {}", event.type, appended.error().message);
  }
}

core::DomainError EligibilityUseCases::QuarantineUnparsable(const core::UpstreamFile& file,
                                                            const std::string& reason) {
  if (auto q = results_.Quarantine(file.file_name, file.raw, reason, clock_.Now()); !q) {
    return q.error();  // the adapter keeps the file and retries
  }
  core::Event e;
  e.type = "upstream.file_quarantined";
  e.request_id = file.request_id;
  e.file_name = file.file_name;
  e.detail = reason;
  Publish(std::move(e));
  Logger("eligibility")->warn("file {} quarantined: {}", file.file_name, reason);
  core::DomainError err;
  err.kind = core::ErrorKind::kUnavailable;
  err.reason = "UPSTREAM_RESULT_UNREADABLE";
  err.message = "the terminal's result could not be read: " + reason;
  err.message_ja = "資格確認端末の結果を読み取れませんでした。システム管理者に連絡してください。";
  return err;
}

core::Status EligibilityUseCases::OnResult(const core::UpstreamFile& file) {
  if (file.file_name.rfind(kReferenceNumberType, 0) == 0) return OnReferenceNumberResult(file);
  auto log = Logger("eligibility");
  if (file.kind == core::UpstreamFile::Kind::kRejection) {
    if (auto c = journal_.Complete(file.request_id, clock_.Now()); !c) return c.error();
    core::Event e;
    e.type = "eligibility.rejected";
    e.request_id = file.request_id;
    e.file_name = file.file_name;
    e.detail = "the terminal rejected the request file";
    Publish(std::move(e));
    log->warn("request {} rejected by the terminal", file.request_id);
    queries_.Resolve(file.request_id, Rejected(file.request_id));
    return core::OkStatus();
  }
  auto parsed = codec_.ParseQualificationResult(file.xml_utf8);
  if (!parsed) {
    core::DomainError err = QuarantineUnparsable(file, parsed.error().message);
    if (err.reason == "DATABASE_UNAVAILABLE") return err;
    if (auto c = journal_.Complete(file.request_id, clock_.Now()); !c) return c.error();
    queries_.Resolve(file.request_id, err);
    return core::OkStatus();
  }
  core::StoredResult stored;
  stored.source = "query";
  stored.request_id = file.request_id;
  stored.file_name = file.file_name;
  stored.raw = file.raw;
  stored.raw_sha256 = file.sha256;
  stored.xml_utf8 = file.xml_utf8;
  stored.received_at = file.received_at;
  stored.keys = KeysOf(parsed.value());
  auto outcome = results_.StoreResult(stored);
  if (!outcome) return outcome.error();
  stored.id = outcome->id;
  if (!outcome->same_file) {
    core::Event e;
    e.type = "eligibility.result";
    e.result_id = stored.id;
    e.request_id = file.request_id;
    e.file_name = file.file_name;
    e.attributes = {{"validity", stored.keys.validity},
                    {"segment_of_result", RawOf(parsed->header.segment_of_result)}};
    if (EncodingMismatch(file, parsed.value())) {
      e.attributes.emplace_back("encoding_mismatch", "true");
      log->warn("result {}: XML declaration and CharacterCodeIdentifier disagree", file.file_name);
    }
    Publish(std::move(e));
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
    core::DomainError err = QuarantineUnparsable(file, parsed.error().message);
    if (err.reason == "DATABASE_UNAVAILABLE") return err;
    return core::OkStatus();
  }
  core::StoredResult stored;
  stored.source = "face";
  stored.file_name = file.file_name;
  stored.raw = file.raw;
  stored.raw_sha256 = file.sha256;
  stored.xml_utf8 = file.xml_utf8;
  stored.received_at = file.received_at;
  stored.keys = KeysOf(parsed.value());
  auto outcome = results_.StoreResult(stored);
  if (!outcome) return outcome.error();
  if (outcome->same_file) return core::OkStatus();  // read again after a restart: published already
  core::Event e;
  e.result_id = outcome->id;
  e.file_name = file.file_name;
  e.attributes = {{"validity", stored.keys.validity}};
  if (EncodingMismatch(file, parsed.value())) {
    e.attributes.emplace_back("encoding_mismatch", "true");
    Logger("eligibility")->warn("face file {}: XML declaration and CharacterCodeIdentifier disagree",
                                file.file_name);
  }
  if (!stored.keys.reference_number.empty()) {
    e.attributes.emplace_back("reference_number", stored.keys.reference_number);
  }
  if (outcome->duplicate_of) {
    e.type = "face.duplicate";
    e.detail = "identical to result " + std::to_string(*outcome->duplicate_of);
    e.attributes.emplace_back("duplicate_of", std::to_string(*outcome->duplicate_of));
  } else {
    e.type = "face.received";
  }
  Publish(std::move(e));
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

void EligibilityUseCases::OnQuarantine(const std::string& file_name, const std::string& reason) {
  core::Event e;
  e.type = "upstream.file_quarantined";
  e.file_name = file_name;
  e.detail = reason;
  Publish(std::move(e));
}

void EligibilityUseCases::Query(const std::string& request_key,
                                const core::oqs::EligibilityQueryInput& input,
                                std::optional<core::oqs::OqsDate> confirmation_date,
                                core::SystemTime deadline, QueryDone done) {
  // Answered before (a retry after a timeout)?
  auto existing = results_.ResultForRequest(request_key);
  if (!existing) return done(existing.error());
  if (existing.value()) return done(View(std::move(*existing.value())));

  core::oqs::QueryValidationOptions vopts;
  vopts.today = core::oqs::OqsDate::JapanDateOf(clock_.Now());
  auto query = core::oqs::ValidateQueryInput(input, vopts);
  if (!query) return done(query.error());

  // Register the waiter first, so that a fast answer is never missed.
  queries_.Add(request_key, std::move(done), Remaining(deadline, clock_.Now()), Pending(request_key),
               ShuttingDown());

  // Already in flight (a retry while waiting)? Then only wait.
  auto pending = journal_.Pending();
  if (!pending) return queries_.Resolve(request_key, pending.error());
  for (const auto& entry : pending.value()) {
    if (entry.request_id == request_key) {
      // The result may have been stored between the first check and the waiter registration.
      auto again = results_.ResultForRequest(request_key);
      if (again && again.value()) queries_.Resolve(request_key, View(std::move(*again.value())));
      return;
    }
  }

  const auto header = NewHeader(confirmation_date ? *confirmation_date
                                                 : core::oqs::OqsDate::JapanDateOf(clock_.Now()));
  auto submitted = Send(request_key, "OQSsiquc01", "eligibility_query",
                        codec_.BuildQualificationRequest(query.value(), header), header);
  if (!submitted) return queries_.Resolve(request_key, submitted.error());
  Logger("eligibility")->info("query {} submitted as {}", request_key, submitted->file_name);
}

core::QualificationRequestHeader EligibilityUseCases::NewHeader(core::oqs::OqsDate date) {
  // A short random token: echoed by the terminal, verified on the result.
  return {options_.medical_institution_code, date,
          ids_.NewId().substr(0, 8) + ids_.NewId().substr(0, 8)};
}

core::Result<core::JournalEntry> EligibilityUseCases::Send(
    const std::string& request_key, std::string_view message_type, std::string_view kind,
    core::Result<std::string> xml, const core::QualificationRequestHeader& header) {
  if (!xml) return xml.error();
  core::UpstreamRequest request;
  request.request_id = request_key;
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
  outcome.file_name = file.file_name;
  outcome.raw = file.raw;
  outcome.raw_sha256 = file.sha256;
  outcome.completed_at = file.received_at;
  if (file.kind == core::UpstreamFile::Kind::kRejection) {
    outcome.state = "REJECTED";
    outcome.error_message = file.rejection_text;
  } else if (auto parsed = codec_.ParseReferenceNumberResult(file.xml_utf8); !parsed) {
    core::DomainError err = QuarantineUnparsable(file, parsed.error().message);
    if (err.reason == "DATABASE_UNAVAILABLE") return err;
    outcome.state = "FAILED";
    outcome.error_code = err.reason;
    outcome.error_message = err.message;
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
  auto completed = reference_numbers_.CompleteRegistration(outcome);
  if (!completed) {
    if (completed.error().kind != core::ErrorKind::kNotFound) return completed.error();
    // A journalled siimm request without its registration row cannot happen through this class;
    // the journal entry is completed all the same so the file is archived.
    log->warn("reference number result {} has no registration; archived", file.file_name);
    return core::OkStatus();
  }
  auto& [record, changed] = completed.value();
  if (changed) {
    core::Event e;
    e.type = record.state == "REGISTERED" ? "reference_number.registered"
             : record.state == "REJECTED" ? "reference_number.rejected"
                                          : "reference_number.failed";
    e.request_id = record.request_id;
    e.file_name = record.file_name;
    e.attributes = {{"registration_id", std::to_string(record.id)}, {"state", record.state}};
    if (!record.error_code.empty()) e.attributes.emplace_back("error_code", record.error_code);
    Publish(std::move(e));
    log->info("reference number registration {} {}", record.id, record.state);
  }
  registrations_.Resolve(file.request_id, record);
  return core::OkStatus();
}

void EligibilityUseCases::RegisterReferenceNumber(const std::string& request_key,
                                                  const core::oqs::ReferenceNumberInput& input,
                                                  core::SystemTime deadline,
                                                  RegistrationDone done) {
  auto registration = core::oqs::ValidateReferenceNumberInput(input);
  if (!registration) return done(registration.error());
  const auto& reg = registration.value();
  core::ReferenceNumberRecord wanted;
  wanted.request_id = request_key;
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
    core::DomainError e;
    e.kind = core::ErrorKind::kFailedPrecondition;
    e.reason = "REQUEST_ID_REUSED";
    e.message = "this request id was used before for a different registration; use a new id";
    e.message_ja = "同じ要求IDで別の照会番号登録が行われています。システム管理者に連絡してください。";
    e.field_violations = {{"x-request-id", "already used for a different registration"}};
    return done(e);
  }
  if (have.state != "PENDING") return done(have);  // answered before: a retry

  registrations_.Add(request_key, std::move(done), Remaining(deadline, clock_.Now()),
                     Pending(request_key), ShuttingDown());
  auto pending = journal_.Pending();
  if (!pending) return registrations_.Resolve(request_key, pending.error());
  for (const auto& entry : pending.value()) {
    if (entry.request_id != request_key) continue;
    // In flight: wait. It may have been answered since the first read.
    auto again = reference_numbers_.RegistrationForRequest(request_key);
    if (again && again.value() && again.value()->state != "PENDING") {
      registrations_.Resolve(request_key, *again.value());
    }
    return;
  }
  // Not journalled yet (new, or a crash between storing the row and journalling): send it.
  const auto header = NewHeader(core::oqs::OqsDate::JapanDateOf(clock_.Now()));
  auto submitted = Send(request_key, kReferenceNumberType, "reference_number",
                        codec_.BuildReferenceNumberRequest(reg, header), header);
  if (!submitted) return registrations_.Resolve(request_key, submitted.error());
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
