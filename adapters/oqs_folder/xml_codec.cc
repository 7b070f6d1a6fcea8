#include "oqs_folder/xml_codec.h"

#include <pugixml.hpp>

#include <sstream>

namespace onshid::oqs_folder {
namespace {

namespace oqs = core::oqs;

core::DomainError CodecError(std::string reason, std::string message) {
  core::DomainError e;
  e.kind = core::ErrorKind::kInternal;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.message_ja =
      "資格確認端末から受け取ったファイルを読み取れませんでした。システム管理者に連絡してください。";
  return e;
}

// Loads `xml` (UTF-8) into `doc`. DOCTYPEs are refused outright.
std::optional<core::DomainError> Load(pugi::xml_document& doc, std::string_view xml) {
  if (xml.find("<!DOCTYPE") != std::string_view::npos) {
    return CodecError("XML_DOCTYPE_NOT_ALLOWED",
                      "the document contains a DOCTYPE declaration, which is not accepted");
  }
  constexpr unsigned kOptions =
      (pugi::parse_default | pugi::parse_ws_pcdata_single) & ~pugi::parse_doctype;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), kOptions, pugi::encoding_utf8);
  if (!parsed) {
    return CodecError("MALFORMED_XML", std::string("malformed XML: ") + parsed.description() +
                                           " at byte offset " + std::to_string(parsed.offset));
  }
  if (std::string_view(doc.document_element().name()) != "XmlMsg") {
    return CodecError("UNEXPECTED_XML_ROOT", "root element is not XmlMsg");
  }
  return std::nullopt;
}

std::string Path(std::string_view parent, std::string_view name) {
  return std::string(parent) + "/" + std::string(name);
}

std::string Indexed(std::string_view parent, std::string_view name, std::size_t index) {
  return Path(parent, name) + "[" + std::to_string(index) + "]";
}

void Unknown(std::vector<oqs::Issue>& issues, std::string path) {
  issues.push_back({oqs::IssueKind::kUnknownElement, std::move(path), "unknown element ignored"});
}

void Duplicate(std::vector<oqs::Issue>& issues, std::string path) {
  issues.push_back({oqs::IssueKind::kDuplicateElement, std::move(path),
                    "element appears more than once; the first occurrence is kept"});
}

// Calls `assign(name, text, path, issues)` for every element child of `node`.
template <typename Assign>
void AssignChildren(pugi::xml_node node, std::string_view path, std::vector<oqs::Issue>& issues,
                    Assign assign) {
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    assign(std::string_view(child.name()), std::string_view(child.child_value()), path, issues);
  }
}

void ParseQualification(pugi::xml_node node, const std::string& path, oqs::Qualification& q,
                        std::vector<oqs::Issue>& issues) {
  std::size_t disease_index = 0;
  std::size_t ticket_index = 0;
  bool seen_disease_list = false;
  bool seen_public_list = false;
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = child.name();
    if (name == "ElderlyRecipientCertificateInfo") {
      if (q.elderly_recipient_certificate) {
        Duplicate(issues, Path(path, name));
        continue;
      }
      auto& e = q.elderly_recipient_certificate.emplace();
      AssignChildren(child, Path(path, name), issues,
                     [&e](auto n, auto t, auto p, auto& i) { oqs::AssignElderlyElement(e, n, t, p, i); });
    } else if (name == "LimitApplicationCertificateRelatedInfo") {
      if (q.limit_application_certificate) {
        Duplicate(issues, Path(path, name));
        continue;
      }
      auto& l = q.limit_application_certificate.emplace();
      AssignChildren(child, Path(path, name), issues, [&l](auto n, auto t, auto p, auto& i) {
        oqs::AssignLimitCertificateElement(l, n, t, p, i);
      });
    } else if (name == "SpecificDiseasesCertificateList") {
      if (seen_disease_list) Duplicate(issues, Path(path, name));
      seen_disease_list = true;
      q.has_specific_diseases_certificate_list = true;
      const std::string list_path = Path(path, name);
      for (pugi::xml_node item : child.children()) {
        if (item.type() != pugi::node_element) continue;
        if (std::string_view(item.name()) != "SpecificDiseasesCertificateInfo") {
          Unknown(issues, Path(list_path, item.name()));
          continue;
        }
        auto& s = q.specific_diseases_certificates.emplace_back();
        AssignChildren(item, Indexed(list_path, item.name(), ++disease_index), issues,
                       [&s](auto n, auto t, auto p, auto& i) {
                         oqs::AssignSpecificDiseaseElement(s, n, t, p, i);
                       });
      }
    } else if (name == "PublicExpenseResultList") {
      if (seen_public_list) Duplicate(issues, Path(path, name));
      seen_public_list = true;
      q.has_public_expense_result_list = true;
      const std::string list_path = Path(path, name);
      for (pugi::xml_node item : child.children()) {
        if (item.type() != pugi::node_element) continue;
        if (std::string_view(item.name()) != "MedicalTicketInfo") {
          Unknown(issues, Path(list_path, item.name()));
          continue;
        }
        auto& m = q.medical_tickets.emplace_back();
        AssignChildren(item, Indexed(list_path, item.name(), ++ticket_index), issues,
                       [&m](auto n, auto t, auto p, auto& i) {
                         oqs::AssignMedicalTicketElement(m, n, t, p, i);
                       });
      }
    } else {
      oqs::AssignQualificationElement(q, name, child.child_value(), path, issues);
    }
  }
}

