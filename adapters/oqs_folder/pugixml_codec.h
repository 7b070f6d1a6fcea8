#pragma once
// core::OqsCodec over the pugixml codec of this adapter (xml_codec.h).

#include "core/oqs_codec.h"
#include "oqs_folder/encoding.h"

namespace onshid::oqs_folder {

class PugixmlCodec final : public core::OqsCodec {
 public:
  // `request_encoding`: what the request's XML declaration states (the folder adapter converts the
  // bytes when it writes Shift_JIS).
  explicit PugixmlCodec(Encoding request_encoding) : request_encoding_(request_encoding) {}

  core::Result<core::oqs::EligibilityResult> ParseQualificationResult(
      std::string_view xml_utf8) const override;
  core::Result<std::string> BuildQualificationRequest(
      const core::oqs::EligibilityQuery& query,
      const core::QualificationRequestHeader& header) const override;
  core::Result<std::string> BuildReferenceNumberRequest(
      const core::oqs::ReferenceNumberRegistration& registration,
      const core::QualificationRequestHeader& header) const override;
  core::Result<core::oqs::ReferenceNumberResult> ParseReferenceNumberResult(
      std::string_view xml_utf8) const override;

 private:
  Encoding request_encoding_;
};

}  // namespace onshid::oqs_folder
