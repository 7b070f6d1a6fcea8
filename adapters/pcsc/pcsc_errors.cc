#include "pcsc/pcsc_errors.h"

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>

#include <cstdio>

namespace onshid::pcsc {
namespace {

using core::DomainError;
using core::ErrorKind;

constexpr const char* kFallbackJa =
    "目視確認モード、または他の確認方法（資格確認書・資格情報のお知らせ等）で受付してください。";

DomainError Make(ErrorKind kind, const char* reason, std::string message, std::string message_ja) {
  DomainError e;
  e.kind = kind;
  e.reason = reason;
  e.message = std::move(message);
  e.message_ja = std::move(message_ja);
  return e;
}

std::string Hex4(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", v & 0xFFFF);
  return buf;
}

const char* StepName(Step step) {
  switch (step) {
    case Step::kConnect: return "connect";
    case Step::kSelectJpki: return "select JPKI AP";
    case Step::kReadToken: return "read token";
    case Step::kReadCertificate: return "read certificate";
    case Step::kPinStatus: return "PIN status";
    case Step::kVerifyPin: return "verify PIN";
    case Step::kSign: return "sign";
    case Step::kSelectKenhojo: return "select card-info AP";
    case Step::kKenhojoPinStatus: return "card-info PIN status";
    case Step::kVerifyKenhojoPin: return "verify card-info PIN";
    case Step::kReadBasicInfo: return "read basic information";
    case Step::kOther: return "card operation";
  }
  return "card operation";
}

bool IsPinStep(Step step) {
  return step == Step::kVerifyPin || step == Step::kVerifyKenhojoPin;
}

DomainError FromStatusWord(const CardFailure& f) {
  const std::uint16_t sw = f.sw;
  const std::string where = StepName(f.step);
  DomainError e;
  if (sw == 0x63C0 || sw == 0x6983 || sw == 0x6984) {
    e = PinLocked();
    if (f.step == Step::kVerifyKenhojoPin || f.step == Step::kKenhojoPinStatus) {
      e.message = "the card-information PIN (券面事項入力補助用暗証番号) is locked";
      e.message_ja = "券面事項入力補助用暗証番号がロックされています。手入力で登録してください。";
    }
  } else if ((sw & 0xFFF0) == 0x63C0 && IsPinStep(f.step)) {
    const int left = sw & 0x0F;
    e = Make(ErrorKind::kFailedPrecondition, "PIN_INCORRECT",
             "wrong PIN, " + std::to_string(left) + " tries left",
             "暗証番号が違います。残り" + std::to_string(left) +
                 "回間違えるとロックされます。不安な場合は目視確認モードを使用してください。");
    e.metadata.emplace_back("tries_left", std::to_string(left));
  } else if (sw == 0x6A82 && (f.step == Step::kSelectJpki || f.step == Step::kSelectKenhojo)) {
    e = Make(ErrorKind::kFailedPrecondition, "CARD_NOT_JPKI",
             "the card has no JPKI application (not a My Number card or smartphone JPKI)",
             "マイナンバーカードではないか、読み取れないカードです。カードを確認してください。");
  } else if (sw == 0x6982 && f.step == Step::kReadCertificate) {
    e = Make(ErrorKind::kFailedPrecondition, "CERTIFICATE_NEEDS_PIN",
             "the certificate can only be read after PIN verification (smartphone JPKI)",
             "スマートフォンの電子証明書は暗証番号の入力後に読み取れます。");
  } else {
    e = Make(ErrorKind::kFailedPrecondition, "CARD_STATUS_UNEXPECTED",
             "the card answered " + where + " with status " + Hex4(sw),
             std::string("カードの読み取りに失敗しました。カードを置き直してください。") +
                 kFallbackJa);
  }
  e.metadata.emplace_back("status_word", Hex4(sw));
  e.metadata.emplace_back("step", where);
  return e;
}

}  // namespace

std::string PcscCodeName(long code) {
  switch (code) {
    case SCARD_S_SUCCESS: return "SCARD_S_SUCCESS";
    case SCARD_E_CANCELLED: return "SCARD_E_CANCELLED";
    case SCARD_E_NO_SERVICE: return "SCARD_E_NO_SERVICE";
    case SCARD_E_SERVICE_STOPPED: return "SCARD_E_SERVICE_STOPPED";
    case SCARD_F_COMM_ERROR: return "SCARD_F_COMM_ERROR";
    case SCARD_E_INVALID_HANDLE: return "SCARD_E_INVALID_HANDLE";
    case SCARD_E_UNKNOWN_READER: return "SCARD_E_UNKNOWN_READER";
    case SCARD_E_READER_UNAVAILABLE: return "SCARD_E_READER_UNAVAILABLE";
    case SCARD_E_NO_SMARTCARD: return "SCARD_E_NO_SMARTCARD";
    case SCARD_W_REMOVED_CARD: return "SCARD_W_REMOVED_CARD";
    case SCARD_W_RESET_CARD: return "SCARD_W_RESET_CARD";
    case SCARD_W_UNRESPONSIVE_CARD: return "SCARD_W_UNRESPONSIVE_CARD";
    case SCARD_W_UNPOWERED_CARD: return "SCARD_W_UNPOWERED_CARD";
    case SCARD_E_SHARING_VIOLATION: return "SCARD_E_SHARING_VIOLATION";
    case SCARD_E_TIMEOUT: return "SCARD_E_TIMEOUT";
    case SCARD_E_NOT_TRANSACTED: return "SCARD_E_NOT_TRANSACTED";
    case SCARD_E_PROTO_MISMATCH: return "SCARD_E_PROTO_MISMATCH";
    case SCARD_E_NO_READERS_AVAILABLE: return "SCARD_E_NO_READERS_AVAILABLE";
    default: return "PCSC_0x" + Hex4(static_cast<unsigned>(code) >> 16) +
                    Hex4(static_cast<unsigned>(code));
  }
}

bool IsServiceLost(long code) {
  return code == SCARD_E_NO_SERVICE || code == SCARD_E_SERVICE_STOPPED ||
         code == SCARD_F_COMM_ERROR || code == SCARD_E_INVALID_HANDLE;
}

DomainError PcscCallError(long code, const char* call) {
  DomainError e;
  if (code == SCARD_E_NO_SMARTCARD || code == SCARD_W_REMOVED_CARD ||
      code == SCARD_W_UNPOWERED_CARD || code == SCARD_W_RESET_CARD ||
      code == SCARD_W_UNRESPONSIVE_CARD) {
    e = Make(ErrorKind::kFailedPrecondition,
             code == SCARD_E_NO_SMARTCARD ? "NO_CARD" : "CARD_REMOVED",
             std::string("no card in the reader (") + call + ")",
             "カードが読み取れません。カードをカードリーダーに置いたまま、もう一度お試しください。");
  } else if (IsServiceLost(code)) {
    e = Make(ErrorKind::kUnavailable, "PCSC_SERVICE_UNAVAILABLE",
             std::string("the PC/SC service (pcscd) is not reachable (") + call + ")",
             "カードリーダーのサービスが停止しています。しばらく待っても直らない場合はシステム管理者に連絡してください。");
  } else if (code == SCARD_E_UNKNOWN_READER) {
    e = Make(ErrorKind::kNotFound, "READER_NOT_FOUND", std::string("unknown reader (") + call + ")",
             "カードリーダーが見つかりません。接続を確認してください。");
  } else if (code == SCARD_E_SHARING_VIOLATION || code == SCARD_E_TIMEOUT) {
    e = Make(ErrorKind::kUnavailable, "READER_BUSY",
             std::string("the reader is in use by another application (") + call + ")",
             "カードリーダーが使用中です。少し待ってからもう一度お試しください。");
  } else {
    e = Make(ErrorKind::kUnavailable, "READER_UNAVAILABLE",
             std::string(call) + " failed: " + PcscCodeName(code),
             "カードリーダーでエラーが発生しました。カードを置き直してください。直らない場合はシステム管理者に連絡してください。");
  }
  e.metadata.emplace_back("pcsc_code", PcscCodeName(code));
  return e;
}

DomainError ToDomainError(const CardFailure& f) {
  switch (f.kind) {
    case FailureKind::kTransport: {
      if (f.pcsc_code == 0) {  // response shorter than 2 bytes: the card went away mid-APDU
        DomainError e = Make(ErrorKind::kFailedPrecondition, "CARD_REMOVED",
                             std::string("the card was removed during ") + StepName(f.step),
                             "読み取り中にカードが離れました。カードを置いたまま、もう一度お試しください。");
        e.metadata.emplace_back("step", StepName(f.step));
        return e;
      }
      DomainError e = PcscCallError(f.pcsc_code, StepName(f.step));
      if (e.reason == "READER_UNAVAILABLE") {
        e.reason = "CARD_COMMUNICATION_ERROR";
      }
      return e;
    }
    case FailureKind::kStatusWord:
      return FromStatusWord(f);
    case FailureKind::kParse: {
      DomainError e = Make(ErrorKind::kFailedPrecondition, "CARD_DATA_INVALID",
                           std::string("malformed card data during ") + StepName(f.step) + ": " +
                               f.detail,
                           std::string("カードのデータを読み取れませんでした。") + kFallbackJa);
      e.metadata.emplace_back("detail", f.detail);
      return e;
    }
    case FailureKind::kNotAllowed: {
      DomainError e = core::Internal(std::string("APDU refused by the allow-list during ") +
                                     StepName(f.step) + ": " + f.detail +
                                     " (never sent to the card; this is a bug)");
      e.reason = "APDU_NOT_ALLOWED";
      e.metadata.emplace_back("detail", f.detail);
      return e;
    }
  }
  return core::Internal("unknown card failure");
}

DomainError ReaderNotFound(const std::string& reader) {
  DomainError e = Make(ErrorKind::kNotFound, "READER_NOT_FOUND", "no such reader: " + reader,
                       "カードリーダーが見つかりません。接続を確認してください。");
  e.field_violations.push_back({"reader", "unknown reader"});
  return e;
}

DomainError PinAttemptReserved(int tries_left) {
  DomainError e = Make(ErrorKind::kFailedPrecondition, "PIN_ATTEMPT_RESERVED",
                       "PIN not sent: only " + std::to_string(tries_left) +
                           " tries left, which the caller reserved",
                       "暗証番号の残り回数が少ないため送信しませんでした。目視確認モードを使用してください。");
  e.metadata.emplace_back("tries_left", std::to_string(tries_left));
  return e;
}

DomainError PinLocked() {
  return Make(ErrorKind::kFailedPrecondition, "PIN_LOCKED",
              "the user-authentication PIN is locked; unlocking needs the municipality",
              "暗証番号がロックされています。目視確認モード、または他の確認方法で受付してください。"
              "ロック解除はお住まいの市区町村の窓口で行えます。");
}

DomainError SignatureInvalid() {
  return Make(ErrorKind::kFailedPrecondition, "SIGNATURE_INVALID",
              "the card's signature does not verify against its certificate",
              std::string("カードの署名を確認できませんでした。") + kFallbackJa);
}

DomainError AdapterStopped() {
  return Make(ErrorKind::kUnavailable, "READER_UNAVAILABLE", "the reader is gone or shutting down",
              "カードリーダーが利用できません。接続を確認してください。");
}

}  // namespace onshid::pcsc
