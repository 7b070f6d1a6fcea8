// 被保険者資格申立書 (DOMAIN.md §9): 和暦 dates, field validation, disposal.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/fallback/statement.h"

namespace fb = onshid::core::fallback;
namespace oqs = onshid::core::oqs;

namespace {

oqs::OqsDate D(const char* s) { return oqs::OqsDate::Parse(s).value(); }

fb::InsuranceStatement Filled() {
  fb::InsuranceStatement s;
  s.has_valid_insurance = true;
  s.insurance_type = fb::InsuranceType::kShaho;
  s.insurer_name = "全国健康保険協会";
  s.employer_name = "株式会社テスト";
  s.issued_when = fb::IssuedWhen::kEarlier;
  s.name = "山田　太郎";
  s.furigana = "ヤマダ　タロウ";
  s.birth_date = fb::WarekiDate{fb::Era::kShowa, 55, 1, 15};
  s.sex = fb::DeclaredSex::kMale;
  s.address = "東京都千代田区1-1";
  s.written_on = D("20251210");
  s.signed_by_patient_or_guardian = true;
  s.phone = "090-1234-5678";
  return s;
}

bool Names(const onshid::core::DomainError& e, const std::string& field) {
  for (const auto& v : e.field_violations) {
    if (v.field == field) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("和暦 conversion honours era boundaries", "[fallback]") {
  struct Row {
    fb::WarekiDate w;
    const char* gregorian;  // nullptr: invalid
  };
  const std::vector<Row> rows = {
      {{fb::Era::kShowa, 55, 1, 15}, "19800115"},
      {{fb::Era::kShowa, 64, 1, 7}, "19890107"},
      {{fb::Era::kShowa, 64, 1, 8}, nullptr},
      {{fb::Era::kHeisei, 1, 1, 8}, "19890108"},
      {{fb::Era::kHeisei, 31, 4, 30}, "20190430"},
      {{fb::Era::kHeisei, 31, 5, 1}, nullptr},
      {{fb::Era::kReiwa, 1, 5, 1}, "20190501"},
      {{fb::Era::kReiwa, 1, 4, 30}, nullptr},
      {{fb::Era::kTaisho, 15, 12, 24}, "19261224"},
      {{fb::Era::kTaisho, 15, 12, 25}, nullptr},
      {{fb::Era::kMeiji, 45, 7, 29}, "19120729"},
      {{fb::Era::kTaisho, 1, 7, 30}, "19120730"},
      {{fb::Era::kReiwa, 6, 2, 29}, "20240229"},
      {{fb::Era::kReiwa, 5, 2, 29}, nullptr},
      {{fb::Era::kReiwa, 0, 1, 1}, nullptr},
      {{fb::Era::kReiwa, 7, 13, 1}, nullptr},
  };
  for (const auto& r : rows) {
    auto g = fb::ToGregorian(r.w);
    INFO(fb::EraNameJa(r.w.era) << r.w.year << "/" << r.w.month << "/" << r.w.day);
    if (r.gregorian) {
      REQUIRE(g.ok());
      CHECK(g->ToString() == r.gregorian);
      auto back = fb::ToWareki(g.value());
      REQUIRE(back);
      CHECK(back->era == r.w.era);
      CHECK(back->year == r.w.year);
    } else {
      REQUIRE_FALSE(g.ok());
      CHECK(g.error().reason == "INVALID_WAREKI_DATE");
      CHECK(Names(g.error(), "birth_date"));
    }
  }
  CHECK(fb::FormatWareki(D("20190501")) == std::optional<std::string>("令和元年5月1日"));
  CHECK(fb::FormatWareki(D("20251210")) == std::optional<std::string>("令和7年12月10日"));
  CHECK_FALSE(fb::FormatWareki(D("18000101")));
  CHECK(fb::AgeOn(D("19551210"), D("20251210")) == 70);
  CHECK(fb::AgeOn(D("19551211"), D("20251210")) == 69);
}

TEST_CASE("a complete 申立書 validates", "[fallback]") {
  CHECK(fb::Validate(Filled()).ok());
  auto kokuho = Filled();
  kokuho.insurance_type = fb::InsuranceType::kKokuho;
  kokuho.employer_name.clear();
  CHECK(fb::Validate(kokuho).ok());  // 市町村国保: no 事業所名
  auto kouki = Filled();
  kouki.insurance_type = fb::InsuranceType::kKouki;
  kouki.employer_name.clear();
  kouki.declared_ratio = fb::DeclaredRatio::kOne;
  CHECK(fb::Validate(kouki).ok());
}

// seed 003 別紙様式 (記入のPOINT ②連絡先電話番号): written by hand or through an IME.
TEST_CASE("申立書 text as patients and IMEs write it", "[fallback]") {
  for (const char* phone : {"09012345678", "03-1234-5678", "(03)1234-5678", "０９０－１２３４－５６７８",
                            "０３（１２３４）５６７８", "090ー1234ー5678", "0120 95 0178"}) {
    INFO(phone);
    auto s = Filled();
    s.phone = phone;
    CHECK(fb::Validate(s).ok());
  }
  for (const char* kana : {"ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヴァン・デ・ルー", "スズキ ヨウコ"}) {
    INFO(kana);
    auto s = Filled();
    s.furigana = kana;
    CHECK(fb::Validate(s).ok());
  }
}

TEST_CASE("申立書 fields: each missing or wrong field is named", "[fallback]") {
  struct Row {
    std::string name;
    void (*mutate)(fb::InsuranceStatement&);
    std::string field;
  };
  const std::vector<Row> rows = {
      {"no valid insurance tick", [](fb::InsuranceStatement& s) { s.has_valid_insurance = false; },
       "has_valid_insurance"},
      {"no 保険種別", [](fb::InsuranceStatement& s) { s.insurance_type = fb::InsuranceType::kUnset; },
       "insurance_type"},
      {"社保 without 事業所名", [](fb::InsuranceStatement& s) { s.employer_name.clear(); },
       "employer_name"},
      {"国保組合 without 事業所名",
       [](fb::InsuranceStatement& s) {
         s.insurance_type = fb::InsuranceType::kKokuho;
         s.kokuho_union = true;
         s.employer_name.clear();
       },
       "employer_name"},
      {"その他 without 事業所名",
       [](fb::InsuranceStatement& s) {
         s.insurance_type = fb::InsuranceType::kOther;
         s.employer_name = " ";
       },
       "employer_name"},
      {"わからない without 事業所名",
       [](fb::InsuranceStatement& s) {
         s.insurance_type = fb::InsuranceType::kUnknown;
         s.employer_name.clear();
       },
       "employer_name"},
      {"no 氏名", [](fb::InsuranceStatement& s) { s.name.clear(); }, "name"},
      {"氏名 of full-width spaces only", [](fb::InsuranceStatement& s) { s.name = "\u3000\u3000"; },
       "name"},
      {"フリガナ of marks only", [](fb::InsuranceStatement& s) { s.furigana = "ー・"; }, "furigana"},
      {"no フリガナ", [](fb::InsuranceStatement& s) { s.furigana.clear(); }, "furigana"},
      {"フリガナ in hiragana", [](fb::InsuranceStatement& s) { s.furigana = "やまだ"; }, "furigana"},
      {"no 生年月日", [](fb::InsuranceStatement& s) { s.birth_date.reset(); }, "birth_date"},
      {"生年月日 outside its era",
       [](fb::InsuranceStatement& s) { s.birth_date = fb::WarekiDate{fb::Era::kHeisei, 31, 5, 1}; },
       "birth_date"},
      {"生年月日 after the form date",
       [](fb::InsuranceStatement& s) { s.birth_date = fb::WarekiDate{fb::Era::kReiwa, 7, 12, 11}; },
       "birth_date"},
      {"no 性別", [](fb::InsuranceStatement& s) { s.sex = fb::DeclaredSex::kUnset; }, "sex"},
      {"no 住所", [](fb::InsuranceStatement& s) { s.address.clear(); }, "address"},
      {"no 記入日", [](fb::InsuranceStatement& s) { s.written_on.reset(); }, "written_on"},
      {"no 署名",
       [](fb::InsuranceStatement& s) { s.signed_by_patient_or_guardian = false; },
       "signed_by_patient_or_guardian"},
      {"guardian without relationship",
       [](fb::InsuranceStatement& s) { s.signed_by_guardian = true; }, "guardian_relationship"},
      {"70+ without declared ratio",
       [](fb::InsuranceStatement& s) { s.birth_date = fb::WarekiDate{fb::Era::kShowa, 30, 12, 10}; },
       "declared_ratio"},
      {"後期 without declared ratio",
       [](fb::InsuranceStatement& s) {
         s.insurance_type = fb::InsuranceType::kKouki;
         s.employer_name.clear();
       },
       "declared_ratio"},
      {"no 連絡先電話番号", [](fb::InsuranceStatement& s) { s.phone.clear(); }, "phone"},
      {"phone too short", [](fb::InsuranceStatement& s) { s.phone = "123-456"; }, "phone"},
      {"phone with letters", [](fb::InsuranceStatement& s) { s.phone = "090-ABCD-5678"; }, "phone"},
      {"phone not starting with 0", [](fb::InsuranceStatement& s) { s.phone = "190-1234-5678"; },
       "phone"},
      {"phone of full-width spaces only", [](fb::InsuranceStatement& s) { s.phone = "\u3000"; },
       "phone"},
      {"住所 of mixed spaces only", [](fb::InsuranceStatement& s) { s.address = " \u3000\t"; },
       "address"},
      {"事業所名 of full-width spaces only (社保)",
       [](fb::InsuranceStatement& s) { s.employer_name = "\u3000\u3000"; }, "employer_name"},
  };
  for (const auto& r : rows) {
    SECTION(r.name) {
      auto s = Filled();
      r.mutate(s);
      auto st = fb::Validate(s);
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().reason == "INVALID_INSURANCE_STATEMENT");
      CHECK_FALSE(st.error().message_ja.empty());
      CHECK(Names(st.error(), r.field));
    }
  }
  SECTION("69 on the form date needs no ratio") {
    auto s = Filled();
    s.birth_date = fb::WarekiDate{fb::Era::kShowa, 30, 12, 11};  // 1955-12-11
    CHECK(fb::Validate(s).ok());
  }
  SECTION("all problems are reported at once") {
    fb::InsuranceStatement empty;
    auto st = fb::Validate(empty);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().field_violations.size() >= 9);
  }
}

TEST_CASE("Dispose clears every personal field and keeps the proof", "[fallback]") {
  auto s = Filled();
  s.other_address = "大阪府";
  s.signed_by_guardian = true;
  s.guardian_relationship = "母";
  fb::Dispose(s, D("20260110"));
  CHECK(s.disposed());
  CHECK(s.disposed_on == D("20260110"));
  CHECK(s.name.empty());
  CHECK(s.furigana.empty());
  CHECK(s.insurer_name.empty());
  CHECK(s.employer_name.empty());
  CHECK(s.address.empty());
  CHECK(s.other_address.empty());
  CHECK(s.phone.empty());
  CHECK(s.guardian_relationship.empty());
  CHECK_FALSE(s.birth_date);
  CHECK(s.sex == fb::DeclaredSex::kUnset);
  CHECK(s.insurance_type == fb::InsuranceType::kShaho);  // not personal: kept
  CHECK(s.written_on == D("20251210"));
  fb::Dispose(s, D("20260201"));
  CHECK(s.disposed_on == D("20260110"));  // idempotent
  auto st = fb::Validate(s);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().reason == "INSURANCE_STATEMENT_DISPOSED");
}
