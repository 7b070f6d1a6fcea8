#include "core/reception.h"

#include <algorithm>

namespace onshid::core {
namespace {

constexpr std::array<std::string_view, 17> kCauseNames = {
    "CERTIFICATE_EXPIRED", "IC_UNREADABLE",        "IDENTIFICATION_FAILED",
    "FACE_READER_WONT_START", "NETWORK_ERROR",     "TERMINAL_TROUBLE",
    "TERMINAL_ERROR_011",  "SMARTPHONE_NOT_SUPPORTED", "GENERIC_READER_BROKEN",
    "RESULT_INVALID",      "RESULT_INVALID_NEWER_EXISTS", "RESULT_NO_RECORD",
    "RESULT_MULTIPLE",     "PROCESSING_ERROR",     "NO_DOCUMENT",
    "NO_ONLINE_VERIFICATION", "CERTIFICATE_UNTRUSTED"};

constexpr std::array<std::string_view, 10> kDocumentNames = {
    "MY_NUMBER_CARD",
    "MY_NUMBER_SMARTPHONE",
    "QUALIFICATION_CERTIFICATE_CARD",
    "QUALIFICATION_CERTIFICATE_POSTCARD",
    "QUALIFICATION_CERTIFICATE_A4",
    "QUALIFICATION_CERTIFICATE_ELECTRONIC",
    "QUALIFICATION_NOTICE",
    "MYNA_PORTAL_SCREEN",
    "HEALTH_INSURANCE_CARD",
    "NONE"};

template <typename E, std::size_t N>
std::optional<E> FromName(const std::array<std::string_view, N>& names, std::string_view name) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<E>(it - names.begin());
}

std::uint32_t Bit(Document d) { return 1u << static_cast<int>(d); }

}  // namespace

std::string_view ToString(FallbackCause cause) { return kCauseNames[static_cast<int>(cause)]; }

std::optional<FallbackCause> FallbackCauseFromString(std::string_view name) {
  return FromName<FallbackCause>(kCauseNames, name);
}

std::string_view ToString(VisitKind visit) {
  return visit == VisitKind::kFirstVisit ? "FIRST_VISIT" : "REVISIT";
}

std::optional<VisitKind> VisitKindFromString(std::string_view name) {
  if (name == "FIRST_VISIT") return VisitKind::kFirstVisit;
  if (name == "REVISIT") return VisitKind::kRevisit;
  return std::nullopt;
}

std::string_view ToString(Document document) {
  return kDocumentNames[static_cast<int>(document)];
}

std::optional<Document> DocumentFromString(std::string_view name) {
  return FromName<Document>(kDocumentNames, name);
}

bool IsQualificationCertificate(Document d) {
  return d == Document::kQualificationCertificateCard ||
         d == Document::kQualificationCertificatePostcard ||
         d == Document::kQualificationCertificateA4 ||
         d == Document::kQualificationCertificateElectronic;
}

bool IsMyNumberInsurance(Document d) {
  return d == Document::kMyNumberCard || d == Document::kMyNumberSmartphone;
}

DocumentSet::DocumentSet(std::initializer_list<Document> documents) {
  for (Document d : documents) Add(d);
}

DocumentSet::DocumentSet(const std::vector<Document>& documents) {
  for (Document d : documents) Add(d);
}

void DocumentSet::Add(Document document) {
  if (document != Document::kNone) bits_ |= Bit(document);
}

void DocumentSet::Remove(Document document) { bits_ &= ~Bit(document); }

bool DocumentSet::Has(Document document) const { return (bits_ & Bit(document)) != 0; }

bool DocumentSet::HasQualificationCertificate() const {
  return Has(Document::kQualificationCertificateCard) ||
         Has(Document::kQualificationCertificatePostcard) ||
         Has(Document::kQualificationCertificateA4) ||
         Has(Document::kQualificationCertificateElectronic);
}

std::vector<Document> DocumentSet::List() const {
  std::vector<Document> out;
  for (Document d : kAllDocuments) {
    if (Has(d)) out.push_back(d);
  }
  return out;
}

}  // namespace onshid::core