void ParseBody(pugi::xml_node body, oqs::EligibilityResult& result) {
  auto& issues = result.issues;
  const std::string path = "MessageBody";
  bool seen_result_list = false;
  std::size_t index = 0;
  for (pugi::xml_node child : body.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = child.name();
    if (name == "ResultList") {
      if (seen_result_list) Duplicate(issues, Path(path, name));
      seen_result_list = true;
      const std::string list_path = Path(path, name);
      for (pugi::xml_node item : child.children()) {
        if (item.type() != pugi::node_element) continue;
        if (std::string_view(item.name()) != "ResultOfQualificationConfirmation") {
          Unknown(issues, Path(list_path, item.name()));
          continue;
        }
        ParseQualification(item, Indexed(list_path, item.name(), ++index),
                           result.results.emplace_back(), issues);
      }
    } else if (name == "QualificationConfirmSearchInfo") {
      if (result.search_info) {
        Duplicate(issues, Path(path, name));
        continue;
      }
      auto& info = result.search_info.emplace();
      AssignChildren(child, Path(path, name), issues, [&info](auto n, auto t, auto p, auto& i) {
        oqs::AssignSearchInfoElement(info, n, t, p, i);
      });
    } else {
      oqs::AssignBodyElement(result, name, child.child_value(), path, issues);
    }
  }
}

// Walks XmlMsg's children: MessageHeader and MessageBody once each, anything else unknown.
template <typename OnBody>
void WalkMessage(pugi::xml_node root, oqs::MessageHeader& header, std::vector<oqs::Issue>& issues,
                 OnBody on_body) {
  bool seen_header = false;
  bool seen_body = false;
  for (pugi::xml_node child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = child.name();
    if (name == "MessageHeader") {
      if (seen_header) {
        Duplicate(issues, std::string(name));
        continue;
      }
      seen_header = true;
      AssignChildren(child, "MessageHeader", issues, [&header](auto n, auto t, auto p, auto& i) {
        oqs::AssignHeaderElement(header, n, t, p, i);
      });
    } else if (name == "MessageBody") {
      if (seen_body) {
        Duplicate(issues, std::string(name));
        continue;
      }
      seen_body = true;
      on_body(child);
    } else {
      Unknown(issues, std::string(name));
    }
  }
}

bool IsTenDigits(std::string_view s) {
  if (s.size() != 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

core::DomainError RequestError(std::string reason, std::string message, std::string message_ja) {
  return core::InvalidArgument(std::move(reason), std::move(message), std::move(message_ja));
}

std::optional<core::DomainError> CheckHeader(const RequestHeader& header, bool need_date) {
  if (!IsTenDigits(header.medical_institution_code)) {
    return RequestError("INVALID_REQUEST_HEADER", "medical institution code must be 10 digits",
                        "医療機関コード（10桁）の設定を確認してください。");
  }
  if (need_date && !header.qualification_confirmation_date) {
    return RequestError("INVALID_REQUEST_HEADER", "qualification confirmation date is required",
                        "資格確認日が指定されていません。");
  }
  return std::nullopt;
}

void AddText(pugi::xml_node parent, const char* name, std::string_view text) {
  parent.append_child(name).append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
}

pugi::xml_document NewRequest(Encoding target) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = std::string(DeclarationName(target)).c_str();
  decl.append_attribute("standalone") = "no";
  return doc;
}

std::string Serialize(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_indent, pugi::encoding_utf8);
  return out.str();
}

void AddInsuranceIds(pugi::xml_node info, const oqs::InsurerNumber& insurer,
                     const std::optional<oqs::InsuredCardSymbol>& symbol,
                     const oqs::InsuredIdentificationNumber& number,
                     const std::optional<oqs::InsuredBranchNumber>& branch) {
  AddText(info, "InsurerNumber", insurer.WireForm());
  if (symbol) AddText(info, "InsuredCardSymbol", symbol->raw());
  AddText(info, "InsuredIdentificationNumber", number.raw());
  if (branch) AddText(info, "InsuredBranchNumber", branch->digits());
}

}  // namespace

core::Result<oqs::EligibilityResult> ParseQualificationResult(std::string_view xml_utf8) {
  pugi::xml_document doc;
  if (auto error = Load(doc, xml_utf8)) return *std::move(error);
  oqs::EligibilityResult result;
  WalkMessage(doc.document_element(), result.header, result.issues,
              [&result](pugi::xml_node body) { ParseBody(body, result); });
  oqs::FinishResult(result);
  return result;
}

