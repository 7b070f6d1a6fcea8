#pragma once
// The vocabulary that check-ins (core/checkin), fallback cases (core/fallback) and the API share —
// one domain, one set of words (issue 12):
//   FallbackCause  why eligibility could not be confirmed online at this visit;
//   VisitKind      初診 / 再診;
//   Document       what a patient presents at the desk, and DocumentSet, a set of them.
// Wording: "qualification certificate" is always the 資格確認書 (a document); "certificate" alone
// is the card's 電子証明書 (JPKI).
//
// Every value has a stable UPPER_SNAKE_CASE name (stored in bodies and events, and the API's enum
// value names are "<PREFIX>_" + this name), never renamed once released.
//
// Pure: the standard library only.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

namespace onshid::core {

// Why the desk could not confirm eligibility online (DOMAIN.md §6, §7, §10; seed 003
// 「マイナ保険証で受付が出来ない例」 and 「資格（無効）」や「資格情報なし」等の結果). The order is stable:
// new causes are appended.
enum class FallbackCause {
  // マイナ保険証 (card) could not be used.
  kCertificateExpired,    // 電子証明書 expired; the engine applies the 3-month grace
  kIcUnreadable,          // IC チップ broken or unreadable
  kIdentificationFailed,  // face and PIN both unusable: face fails and the PIN is forgotten or
                          // locked, dementia, disability, poor condition, camera/PIN-pad fault
  kFaceReaderWontStart,   // 顔認証付きカードリーダー does not start
  kNetworkError,          // ネットワークエラー: OQS (or the 資格確認端末) cannot be reached
  kTerminalTrouble,       // 資格確認端末 / its application (or a reader) fails, other than error 011
  kTerminalError011,      // face-reader error code 011: 資格確認端末不良
  // マイナ保険証 (smartphone) could not be used.
  kSmartphoneNotSupported,  // only the phone, and the facility cannot read phones
  kGenericReaderBroken,     // the 汎用カードリーダー that reads phones is broken
  // Reception worked; the result is not a usable eligibility.
  kResultInvalid,             // 資格(無効) (資格有効性 2)
  kResultInvalidNewerExists,  // 無効（新しい資格あり） (資格有効性 3)
  kResultNoRecord,            // 資格情報なし (資格有効性 4)
  kResultMultiple,            // 複数該当 (資格有効性 5)
  kProcessingError,           // 処理結果区分 / 処理結果状況 abnormal, or an unreadable result
  // Nothing to verify online with.
  kNoDocument,             // neither マイナ保険証 nor 資格確認書 presented (lost, not issued yet)
  kNoOnlineVerification,   // the facility has no OQS (義務化対象外, paper claims; DOMAIN.md §10)
  // マイナ保険証 (card) could not be used (appended).
  kCertificateUntrusted,  // 電子証明書 not trusted or not yet valid (a generic-reader tap): the
                          // card cannot be used; the engine treats it as kIcUnreadable
};
inline constexpr std::array<FallbackCause, 17> kAllFallbackCauses = {
    FallbackCause::kCertificateExpired,     FallbackCause::kIcUnreadable,
    FallbackCause::kIdentificationFailed,   FallbackCause::kFaceReaderWontStart,
    FallbackCause::kNetworkError,           FallbackCause::kTerminalTrouble,
    FallbackCause::kTerminalError011,       FallbackCause::kSmartphoneNotSupported,
    FallbackCause::kGenericReaderBroken,    FallbackCause::kResultInvalid,
    FallbackCause::kResultInvalidNewerExists, FallbackCause::kResultNoRecord,
    FallbackCause::kResultMultiple,         FallbackCause::kProcessingError,
    FallbackCause::kNoDocument,             FallbackCause::kNoOnlineVerification,
    FallbackCause::kCertificateUntrusted};
std::string_view ToString(FallbackCause cause);  // "CERTIFICATE_EXPIRED", … (stable)
std::optional<FallbackCause> FallbackCauseFromString(std::string_view name);

// 初診 / 再診.
enum class VisitKind { kFirstVisit, kRevisit };
std::string_view ToString(VisitKind visit);  // "FIRST_VISIT", "REVISIT"
std::optional<VisitKind> VisitKindFromString(std::string_view name);

// What a patient presents at the desk (DOMAIN.md §2).
enum class Document {
  kMyNumberCard,                        // マイナ保険証 (card)
  kMyNumberSmartphone,                  // マイナ保険証 (smartphone, since 2025-09-19)
  kQualificationCertificateCard,        // 資格確認書 (card 54×86 mm)
  kQualificationCertificatePostcard,    // 資格確認書 (postcard)
  kQualificationCertificateA4,          // 資格確認書 (A4)
  kQualificationCertificateElectronic,  // 資格確認書 (electronic, on-screen)
  kQualificationNotice,                 // 資格情報のお知らせ: never stands alone
  kMynaPortalScreen,                    // マイナポータル 資格情報画面 or its PDF: never stands alone
  kHealthInsuranceCard,  // 健康保険証: every one expired on 2025-12-01; provisional until 2026-03-31
  kNone,                 // nothing presented
};
inline constexpr std::array<Document, 10> kAllDocuments = {
    Document::kMyNumberCard,
    Document::kMyNumberSmartphone,
    Document::kQualificationCertificateCard,
    Document::kQualificationCertificatePostcard,
    Document::kQualificationCertificateA4,
    Document::kQualificationCertificateElectronic,
    Document::kQualificationNotice,
    Document::kMynaPortalScreen,
    Document::kHealthInsuranceCard,
    Document::kNone};
std::string_view ToString(Document document);  // "MY_NUMBER_CARD", … (stable)
std::optional<Document> DocumentFromString(std::string_view name);

// True for the four kinds of 資格確認書.
bool IsQualificationCertificate(Document document);
// True for マイナ保険証 on card or smartphone.
bool IsMyNumberInsurance(Document document);

// The documents presented at one arrival, as a set (the order they were shown is not kept).
// kNone is never a member: an empty set is "nothing presented".
class DocumentSet {
 public:
  DocumentSet() = default;
  DocumentSet(std::initializer_list<Document> documents);
  explicit DocumentSet(const std::vector<Document>& documents);

  void Add(Document document);
  void Remove(Document document);
  bool Has(Document document) const;
  bool Empty() const { return bits_ == 0; }

  bool HasMyNumberCard() const { return Has(Document::kMyNumberCard); }
  bool HasSmartphone() const { return Has(Document::kMyNumberSmartphone); }
  bool HasQualificationCertificate() const;  // any of the four kinds
  bool HasHealthInsuranceCard() const { return Has(Document::kHealthInsuranceCard); }
  bool HasQualificationNotice() const { return Has(Document::kQualificationNotice); }
  bool HasPortalScreen() const { return Has(Document::kMynaPortalScreen); }

  // The members in kAllDocuments order.
  std::vector<Document> List() const;

  friend bool operator==(const DocumentSet&, const DocumentSet&) = default;

 private:
  std::uint32_t bits_ = 0;
};

}  // namespace onshid::core
