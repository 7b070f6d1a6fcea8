#pragma once
// FakeOqsCodec: a core::OqsCodec over a line format instead of XML, so that use-case tests need no
// XML parser (header-only; core only). Parsing goes through core's own element assignment
// (core/oqs/eligibility.h: Assign*Element, FinishResult), so a parsed result is exactly what the
// real codec builds from the same elements — typed values, issues and all.
//
// A result document ("xml_utf8" as far as the ports are concerned) is:
//   FAKE-OQS-RESULT
//   Header/SegmentOfResult=1            MessageHeader elements
//   Body/QualificationValidity=1        MessageBody elements
//   SearchInfo/InsurerNumber=06139992   QualificationConfirmSearchInfo elements
//   Result                              starts a ResultOfQualificationConfirmation
//   Result/NameKana=ﾔﾏﾀﾞ ﾀﾛｳ             its elements (a Result/ line without a Result line before
//                                       starts one)
// and a 照会番号登録 result is "FAKE-OQS-SIIMM" followed by Header/ and Body/ (the
// ReferenceNumberRegistrationInfo elements) lines. Anything else — a document that does not start
// with its marker, or a line of no known form — is MALFORMED_XML, as the real codec's answer to a
// file it cannot read.
//
// Requests are built as "FAKE-OQS-REQUEST <type>" followed by Name=value lines of the header and
// the query (parse them back with RequestFields). BuildReferenceNumberRequest refuses an empty
// 照会番号 with INVALID_REFERENCE_NUMBER like the real codec.
//
// FakeResultDocument builds result documents for tests. Thread-safe and stateless.

#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/oqs/eligibility.h"
#include "core/oqs_codec.h"

namespace onshid::testing {

class FakeOqsCodec final : public core::OqsCodec {
 public:
  core::Result<core::oqs::EligibilityResult> ParseQualificationResult(
      std::string_view xml_utf8) const override {
    std::vector<std::string> lines = Lines(xml_utf8);
    if (lines.empty() || lines.front() != "FAKE-OQS-RESULT") {
      return Malformed("not a fake OQS result document");
    }
    core::oqs::EligibilityResult r;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line.empty()) continue;
      if (line == "Result") {
        r.results.emplace_back();
        continue;
      }
      auto [section, name, text] = Split(line);
      if (section == "Header") {
        core::oqs::AssignHeaderElement(r.header, name, text, "MessageHeader", r.issues);
      } else if (section == "Body") {
        core::oqs::AssignBodyElement(r, name, text, "MessageBody", r.issues);
      } else if (section == "SearchInfo") {
        if (!r.search_info) r.search_info.emplace();
        core::oqs::AssignSearchInfoElement(*r.search_info, name, text,
                                           "MessageBody/QualificationConfirmSearchInfo", r.issues);
      } else if (section == "Result") {
        if (r.results.empty()) r.results.emplace_back();
        core::oqs::AssignQualificationElement(
            r.results.back(), name, text,
            "MessageBody/ResultList/ResultOfQualificationConfirmation", r.issues);
      } else {
        return Malformed("line " + std::to_string(i + 1) + " is of no known form");
      }
    }
    core::oqs::FinishResult(r);
    return r;
  }

  core::Result<std::string> BuildQualificationRequest(
      const core::oqs::EligibilityQuery& query,
      const core::QualificationRequestHeader& header) const override {
    std::ostringstream out;
    out << "FAKE-OQS-REQUEST OQSsiquc01\n" << HeaderLines(header);
    out << "InsurerNumber=" << query.insurer_number.digits() << "\n";
    if (query.insured_card_symbol)
      out << "InsuredCardSymbol=" << query.insured_card_symbol->raw() << "\n";
    out << "InsuredIdentificationNumber=" << query.insured_identification_number.raw() << "\n";
    if (query.insured_branch_number) {
      out << "InsuredBranchNumber=" << query.insured_branch_number->digits() << "\n";
    }
    out << "Birthdate=" << query.birth_date.ToString() << "\n";
    out << "LimitApplicationCertificateRelatedConsFlg=" << (query.limit_certificate_consent ? 1 : 0)
        << "\n";
    if (query.arbitrary_identifier)
      out << "ArbitraryIdentifier=" << *query.arbitrary_identifier << "\n";
    return out.str();
  }

  core::Result<std::string> BuildReferenceNumberRequest(
      const core::oqs::ReferenceNumberRegistration& registration,
      const core::QualificationRequestHeader& header) const override {
    if (registration.reference_number.empty()) {
      return core::InvalidArgument("INVALID_REFERENCE_NUMBER", "reference_number is empty",
                                   "照会番号を入力してください。",
                                   {{"reference_number", "required"}});
    }
    std::ostringstream out;
    out << "FAKE-OQS-REQUEST OQSsiimm01\n" << HeaderLines(header);
    out << "ReferenceNumber=" << registration.reference_number << "\n";
    out << "InsurerNumber=" << registration.insurer_number.digits() << "\n";
    if (registration.insured_card_symbol) {
      out << "InsuredCardSymbol=" << registration.insured_card_symbol->raw() << "\n";
    }
    out << "InsuredIdentificationNumber=" << registration.insured_identification_number.raw()
        << "\n";
    if (registration.insured_branch_number) {
      out << "InsuredBranchNumber=" << registration.insured_branch_number->digits() << "\n";
    }
    return out.str();
  }

  core::Result<core::oqs::ReferenceNumberResult> ParseReferenceNumberResult(
      std::string_view xml_utf8) const override {
    std::vector<std::string> lines = Lines(xml_utf8);
    if (lines.empty() || lines.front() != "FAKE-OQS-SIIMM") {
      return Malformed("not a fake OQS reference number result");
    }
    core::oqs::ReferenceNumberResult r;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (lines[i].empty()) continue;
      auto [section, name, text] = Split(lines[i]);
      if (section == "Header") {
        core::oqs::AssignHeaderElement(r.header, name, text, "MessageHeader", r.issues);
      } else if (section == "Body") {
        core::oqs::AssignReferenceNumberElement(
            r, name, text, "MessageBody/ReferenceNumberRegistrationInfo", r.issues);
      } else {
        return Malformed("line " + std::to_string(i + 1) + " is of no known form");
      }
    }
    return r;
  }

  // The Name=value lines of a request built by this codec (the first line is "type").
  static std::map<std::string, std::string> RequestFields(std::string_view request) {
    std::map<std::string, std::string> out;
    std::vector<std::string> lines = Lines(request);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == 0) {
        const auto space = lines[0].find(' ');
        out["type"] = space == std::string::npos ? "" : lines[0].substr(space + 1);
        continue;
      }
      const auto eq = lines[i].find('=');
      if (eq != std::string::npos) out[lines[i].substr(0, eq)] = lines[i].substr(eq + 1);
    }
    return out;
  }

 private:
  struct Parts {
    std::string section, name, text;
  };
  static std::vector<std::string> Lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) {
        if (start < text.size()) out.emplace_back(text.substr(start));
        break;
      }
      out.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }
  static Parts Split(const std::string& line) {
    const auto slash = line.find('/');
    const auto eq = line.find('=');
    if (slash == std::string::npos || eq == std::string::npos || eq < slash) return {};
    return {line.substr(0, slash), line.substr(slash + 1, eq - slash - 1), line.substr(eq + 1)};
  }
  static std::string HeaderLines(const core::QualificationRequestHeader& h) {
    return "MedicalInstitutionCode=" + h.medical_institution_code +
           "\nQualificationConfirmationDate=" + h.confirmation_date.ToString() +
           "\nArbitraryFileIdentifier=" + h.arbitrary_file_identifier + "\n";
  }
  static core::DomainError Malformed(const std::string& what) {
    core::DomainError e;
    e.kind = core::ErrorKind::kInvalidArgument;
    e.reason = "MALFORMED_XML";
    e.message = "malformed document: " + what;
    e.message_ja = "資格確認結果を読み取れません。";
    return e;
  }
};

