#pragma once
// Check-in inputs (受付): how the patient identified (channel), what they presented (documents),
// the visit facts supplied by the vendor, and the document rules of DOMAIN.md §2.
//
// Pure: the standard library only. Dates are Japan calendar dates passed in by the caller (taken
// from the injected Clock); nothing here reads "now".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/oqs/identifiers.h"
#include "core/reception.h"

namespace onshid::core::checkin {

// How the patient identified at this site.
enum class Channel {
  kFaceReader,     // 顔認証付きカードリーダー: a result arriving in face/
  kDocumentQuery,  // a query with the identifiers of a 資格確認書 or a provisional document
  kGenericReader,  // a tap of the card or smartphone on a generic PC/SC reader
  kHomeOnline,     // 居宅同意取得型 (マイナ在宅受付Web); a later issue
  kManual,         // staff entered the check-in by hand
};

// What the patient presented at the desk, and 初診 / 再診: the shared vocabulary
// (core/reception.h).
using ::onshid::core::Document;
using ::onshid::core::DocumentSet;
using ::onshid::core::VisitKind;

// Stable upper-case names ("FACE_READER", …).
std::string_view ToString(Channel channel);
std::optional<Channel> ChannelFromString(std::string_view name);

// Facts the vendor's system (レセコン) supplies with a check-in.
struct VisitFacts {
  VisitKind kind = VisitKind::kFirstVisit;  // 初診 / 再診
  int real_days_this_month = 0;  // 実日数 so far this month, before this visit (0–31)
  std::string patient_id;        // the patient's id in the vendor's system; empty when not known yet
};

// Checks the visit facts. Errors: INVALID_VISIT_FACTS (kInvalidArgument) naming each bad field
// ("visit.real_days_this_month": outside 0–31; "visit.patient_id": longer than 64 characters or
// containing control characters; "visit.kind": a 再診 with no patient id).
Status ValidateVisitFacts(const VisitFacts& facts);

// What the patient says they hold, asked by staff before the provisional expired-card path.
// nullopt = not asked yet.
struct PatientHoldings {
  std::optional<bool> my_number_insurance;       // holds a マイナ保険証 (card or smartphone)
  std::optional<bool> qualification_certificate;  // holds a 資格確認書
};

// The last day on which an expired 健康保険証 may be used on the provisional path (DOMAIN.md §2).
inline constexpr int kProvisionalLastYear = 2026;
inline constexpr unsigned kProvisionalLastMonth = 3;
inline constexpr unsigned kProvisionalLastDay = 31;

// How the eligibility of an accepted check-in is to be verified.
enum class VerificationPath {
  kMyNumberCard,        // the card / smartphone on the face or generic reader (online)
  kQualificationCertificateQuery,  // online query with the identifiers of the 資格確認書
                                   // (every visit)
  kProvisionalQuery,    // online query with the numbers on the expired 健康保険証 (until 2026-03-31)
  kNoDocument,          // nothing to verify with: the fallback engine decides (DOMAIN.md §7)
};
std::string_view ToString(VerificationPath path);

// The accepted documents and what to do with them.
struct DocumentDecision {
  VerificationPath path = VerificationPath::kNoDocument;
  // The document that carries the verification (kNone for kNoDocument).
  Document primary = Document::kNone;
  // True when an online eligibility query must be made with identifiers (資格確認書 always,
  // the provisional path always). The card path queries through the reader instead.
  bool requires_identifier_query = false;
  // Notes for reception staff (ja-JP), e.g. that a presented お知らせ was not needed.
  std::vector<std::string> staff_notes_ja;
};

// Applies the document rules of DOMAIN.md §2 to one arrival. `date` is the Japan calendar date of
// the check-in (from the injected Clock).
//
// Rules, in order:
//  - `documents` must not be empty, must not repeat a document, and kNone must stand alone
//    (INVALID_DOCUMENTS, kInvalidArgument, field "documents").
//  - A マイナ保険証 (card or smartphone) decides: kMyNumberCard. お知らせ / マイナポータル / 資格確認書 /
//    an expired card presented beside it are noted but not needed.
//  - Otherwise a 資格確認書 of any kind: kQualificationCertificateQuery, always with an identifier query.
//  - お知らせ or マイナポータル screen without the card is refused: QUALIFICATION_NOTICE_WITHOUT_CARD /
//    PORTAL_SCREEN_WITHOUT_CARD (kFailedPrecondition, field "documents") — unless it accompanies
//    an expired 健康保険証 that the provisional path accepts (its numbers may then be used).
//  - A 健康保険証 (all expired on 2025-12-01): accepted as kProvisionalQuery only while `date` ≤ 2026-03-31 and the
//    patient holds neither マイナ保険証 nor 資格確認書. Refusals (kFailedPrecondition):
//    PROVISIONAL_PERIOD_ENDED (after 2026-03-31), PATIENT_HOLDS_MY_NUMBER_INSURANCE,
//    PATIENT_HOLDS_QUALIFICATION_CERTIFICATE; HOLDINGS_NOT_CONFIRMED (kInvalidArgument, fields
//    "holdings.my_number_insurance" / "holdings.qualification_certificate") when staff have not
//    asked.
//  - kNone: kNoDocument (the fallback path), only on the kManual channel.
//  - Channel consistency: the face reader, generic reader and home channels need a マイナ保険証
//    (CHANNEL_NEEDS_MY_NUMBER_INSURANCE); the document-query channel needs a 資格確認書 or an
//    accepted expired card (CHANNEL_NEEDS_DOCUMENT); both kFailedPrecondition, field "channel".
Result<DocumentDecision> EvaluateDocuments(Channel channel, const std::vector<Document>& documents,
                                           const PatientHoldings& holdings, oqs::OqsDate date);

}  // namespace onshid::core::checkin
