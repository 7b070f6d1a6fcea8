#pragma once
// Codec port: turning eligibility queries into request documents and result documents into the
// normalized model. Implemented by adapters/oqs_folder (pugixml); the application only sees this.

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/oqs/eligibility.h"
#include "core/oqs/query.h"

namespace onshid::core {

struct QualificationRequestHeader {
  std::string medical_institution_code;  // 医療機関コード (10 digits)
  oqs::OqsDate confirmation_date;        // 資格確認日
  std::string arbitrary_file_identifier; // echoed by the terminal; verified on the result
};

// Thread-safe, stateless.
class OqsCodec {
 public:
  virtual ~OqsCodec() = default;
  // Errors: MALFORMED_XML (with the parser's description; no document content).
  virtual Result<oqs::EligibilityResult> ParseQualificationResult(std::string_view xml_utf8) const = 0;
  // A complete OQSsiquc01req document (UTF-8, with declaration).
  virtual Result<std::string> BuildQualificationRequest(
      const oqs::EligibilityQuery& query, const QualificationRequestHeader& header) const = 0;
  // A complete OQSsiimm01req document (照会番号登録); the header's confirmation date is not used.
  // Errors: INVALID_REFERENCE_NUMBER (kInvalidArgument).
  virtual Result<std::string> BuildReferenceNumberRequest(
      const oqs::ReferenceNumberRegistration& registration,
      const QualificationRequestHeader& header) const = 0;
  // Errors: MALFORMED_XML.
  virtual Result<oqs::ReferenceNumberResult> ParseReferenceNumberResult(
      std::string_view xml_utf8) const = 0;
};

}  // namespace onshid::core
