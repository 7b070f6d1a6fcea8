#pragma once
// XML codec of the OQS file protocol (OQS-INTERFACE.md §3, §4.1–4.4, §9), over pugixml.
//
// Parsing is by element name, independent of element order; unknown elements are ignored and
// listed in the result's issues (by path only). DTDs are refused: a document containing
// `<!DOCTYPE` fails with XML_DOCTYPE_NOT_ALLOWED before pugixml sees it, and pugixml is run
// without parse_doctype (it never fetches or expands external or custom entities).
//
// Errors returned here (core::DomainError, kind kInternal unless noted — the data came from the
// terminal, not from the caller):
//   MALFORMED_XML            pugixml's description and the byte offset
//   XML_DOCTYPE_NOT_ALLOWED  the document has a DOCTYPE declaration
//   UNEXPECTED_XML_ROOT      the root element is not XmlMsg
//   ENCODING_MISMATCH        (ParseQualificationResultFile) declaration vs CharacterCodeIdentifier
//   plus the encoding errors of encoding.h.
// No message contains element text.
//
// Thread-safe: no shared state.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/oqs/eligibility.h"
#include "core/oqs/query.h"
#include "oqs_folder/encoding.h"

namespace onshid::oqs_folder {

// Header values of a request we write.
struct RequestHeader {
  std::string medical_institution_code;  // 医療機関コード, 10 digits
  // 資格確認日 (OQSsiquc01req only; required there, usually today in Japan).
  std::optional<core::oqs::OqsDate> qualification_confirmation_date;
  // 任意のファイル識別子: echoed in the result, used to verify the match (§6).
  std::optional<std::string> arbitrary_file_identifier;
};

// Parses an OQSsiquc01res / face file already decoded to UTF-8 (see DecodeDocument). Any XML
// declaration in the text is ignored for decoding. Several ResultOfQualificationConfirmation are
// kept in order. Calls core::oqs::FinishResult.
core::Result<core::oqs::EligibilityResult> ParseQualificationResult(std::string_view xml_utf8);

// Parses a result file as read from disk: DecodeDocument, ParseQualificationResult, then checks
// that the declared encoding agrees with CharacterCodeIdentifier (0 UTF-8 / 1 Shift_JIS) when both
// are present; a disagreement is ENCODING_MISMATCH (§9).
core::Result<core::oqs::EligibilityResult> ParseQualificationResultFile(std::string_view raw);

// Builds an OQSsiquc01req document (§4.1). The returned text is UTF-8 whose declaration names
// `target` ("UTF-8" or "Shift_JIS"); convert it with EncodeText(…, target) before writing.
// CharacterCodeIdentifier is not written (it is a result element). Empty optional fields are
// omitted. Errors (kind kInvalidArgument): INVALID_REQUEST_HEADER (medical institution code not
// 10 digits, or no qualification_confirmation_date).
core::Result<std::string> BuildQualificationRequest(const core::oqs::EligibilityQuery& query,
                                                    const RequestHeader& header, Encoding target);

// Builds an OQSsiimm01req document (§4.4): header MedicalInstitutionCode + ArbitraryFileIdentifier,
// body ReferenceNumberRegistrationInfo. Errors: INVALID_REQUEST_HEADER as above (the date is not
// used); INVALID_REFERENCE_NUMBER (empty, longer than 50 characters, control characters).
core::Result<std::string> BuildReferenceNumberRequest(
    const core::oqs::ReferenceNumberRegistration& registration, const RequestHeader& header,
    Encoding target);

// Parses an OQSsiimm01res document (UTF-8 text).
core::Result<core::oqs::ReferenceNumberResult> ParseReferenceNumberResult(
    std::string_view xml_utf8);

// MessageHeader/ArbitraryFileIdentifier of a UTF-8 document, or nullopt when the document is not
// well-formed XML, has a DOCTYPE, or has no such element.
std::optional<std::string> ArbitraryFileIdentifierOf(std::string_view xml_utf8);

// DeclaredEncoding(raw) is declared in encoding.h (it works on raw bytes).

}  // namespace onshid::oqs_folder