core::Result<oqs::EligibilityResult> ParseQualificationResultFile(std::string_view raw) {
  auto text = DecodeDocument(raw);
  if (!text) return text.error();
  auto result = ParseQualificationResult(*text);
  if (!result) return result;
  const auto declared = DeclaredEncoding(raw);
  const auto& code = result->header.character_code_identifier;
  if (declared && code && code->value) {
    const auto declared_encoding = EncodingFromName(*declared);
    const Encoding stated =
        *code->value == oqs::CharacterCode::kUtf8 ? Encoding::kUtf8 : Encoding::kShiftJis;
    if (declared_encoding && *declared_encoding != stated) {
      return CodecError("ENCODING_MISMATCH",
                        "XML declaration encoding \"" + *declared +
                            "\" disagrees with CharacterCodeIdentifier " + code->raw);
    }
  }
  return result;
}

core::Result<std::string> BuildQualificationRequest(const oqs::EligibilityQuery& query,
                                                    const RequestHeader& header, Encoding target) {
  if (auto error = CheckHeader(header, /*need_date=*/true)) return *std::move(error);
  pugi::xml_document doc = NewRequest(target);
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node head = msg.append_child("MessageHeader");
  AddText(head, "QualificationConfirmationDate", header.qualification_confirmation_date->ToString());
  AddText(head, "MedicalInstitutionCode", header.medical_institution_code);
  if (header.arbitrary_file_identifier) {
    AddText(head, "ArbitraryFileIdentifier", *header.arbitrary_file_identifier);
  }
  pugi::xml_node info =
      msg.append_child("MessageBody").append_child("QualificationConfirmSearchInfo");
  AddInsuranceIds(info, query.insurer_number, query.insured_card_symbol,
                  query.insured_identification_number, query.insured_branch_number);
  AddText(info, "Birthdate", query.birth_date.ToString());
  AddText(info, "LimitApplicationCertificateRelatedConsFlg",
          query.limit_certificate_consent ? "1" : "0");
  if (query.arbitrary_identifier) AddText(info, "ArbitraryIdentifier", *query.arbitrary_identifier);
  return Serialize(doc);
}

core::Result<std::string> BuildReferenceNumberRequest(
    const oqs::ReferenceNumberRegistration& registration, const RequestHeader& header,
    Encoding target) {
  if (auto error = CheckHeader(header, /*need_date=*/false)) return *std::move(error);
  const auto length = oqs::CountCodePoints(registration.reference_number);
  bool has_control = false;
  for (char c : registration.reference_number) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) has_control = true;
  }
  if (!length || *length == 0 || *length > 50 || has_control) {
    return RequestError("INVALID_REFERENCE_NUMBER",
                        "reference number must be 1-50 characters without control characters",
                        "照会番号は1〜50文字で指定してください。");
  }
  pugi::xml_document doc = NewRequest(target);
  pugi::xml_node msg = doc.append_child("XmlMsg");
  pugi::xml_node head = msg.append_child("MessageHeader");
  AddText(head, "MedicalInstitutionCode", header.medical_institution_code);
  if (header.arbitrary_file_identifier) {
    AddText(head, "ArbitraryFileIdentifier", *header.arbitrary_file_identifier);
  }
  pugi::xml_node info =
      msg.append_child("MessageBody").append_child("ReferenceNumberRegistrationInfo");
  AddText(info, "ReferenceNumber", registration.reference_number);
  AddInsuranceIds(info, registration.insurer_number, registration.insured_card_symbol,
                  registration.insured_identification_number, registration.insured_branch_number);
  return Serialize(doc);
}

core::Result<oqs::ReferenceNumberResult> ParseReferenceNumberResult(std::string_view xml_utf8) {
  pugi::xml_document doc;
  if (auto error = Load(doc, xml_utf8)) return *std::move(error);
  oqs::ReferenceNumberResult result;
  WalkMessage(doc.document_element(), result.header, result.issues,
              [&result](pugi::xml_node body) {
                auto& issues = result.issues;
                for (pugi::xml_node child : body.children()) {
                  if (child.type() != pugi::node_element) continue;
                  const std::string_view name = child.name();
                  if (name == "ReferenceNumberRegistrationInfo") {
                    AssignChildren(child, "MessageBody/ReferenceNumberRegistrationInfo", issues,
                                   [&result](auto n, auto t, auto p, auto& i) {
                                     oqs::AssignReferenceNumberElement(result, n, t, p, i);
                                   });
                  } else {
                    // ProcessingResultStatus/Code/Message sit directly in MessageBody.
                    oqs::AssignReferenceNumberElement(result, name, child.child_value(),
                                                      "MessageBody", issues);
                  }
                }
              });
  return result;
}

std::optional<std::string> ArbitraryFileIdentifierOf(std::string_view xml_utf8) {
  pugi::xml_document doc;
  if (Load(doc, xml_utf8)) return std::nullopt;
  const pugi::xml_node node =
      doc.document_element().child("MessageHeader").child("ArbitraryFileIdentifier");
  if (!node) return std::nullopt;
  return std::string(node.child_value());
}

}  // namespace onshid::oqs_folder
