#include "api/reader_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>

#include <google/protobuf/util/time_util.h>

#include "api/status_mapping.h"
#include "core/card/pin.h"

namespace onshid::api {
namespace {

namespace card = core::card;
namespace v1 = onshi::v1;

constexpr std::size_t kMaxReaderName = 256;
constexpr std::size_t kMaxChallenge = 1024;
// Events buffered for one slow WatchReaders client before the stream is ended.
constexpr std::size_t kMaxQueuedEvents = 1000;

core::DomainError NotConfigured() {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "READERS_NOT_CONFIGURED";
  e.message = "generic card readers are disabled at this site (readers.enabled)";
  e.message_ja = "汎用カードリーダーが設定されていません。システム管理者に連絡してください。";
  return e;
}

std::optional<core::DomainError> CheckReader(const std::string& reader) {
  if (reader.empty() || reader.size() > kMaxReaderName) {
    return core::InvalidArgument("INVALID_READER", "reader must name a reader (see ListReaders)",
                                 "カードリーダーの指定が正しくありません。",
                                 {{"reader", "the PC/SC reader name from ListReaders (1..256 "
                                             "bytes; percent-encoded in REST paths)"}});
  }
  return std::nullopt;
}

// Parses a PIN field and wipes the request's copy of it at once: the request message lives until
// the call ends, and the PIN must not outlast its use. The message is never const in gRPC or the
// gateway; only the generated handler signature is.
core::Result<card::Pin> TakePin(const std::string& field_value, std::string_view field) {
  auto pin = card::Pin::Parse(field_value, field);
  auto* mutable_value = const_cast<std::string*>(&field_value);
  card::SecureZero(mutable_value->data(), mutable_value->size());
  mutable_value->clear();
  return pin;
}

google::protobuf::Timestamp Ts(core::SystemTime t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

v1::CertificateStatus ToProto(card::CertificateStatus s) {
  switch (s) {
    case card::CertificateStatus::kValid: return v1::CERTIFICATE_STATUS_VALID;
    case card::CertificateStatus::kRenewalAlert: return v1::CERTIFICATE_STATUS_RENEWAL_ALERT;
    case card::CertificateStatus::kExpiredInGrace: return v1::CERTIFICATE_STATUS_EXPIRED_IN_GRACE;
    case card::CertificateStatus::kExpired: return v1::CERTIFICATE_STATUS_EXPIRED;
    case card::CertificateStatus::kNotYetValid: return v1::CERTIFICATE_STATUS_NOT_YET_VALID;
    case card::CertificateStatus::kUntrusted: return v1::CERTIFICATE_STATUS_UNTRUSTED;
  }
  return v1::CERTIFICATE_STATUS_UNSPECIFIED;
}

const char* StatusMessageJa(card::CertificateStatus s) {
  switch (s) {
    case card::CertificateStatus::kValid:
      return "電子証明書は有効です。";
    case card::CertificateStatus::kRenewalAlert:
      return "電子証明書の有効期限が近づいています。お住まいの市区町村での更新をご案内ください。";
    case card::CertificateStatus::kExpiredInGrace:
      return "電子証明書の有効期限が切れています。猶予期間中のため資格確認（保険情報のみ）は可能です。"
             "市区町村での更新をご案内ください。";
    case card::CertificateStatus::kExpired:
      return "電子証明書の有効期限が切れ、猶予期間も過ぎています。資格確認書など他の方法で確認してください。";
    case card::CertificateStatus::kNotYetValid:
      return "電子証明書がまだ有効になっていません。端末の日時を確認し、システム管理者に連絡してください。";
    case card::CertificateStatus::kUntrusted:
      return "電子証明書を検証できませんでした。他の確認方法で受付し、システム管理者に連絡してください。";
  }
  return "";
}

v1::TokenKind ToProto(card::TokenKind t) {
  switch (t) {
    case card::TokenKind::kMyNumberCard: return v1::TOKEN_KIND_MY_NUMBER_CARD;
    case card::TokenKind::kJukiCard: return v1::TOKEN_KIND_JUKI_CARD;
    case card::TokenKind::kSmartphone: return v1::TOKEN_KIND_SMARTPHONE;
    case card::TokenKind::kUnknown: return v1::TOKEN_KIND_UNKNOWN;
  }
  return v1::TOKEN_KIND_UNSPECIFIED;
}

v1::ReaderEventKind ToProto(card::ReaderEventKind k) {
  switch (k) {
    case card::ReaderEventKind::kReaderAdded: return v1::READER_EVENT_KIND_READER_ADDED;
    case card::ReaderEventKind::kReaderRemoved: return v1::READER_EVENT_KIND_READER_REMOVED;
    case card::ReaderEventKind::kCardInserted: return v1::READER_EVENT_KIND_CARD_INSERTED;
    case card::ReaderEventKind::kCardRemoved: return v1::READER_EVENT_KIND_CARD_REMOVED;
    case card::ReaderEventKind::kServiceDegraded: return v1::READER_EVENT_KIND_SERVICE_DEGRADED;
    case card::ReaderEventKind::kServiceRecovered: return v1::READER_EVENT_KIND_SERVICE_RECOVERED;
  }
  return v1::READER_EVENT_KIND_UNSPECIFIED;
}

v1::PinStatus ToProto(const card::PinStatus& s) {
  v1::PinStatus out;
  out.set_tries_left(s.tries_left);
  out.set_locked(s.locked);
  return out;
}

// Port completions run on a reader worker thread; `done` may write the audit log (a database
// write), so it is handed to the application executor instead of blocking the reader.
CallRunner::Done OnExecutor(app::Executor* executor, CallRunner::Done done) {
  return [executor, done = std::move(done)](core::Status status) {
    executor->Post([done, status = std::move(status)]() mutable { done(std::move(status)); });
  };
}

std::string ReaderSubject(const std::string& reader) { return "reader:" + reader; }

// The checks every card operation starts with; on success the reader is the audit subject until
// the card key is known.
std::optional<core::DomainError> CheckCardCall(card::CardReaders* readers, const std::string& reader,
                                               Call& call) {
  if (!readers) return NotConfigured();
  if (auto bad = CheckReader(reader)) return bad;
  call.audit_subject = ReaderSubject(reader);
  return std::nullopt;
}

// One WatchReaders stream. Port events are queued and written one at a time (OnWriteDone starts
// the next). Lives until OnDone.
class WatchReactor final : public grpc::ServerWriteReactor<v1::ReaderEvent> {
 public:
  WatchReactor(CallRunner& runner, std::shared_ptr<Call> call, const v1::WatchReadersRequest& request)
      : runner_(runner),
        readers_(runner.deps().readers),
        call_(std::move(call)),
        started_(runner.deps().clock->SteadyNow()) {
    // Open the stream at once, so REST clients get the SSE headers before the first event.
    StartSendInitialMetadata();
    // An implementation may call a watcher after Unwatch() returned (e.g. a fake calling outside
    // its lock), so the callback goes through a guard that OnDone() clears.
    guard_ = std::make_shared<Guard>();
    guard_->reactor = this;
    watch_id_ = readers_->Watch([guard = guard_](const card::ReaderEvent& e) {
      std::lock_guard lock(guard->mu);
      if (guard->reactor) guard->reactor->Enqueue(::onshid::api::ToProto(e));
    });
    // The snapshot is taken after Watch so no change is missed (it may be announced twice).
    if (request.initial_state()) {
      const auto now = runner.deps().clock->Now();
      for (const auto& r : readers_->ListReaders()) {
        v1::ReaderEvent added;
        added.set_kind(v1::READER_EVENT_KIND_READER_ADDED);
        added.set_reader(r.name);
        *added.mutable_at() = Ts(now);
        added.set_snapshot(true);
        Enqueue(added);
        if (r.card_present) {
          added.set_kind(v1::READER_EVENT_KIND_CARD_INSERTED);
          Enqueue(std::move(added));
        }
      }
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    readers_->Unwatch(watch_id_);
    {
      std::lock_guard lock(guard_->mu);
      guard_->reactor = nullptr;
    }
    runner_.Finished(*call_, final_status_, started_);
    delete this;
  }

 private:
  struct Guard {
    std::mutex mu;
    WatchReactor* reactor = nullptr;
  };

  void Enqueue(v1::ReaderEvent event) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (queue_.size() >= kMaxQueuedEvents) {
      FinishLocked(ToGrpcStatus(core::DomainError{
          core::ErrorKind::kResourceExhausted, "WATCH_TOO_SLOW",
          "the client did not read reader events fast enough; reconnect with initial_state",
          "カードリーダーの状態通知を受け取れませんでした。再接続してください。", {}, {}, {}}));
      return;
    }
    queue_.push_back(std::move(event));
    WriteNextLocked();
  }

  void WriteNextLocked() {
    if (writing_ || finished_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    final_status_ = status;
    Finish(status);
  }

  CallRunner& runner_;
  card::CardReaders* readers_;
  std::shared_ptr<Call> call_;
  std::chrono::steady_clock::time_point started_;
  int watch_id_ = 0;
  std::shared_ptr<Guard> guard_;

  std::mutex mu_;
  std::deque<v1::ReaderEvent> queue_;
  v1::ReaderEvent current_;
  bool writing_ = false;
  bool finished_ = false;
  grpc::Status final_status_;
};

// Refuses a stream before it starts.
class RefusedReactor final : public grpc::ServerWriteReactor<v1::ReaderEvent> {
 public:
  explicit RefusedReactor(grpc::Status status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

v1::ReaderEvent ToProto(const card::ReaderEvent& e) {
  v1::ReaderEvent out;
  out.set_kind(ToProto(e.kind));
  out.set_reader(e.reader);
  *out.mutable_at() = Ts(e.at);
  out.set_reason(e.reason);
  return out;
}

v1::CertificateInfo ToProto(const card::CertificateSummary& s) {
  v1::CertificateInfo out;
  out.set_status(ToProto(s.status));
  out.set_chain_trusted(s.chain_trusted);
  *out.mutable_not_before() = Ts(s.window.not_before);
  *out.mutable_not_after() = Ts(s.window.not_after);
  *out.mutable_renewal_alert_from() = Ts(s.window.renewal_alert_from);
  *out.mutable_grace_end() = Ts(s.window.grace_end);
  out.set_issuer(s.issuer);
  out.set_card_key(s.card_key);
  out.set_status_message_ja(StatusMessageJa(s.status));
  return out;
}

ReaderServiceImpl::ReaderServiceImpl(ApiDeps deps)
    : runner_(deps, v1::ListReadersRequest::descriptor()->file()->FindServiceByName(
                        "ReaderService")) {}

grpc::ServerUnaryReactor* ReaderServiceImpl::ListReaders(grpc::CallbackServerContext* ctx,
                                                         const v1::ListReadersRequest* request,
                                                         v1::ListReadersResponse* response) {
  return runner_.Unary(ctx, "ListReaders", *request, response, [this, response](Call& /*call*/) -> core::Status {
    auto* readers = runner_.deps().readers;
    if (!readers) return NotConfigured();
    for (const auto& r : readers->ListReaders()) {
      auto* out = response->add_readers();
      out->set_name(r.name);
      out->set_kind(v1::READER_KIND_GENERIC_PCSC);
      out->set_card_present(r.card_present);
      out->set_last_error(r.last_error);
    }
    return core::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::ReaderEvent>* ReaderServiceImpl::WatchReaders(
    grpc::CallbackServerContext* ctx, const v1::WatchReadersRequest* request) {
  const auto started = runner_.deps().clock->SteadyNow();
  auto admitted = runner_.Admit(ctx, "WatchReaders");
  if (!admitted) {
    grpc::Status status = ToGrpcStatus(admitted.error());
    Call anonymous;
    anonymous.method = "/onshi.v1.ReaderService/WatchReaders";
    runner_.Finished(anonymous, status, started);
    return new RefusedReactor(status);
  }
  if (!runner_.deps().readers) {
    grpc::Status status = ToGrpcStatus(NotConfigured());
    runner_.Finished(*admitted.value(), status, started);
    return new RefusedReactor(status);
  }
  return new WatchReactor(runner_, std::move(admitted).value(), *request);
}

grpc::ServerUnaryReactor* ReaderServiceImpl::InspectCard(grpc::CallbackServerContext* ctx,
                                                         const v1::InspectCardRequest* request,
                                                         v1::InspectCardResponse* response) {
  return runner_.UnaryAsync(
      ctx, "InspectCard", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto* readers = runner_.deps().readers;
        if (auto bad = CheckCardCall(readers, request->reader(), *call)) return done(*bad);
        const std::string reader = request->reader();
        readers->InspectCard(
            reader, [call, response, reader,
                     done = OnExecutor(runner_.deps().executor, std::move(done))](
                        core::Result<card::CardInspection> outcome) {
              if (!outcome) return done(outcome.error());
              const auto& inspection = outcome.value();
              response->set_reader(reader);
              response->set_token(ToProto(inspection.token));
              response->set_pin_required_for_certificate(inspection.pin_required_for_certificate);
              if (inspection.certificate) {
                *response->mutable_certificate() = ToProto(*inspection.certificate);
                if (!inspection.certificate->card_key.empty()) {
                  call->audit_subject = "card:" + inspection.certificate->card_key;
                }
              }
              done(core::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* ReaderServiceImpl::GetPinStatus(grpc::CallbackServerContext* ctx,
                                                          const v1::GetPinStatusRequest* request,
                                                          v1::PinStatus* response) {
  return runner_.UnaryAsync(
      ctx, "GetPinStatus", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto* readers = runner_.deps().readers;
        if (auto bad = CheckCardCall(readers, request->reader(), *call)) return done(*bad);
        readers->GetPinStatus(
            request->reader(),
            [response, done = OnExecutor(runner_.deps().executor, std::move(done))](
                core::Result<card::PinStatus> outcome) {
              if (!outcome) return done(outcome.error());
              *response = ToProto(outcome.value());
              done(core::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* ReaderServiceImpl::VerifyPin(grpc::CallbackServerContext* ctx,
                                                       const v1::VerifyPinRequest* request,
                                                       v1::PinStatus* response) {
  return runner_.UnaryAsync(
      ctx, "VerifyPin", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto pin = TakePin(request->pin(), "pin");
        auto* readers = runner_.deps().readers;
        if (auto bad = CheckCardCall(readers, request->reader(), *call)) return done(*bad);
        if (!pin) return done(pin.error());
        if (request->reserve_tries() < 0 || request->reserve_tries() > 2) {
          return done(core::InvalidArgument(
              "INVALID_RESERVE_TRIES", "reserve_tries must be 0..2",
              "残り回数の指定が正しくありません。",
              {{"reserve_tries", "0 (no reservation), 1 or 2"}}));
        }
        readers->VerifyPin(
            request->reader(), std::move(pin).value(), request->reserve_tries(),
            [response, done = OnExecutor(runner_.deps().executor, std::move(done))](
                core::Result<card::PinStatus> outcome) {
              if (!outcome) return done(outcome.error());
              *response = ToProto(outcome.value());
              done(core::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* ReaderServiceImpl::SignChallenge(
    grpc::CallbackServerContext* ctx, const v1::SignChallengeRequest* request,
    v1::SignChallengeResponse* response) {
  return runner_.UnaryAsync(
      ctx, "SignChallenge", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto pin = TakePin(request->pin(), "pin");
        auto* readers = runner_.deps().readers;
        if (auto bad = CheckCardCall(readers, request->reader(), *call)) return done(*bad);
        if (!pin) return done(pin.error());
        const std::string& challenge = request->challenge();
        if (challenge.empty() || challenge.size() > kMaxChallenge) {
          return done(core::InvalidArgument(
              "INVALID_CHALLENGE", "challenge must be 1..1024 bytes",
              "署名するデータの指定が正しくありません。",
              {{"challenge", "1..1024 bytes (base64 in JSON)"}}));
        }
        readers->SignChallenge(
            request->reader(), std::move(pin).value(),
            std::vector<std::uint8_t>(challenge.begin(), challenge.end()),
            [call, response, done = OnExecutor(runner_.deps().executor, std::move(done))](
                core::Result<card::SignedChallenge> outcome) {
              if (!outcome) return done(outcome.error());
              const auto& signed_challenge = outcome.value();
              response->set_signature(signed_challenge.signature.data(),
                                      signed_challenge.signature.size());
              response->set_signature_algorithm("RSASSA-PKCS1-v1_5-SHA256");
              response->set_certificate_der(signed_challenge.certificate.der.data(),
                                            signed_challenge.certificate.der.size());
              *response->mutable_certificate() = ToProto(signed_challenge.certificate);
              if (!signed_challenge.certificate.card_key.empty()) {
                call->audit_subject = "card:" + signed_challenge.certificate.card_key;
              }
              done(core::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* ReaderServiceImpl::ReadBasicInfo(
    grpc::CallbackServerContext* ctx, const v1::ReadBasicInfoRequest* request,
    v1::BasicInfo* response) {
  return runner_.UnaryAsync(
      ctx, "ReadBasicInfo", *request, response,
      [this, request, response](std::shared_ptr<Call> call, CallRunner::Done done) {
        auto pin = TakePin(request->kenhojo_pin(), "kenhojo_pin");
        auto* readers = runner_.deps().readers;
        if (auto bad = CheckCardCall(readers, request->reader(), *call)) return done(*bad);
        if (!pin) return done(pin.error());
        readers->ReadBasicInfo(
            request->reader(), std::move(pin).value(),
            [response, done = OnExecutor(runner_.deps().executor, std::move(done))](
                core::Result<card::BasicInfo> outcome) {
              if (!outcome) return done(outcome.error());
              auto& info = outcome.value();
              response->set_name(std::move(info.name));
              response->set_address(std::move(info.address));
              response->set_birth_date(std::move(info.birth_date));
              response->set_sex(std::move(info.sex));
              done(core::OkStatus());
            });
      });
}

}  // namespace onshid::api
