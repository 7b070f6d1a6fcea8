#include "oqs_folder/pugixml_codec.h"

#include "oqs_folder/xml_codec.h"

namespace onshid::oqs_folder {

core::Result<core::oqs::EligibilityResult> PugixmlCodec::ParseQualificationResult(
    std::string_view xml_utf8) const {
  return oqs_folder::ParseQualificationResult(xml_utf8);
}

namespace {

RequestHeader HeaderOf(const core::QualificationRequestHeader& header) {
  RequestHeader h;
  h.medical_institution_code = header.medical_institution_code;
  h.qualification_confirmation_date = header.confirmation_date;
  if (!header.arbitrary_file_identifier.empty()) {
    h.arbitrary_file_identifier = header.arbitrary_file_identifier;
  }
  return h;
}

}  // namespace

core::Result<std::string> PugixmlCodec::BuildQualificationRequest(
    const core::oqs::EligibilityQuery& query, const core::QualificationRequestHeader& header) const {
  return oqs_folder::BuildQualificationRequest(query, HeaderOf(header), request_encoding_);
}

core::Result<std::string> PugixmlCodec::BuildReferenceNumberRequest(
    const core::oqs::ReferenceNumberRegistration& registration,
    const core::QualificationRequestHeader& header) const {
  return oqs_folder::BuildReferenceNumberRequest(registration, HeaderOf(header), request_encoding_);
}

core::Result<core::oqs::ReferenceNumberResult> PugixmlCodec::ParseReferenceNumberResult(
    std::string_view xml_utf8) const {
  return oqs_folder::ParseReferenceNumberResult(xml_utf8);
}

}  // namespace onshid::oqs_folder