// Builds FakeOqsCodec result documents.
//   FakeResultDocument::Answer().Qualification({{"NameKana", "ﾔﾏﾀﾞ ﾀﾛｳ"}}).Text()
class FakeResultDocument {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  // A normal answer (SegmentOfResult 1, ProcessingResultStatus 1) with QualificationValidity
  // `validity` ("" leaves it out) and no qualification yet.
  static FakeResultDocument Answer(std::string validity = "1") {
    FakeResultDocument d;
    d.Header("SegmentOfResult", "1").Body("ProcessingResultStatus", "1");
    if (!validity.empty()) d.Body("QualificationValidity", validity);
    return d;
  }
  // The qualification every test patient has unless it says otherwise: 保険者番号 06139992,
  // 記号 KIGO1, 番号 BANGO1, 枝番 01, born 1980-01-15, カナ ﾔﾏﾀﾞ ﾀﾛｳ. `overrides` replace or add
  // fields (an empty text removes the field).
  static Fields Patient(const Fields& overrides = {}) {
    Fields f = {{"InsurerNumber", "06139992"},
                {"InsuredCardSymbol", "KIGO1"},
                {"InsuredIdentificationNumber", "BANGO1"},
                {"InsuredBranchNumber", "01"},
                {"Birthdate", "19800115"},
                {"NameKana", "ﾔﾏﾀﾞ ﾀﾛｳ"},
                {"Name", "山田　太郎"}};
    for (const auto& [name, text] : overrides) {
      bool replaced = false;
      for (auto& field : f) {
        if (field.first == name) {
          field.second = text;
          replaced = true;
        }
      }
      if (!replaced) f.emplace_back(name, text);
    }
    Fields out;
    for (auto& field : f) {
      if (!field.second.empty()) out.push_back(std::move(field));
    }
    return out;
  }

  FakeResultDocument& Header(std::string name, std::string text) {
    lines_.push_back("Header/" + std::move(name) + "=" + std::move(text));
    return *this;
  }
  FakeResultDocument& Body(std::string name, std::string text) {
    lines_.push_back("Body/" + std::move(name) + "=" + std::move(text));
    return *this;
  }
  // Adds a qualification with `fields` (default: Patient()).
  FakeResultDocument& Qualification(const Fields& fields = Patient()) {
    lines_.push_back("Result");
    for (const auto& [name, text] : fields) lines_.push_back("Result/" + name + "=" + text);
    return *this;
  }
  std::string Text() const {
    std::string out = "FAKE-OQS-RESULT\n";
    for (const auto& line : lines_) out += line + "\n";
    return out;
  }

 private:
  std::vector<std::string> lines_;
};

}  // namespace onshid::testing
