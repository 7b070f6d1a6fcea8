// The simulator's registry of synthetic insured people (registry.json) and how queries match it.
#ifndef ONSHID_TOOLS_OQS_TERMINAL_SIM_REGISTRY_H_
#define ONSHID_TOOLS_OQS_TERMINAL_SIM_REGISTRY_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace oqs_sim {

// One eligibility (資格) of a person. `fields` holds ResultOfQualificationConfirmation children by
// element name in output order: strings are leaf elements, objects nested elements, arrays repeated
// elements. Keys beginning with "_" are simulator metadata and never written.
struct Qualification {
  nlohmann::ordered_json fields;
  std::optional<int> validity_override;  // "_validity": e.g. 6 有効（未登録） for 医療扶助

  std::string Field(std::string_view name) const;
  // 保険者番号 for matching: InsurerNumber, or PublicExpenseNumber (医療扶助), trimmed.
  std::string InsurerKey() const;
  // 被保険者証番号 for matching: InsuredIdentificationNumber, or BeneficiaryNumber (医療扶助).
  std::string NumberKey() const;
  // True when lost (DisqualificationDate on or before `date`, yyyyMMdd).
  bool LostOn(std::string_view date) const;
};

struct Person {
  std::string id;
  std::string description;
  bool dv_suppressed = false;             // display suppressed (DV支援措置): answers 該当資格なし
  std::string prescription_issue_select;  // OQSCD017, chosen at the reader; empty = omit
  std::vector<Qualification> qualifications;

  // The qualification valid on `date`, else the most recent one.
  const Qualification& CurrentQualification(std::string_view date) const;
  // QualificationValidity (OQSCD006) when matched through qualification `index` on `date`.
  int ValidityOf(size_t index, std::string_view date) const;
};

// Identifiers as sent in QualificationConfirmSearchInfo or ReferenceNumberRegistrationInfo.
struct SearchKey {
  std::string insurer_number;  // raw, may be space-padded
  std::string symbol;
  std::string number;
  std::string branch;
  std::string birthdate;  // empty: not compared (照会番号登録 has no birth date)
};

struct Match {
  const Person* person;
  size_t qualification_index;
};

class Registry {
 public:
  // Loads and validates. On failure returns nullopt and fills `errors` (each names the entry).
  static std::optional<Registry> Load(const std::filesystem::path& path, std::vector<std::string>* errors);
  // Validates a parsed registry document; returns one message per problem.
  static std::vector<std::string> Validate(const nlohmann::ordered_json& doc);

  // Every (person, qualification) whose identifiers equal `key`, DV-suppressed people included.
  std::vector<Match> Find(const SearchKey& key) const;
  const Person* FindById(std::string_view id) const;
  const std::vector<Person>& people() const { return people_; }

 private:
  std::vector<Person> people_;
};

}  // namespace oqs_sim

#endif  // ONSHID_TOOLS_OQS_TERMINAL_SIM_REGISTRY_H_
