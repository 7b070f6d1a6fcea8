#include "oqs_folder/pugixml_codec.h"

#include "oqs_folder/xml_codec.h"

namespace onshid::oqs_folder {

core::Result<core::oqs::EligibilityResult> PugixmlCodec::ParseQualificationResult(
    std::string_view xml_utf8) const {
  return oqs_folder::ParseQualificationResult(xml_utf8);
}

core::Result<std::string> PugixmlCodec::BuildQualificationRequest(
    const core::oqs::EligibilityQuery& query, const core::QualificationRequestHeader& header) const {
  RequestHeader h;
  h.medical_institution_code = header.medical_institution_code;
  h.qualification_confirmation_date = header.confirmation_date;
  if (!header.arbitrary_file_identifier.empty()) {
    h.arbitrary_file_identifier = header.arbitrary_file_identifier;
  }
  return oqs_folder::BuildQualificationRequest(query, h, request_encoding_);
}

}  // namespace onshid::oqs_folder
