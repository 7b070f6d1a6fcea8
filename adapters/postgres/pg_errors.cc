#include "postgres/pg_errors.h"

#include <mutex>
#include <pqxx/pqxx>
#include <string>

#include "core/store_errors.h"

namespace onshid::postgres {
namespace {

// SQLSTATE classes that mean "the server cannot serve us right now" rather than "our SQL is wrong".
bool IsUnavailableState(const std::string& state) {
  if (state.rfind("08", 0) == 0) return true;  // connection exception
  if (state.rfind("53", 0) == 0) return true;  // insufficient resources (too many connections...)
  if (state == "25P03") return true;  // idle_in_transaction_session_timeout ended the session
  return state == "57P01" || state == "57P02" || state == "57P03";  // shutdown / cannot connect now
}

bool ConnectionUnusable(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "25P03";
}

// 57014 query_canceled: statement_timeout (or a cancel request); 55P03 lock_not_available:
// lock_timeout. The transaction is rolled back; the connection stays usable.
bool IsTimeoutState(const std::string& state) { return state == "57014" || state == "55P03"; }

}  // namespace

std::shared_ptr<spdlog::logger> PostgresLogger() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get("postgres")) return existing;
  auto base = spdlog::default_logger();
  auto logger =
      std::make_shared<spdlog::logger>("postgres", base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  spdlog::register_logger(logger);
  return logger;
}

core::DomainError DatabaseTimeout(const std::string& sqlstate) {
  const bool lock = sqlstate == "55P03";
  core::DomainError e = core::Unavailable(
      "DATABASE_TIMEOUT",
      std::string("database ") +
          (lock ? "lock wait exceeded lock_timeout" : "statement exceeded statement_timeout") +
          " (SQLSTATE " + sqlstate + "); nothing was changed",
      "データベースの処理が時間内に終わりませんでした。しばらく待ってから再度お試しください。"
      "続く場合はシステム管理者に連絡してください。");
  e.metadata = {{"sqlstate", sqlstate}};
  return e;
}

MappedError MapDatabaseException(std::exception_ptr e) {
  auto log = PostgresLogger();
  try {
    std::rethrow_exception(e);
  } catch (const pqxx::broken_connection&) {
    log->warn("database connection failed or was lost");
    return {core::DatabaseUnavailable("connection failed or was lost"), true};
  } catch (const pqxx::in_doubt_error&) {
    log->error("database connection lost while committing; outcome unknown");
    return {core::DatabaseUnavailable("connection lost while committing; outcome unknown"), true};
  } catch (const pqxx::sql_error& ex) {
    const std::string state = ex.sqlstate();
    if (IsTimeoutState(state)) {
      log->warn("database statement cut off by a time-out (SQLSTATE {})", state);
      return {DatabaseTimeout(state), false};
    }
    if (IsUnavailableState(state)) {
      log->warn("database unavailable (SQLSTATE {})", state);
      return {core::DatabaseUnavailable("server refused the request (SQLSTATE " + state + ")"),
              ConnectionUnusable(state)};
    }
    log->error("database statement failed (SQLSTATE {})", state);
    return {core::Internal("database statement failed (SQLSTATE " + state + ")"), false};
  } catch (const pqxx::conversion_error&) {
    // Its what() may quote a field value, so it is not copied.
    log->error("database adapter error: a field could not be converted");
    return {core::Internal("database adapter error: a field could not be converted"), false};
  } catch (const std::exception& ex) {
    // libpqxx usage errors and the like: a bug on our side. Their what() carries no row data.
    log->error("database adapter error: {}", ex.what());
    return {core::Internal(std::string("database adapter error: ") + ex.what()), true};
  } catch (...) {
    log->error("database adapter error: unknown exception");
    return {core::Internal("database adapter error: unknown exception"), true};
  }
}

}  // namespace onshid::postgres
