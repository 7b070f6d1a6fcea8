#include "postgres/pg_session.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace onshid::postgres {
namespace {

// A libpq key=value value in single quotes, with \ and ' escaped (libpq's conninfo syntax).
std::string Quoted(const std::string& value) {
  std::string out = "'";
  for (char ch : value) {
    if (ch == '\\' || ch == '\'') out += '\\';
    out += ch;
  }
  out += '\'';
  return out;
}

// True when `options` (a server command line) sets `setting`, spelled "-c name=..." or
// "--name=..." with dashes or underscores.
bool OptionsSet(std::string options, const std::string& setting) {
  std::replace(options.begin(), options.end(), '-', '_');
  return options.find(setting + "=") != std::string::npos ||
         options.find(setting + " =") != std::string::npos;
}

}  // namespace

std::string BoundedDsn(const std::string& dsn, const SessionBounds& bounds) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(
      PQconninfoParse(dsn.c_str(), &error), &PQconninfoFree);
  if (!parsed) {
    PQfreemem(error);  // may quote the DSN: not logged here; connecting reports the problem
    return dsn;
  }

  std::vector<std::pair<std::string, std::string>> params;
  for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr) params.emplace_back(o->keyword, o->val);
  }
  auto find = [&params](const std::string& key) {
    return std::find_if(params.begin(), params.end(),
                        [&key](const auto& p) { return p.first == key; });
  };
  auto add_unless_set = [&](const std::string& key, int value) {
    if (find(key) == params.end()) params.emplace_back(key, std::to_string(value));
  };

  add_unless_set("connect_timeout", std::max(1, (bounds.connect_timeout_ms + 999) / 1000));
  add_unless_set("keepalives", 1);
  add_unless_set("keepalives_idle", bounds.keepalives_idle_s);
  add_unless_set("keepalives_interval", bounds.keepalives_interval_s);
  add_unless_set("keepalives_count", bounds.keepalives_count);

  // A DSN without `options` lets libpq fall back to PGOPTIONS; setting `options` here would hide
  // it, so start from it instead.
  auto options = find("options");
  if (options == params.end()) {
    const char* env = std::getenv("PGOPTIONS");
    params.emplace_back("options", env != nullptr ? env : "");
    options = params.end() - 1;
  }
  const std::pair<const char*, int> timeouts[] = {
      {"statement_timeout", bounds.statement_timeout_ms},
      {"lock_timeout", bounds.lock_timeout_ms},
      {"idle_in_transaction_session_timeout", bounds.idle_in_transaction_timeout_ms}};
  for (const auto& [name, ms] : timeouts) {
    if (OptionsSet(options->second, name)) continue;
    if (!options->second.empty()) options->second += ' ';
    options->second += "-c " + std::string(name) + "=" + std::to_string(ms);
  }

  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty() && key == "options") continue;
    if (!out.empty()) out += ' ';
    out += key + "=" + Quoted(value);
  }
  return out;
}

}  // namespace onshid::postgres
