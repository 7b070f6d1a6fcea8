#include "registry.h"

#include <fstream>
#include <set>

#include "sim_util.h"

namespace oqs_sim {
namespace {

std::string StringOr(const nlohmann::ordered_json& j, const char* key, std::string fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

// Checks one 8-digit (or 6-digit 国保) number with a check digit; appends a message on failure.
void CheckNumbered(const std::string& where, const char* field, const std::string& raw, bool allow_six,
                   std::vector<std::string>* errors) {
  const std::string digits = TrimSpaces(raw);
  const bool length_ok = digits.size() == 8 || (allow_six && digits.size() == 6);
  if (!IsDigits(digits) || !length_ok) {
    errors->push_back(where + ": " + field + " '" + raw + "' must be 8 digits" +
                      (allow_six ? " (or 6 digits for 国保)" : ""));
    return;
  }
  if (digits.size() == 6 && raw.size() != 8) {
    errors->push_back(where + ": " + field + " '" + raw +
                      "' is a 6-digit 国保 number and must be right-justified to 8 chars with spaces");
  }
  if (!HasValidCheckDigit(digits)) {
    errors->push_back(where + ": " + field + " '" + raw + "' has check digit " + digits.substr(digits.size() - 1) +
                      ", expected " + std::to_string(CheckDigit(digits.substr(0, digits.size() - 1))));
  }
}

void ValidateQualification(const std::string& where, const nlohmann::ordered_json& q,
                           std::vector<std::string>* errors) {
  if (!q.is_object()) {
    errors->push_back(where + ": must be an object");
    return;
  }
  for (const auto& [k, v] : q.items()) {
    if (!(v.is_string() || v.is_object() || v.is_array() || (k[0] == '_' && v.is_number_integer()))) {
      errors->push_back(where + ": field " + k + " must be a string, object or array");
    }
  }
  for (const char* required : {"InsuredCardClassification", "Name", "Sex1", "Birthdate"}) {
    if (StringOr(q, required).empty()) errors->push_back(where + ": missing " + required);
  }
  const std::string classification = StringOr(q, "InsuredCardClassification");
  const bool fujo = classification == "A1";
  if (fujo) {
    CheckNumbered(where, "PublicExpenseNumber", StringOr(q, "PublicExpenseNumber"), false, errors);
    const std::string beneficiary = StringOr(q, "BeneficiaryNumber");
    if (beneficiary.size() != 7 || !HasValidCheckDigit(beneficiary)) {
      errors->push_back(where + ": BeneficiaryNumber '" + beneficiary +
                        "' must be 7 digits with a valid check digit");
    }
  } else {
    const std::string insurer = StringOr(q, "InsurerNumber");
    CheckNumbered(where, "InsurerNumber", insurer, true, errors);
    if (StringOr(q, "InsuredIdentificationNumber").empty()) {
      errors->push_back(where + ": missing InsuredIdentificationNumber");
    }
    if (StringOr(q, "InsurerName").empty()) errors->push_back(where + ": missing InsurerName");
    if (insurer.rfind("39", 0) == 0) {  // 後期高齢者: 被保険者番号 carries a check digit too
      CheckNumbered(where, "InsuredIdentificationNumber (後期高齢者)", StringOr(q, "InsuredIdentificationNumber"),
                    false, errors);
    }
  }
  for (const char* date_field : {"Birthdate", "QualificationDate", "DisqualificationDate",
                                 "InsuredCertificateIssuanceDate", "InsuredCardValidDate",
                                 "InsuredCardExpirationDate"}) {
    const std::string v = StringOr(q, date_field);
    if (!v.empty() && !IsDate8(v)) errors->push_back(where + ": " + date_field + " '" + v + "' is not yyyyMMdd");
  }
  const std::string branch = StringOr(q, "InsuredBranchNumber");
  if (!branch.empty() && (branch.size() != 2 || !IsDigits(branch))) {
    errors->push_back(where + ": InsuredBranchNumber '" + branch + "' must be 2 digits");
  }
}

}  // namespace

std::string Qualification::Field(std::string_view name) const {
  auto it = fields.find(std::string(name));
  if (it == fields.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string Qualification::InsurerKey() const {
  std::string v = Field("InsurerNumber");
  if (v.empty()) v = Field("PublicExpenseNumber");
  return TrimSpaces(v);
}

std::string Qualification::NumberKey() const {
  std::string v = Field("InsuredIdentificationNumber");
  if (v.empty()) v = Field("BeneficiaryNumber");
  return TrimSpaces(v);
}

bool Qualification::LostOn(std::string_view date) const {
  const std::string lost = Field("DisqualificationDate");
  return !lost.empty() && lost <= date;
}

const Qualification& Person::CurrentQualification(std::string_view date) const {
  for (const auto& q : qualifications) {
    if (!q.LostOn(date)) return q;
  }
  return qualifications.back();
}

int Person::ValidityOf(size_t index, std::string_view date) const {
  const Qualification& q = qualifications.at(index);
  if (q.LostOn(date)) {
    for (const auto& other : qualifications) {
      if (&other != &q && !other.LostOn(date)) return 3;  // 無効（新しい資格あり）
    }
    return 2;  // 無効
  }
  return q.validity_override.value_or(1);
}

std::vector<std::string> Registry::Validate(const nlohmann::ordered_json& doc) {
  std::vector<std::string> errors;
  if (!doc.is_object() || !doc.contains("people") || !doc["people"].is_array()) {
    errors.push_back("registry: top level must be an object with a \"people\" array");
    return errors;
  }
  std::set<std::string> ids;
  size_t index = 0;
  for (const auto& p : doc["people"]) {
    const std::string id = p.is_object() ? StringOr(p, "id") : "";
    const std::string where = "person '" + (id.empty() ? "#" + std::to_string(index) : id) + "'";
    ++index;
    if (id.empty()) errors.push_back(where + ": missing id");
    if (!ids.insert(id).second) errors.push_back(where + ": duplicate id");
    if (!p.is_object() || !p.contains("qualifications") || !p["qualifications"].is_array() ||
        p["qualifications"].empty()) {
      errors.push_back(where + ": needs a non-empty \"qualifications\" array");
      continue;
    }
    size_t qi = 0;
    for (const auto& q : p["qualifications"]) {
      ValidateQualification(where + " qualification " + std::to_string(qi++), q, &errors);
    }
  }
  return errors;
}

std::optional<Registry> Registry::Load(const std::filesystem::path& path, std::vector<std::string>* errors) {
  std::ifstream in(path);
  if (!in) {
    errors->push_back("registry: cannot open " + path.string());
    return std::nullopt;
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(in, nullptr, false);
  if (doc.is_discarded()) {
    errors->push_back("registry: " + path.string() + " is not valid JSON");
    return std::nullopt;
  }
  *errors = Validate(doc);
  if (!errors->empty()) return std::nullopt;
  Registry registry;
  for (const auto& p : doc["people"]) {
    Person person;
    person.id = StringOr(p, "id");
    person.description = StringOr(p, "description");
    person.dv_suppressed = p.value("dv_suppressed", false);
    person.prescription_issue_select = StringOr(p, "prescription_issue_select");
    for (const auto& q : p["qualifications"]) {
      Qualification qualification;
      qualification.fields = q;
      if (auto it = q.find("_validity"); it != q.end() && it->is_number_integer()) {
        qualification.validity_override = it->get<int>();
      }
      person.qualifications.push_back(std::move(qualification));
    }
    registry.people_.push_back(std::move(person));
  }
  return registry;
}

std::vector<Match> Registry::Find(const SearchKey& key) const {
  std::vector<Match> matches;
  const std::string insurer = TrimSpaces(key.insurer_number);
  const std::string symbol = TrimSpaces(key.symbol);
  const std::string number = TrimSpaces(key.number);
  const std::string branch = TrimSpaces(key.branch);
  const std::string birthdate = TrimSpaces(key.birthdate);
  for (const auto& person : people_) {
    for (size_t i = 0; i < person.qualifications.size(); ++i) {
      const Qualification& q = person.qualifications[i];
      if (q.InsurerKey() != insurer || q.NumberKey() != number) continue;
      if (TrimSpaces(q.Field("InsuredCardSymbol")) != symbol) continue;
      const std::string q_branch = q.Field("InsuredBranchNumber");
      if (!branch.empty() && !q_branch.empty() && branch != q_branch) continue;
      if (!birthdate.empty() && q.Field("Birthdate") != birthdate) continue;
      matches.push_back({&person, i});
      break;  // one person matches at most once
    }
  }
  return matches;
}

const Person* Registry::FindById(std::string_view id) const {
  for (const auto& p : people_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

}  // namespace oqs_sim
