#include "postgres/pg_errors.h"

#include <mutex>
#include <pqxx/pqxx>
#include <string>

#include "core/mem_store.h"

namespace onshid::postgres {
namespace {

// SQLSTATE classes that mean "the server cannot serve us right now" rather than "our SQL is wrong".
bool IsUnavailableState(const std::string& state) {
  if (state.rfind("08", 0) == 0) return true;  // connection exception
  if (state.rfind("53", 0) == 0) return true;  // insufficient resources (too many connections...)
  return state == "57P01" || state == "57P02" || state == "57P03";  // shutdown / cannot connect now
}

bool ConnectionUnusable(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02";
}

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
