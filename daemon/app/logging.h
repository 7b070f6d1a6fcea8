#pragma once
// Logging: JSON lines on stderr (one object per line), one spdlog logger per component.
//
// Every line carries ts, level, component and msg; lines written while a request is being served
// also carry request_id (set with ScopedRequestId on the thread doing the work). Messages must never
// contain names, addresses, insurance numbers, PINs, raw XML or APDUs (rules of the house 9).

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace onshid::app {

// Installs the JSON formatter and stderr sink for all loggers, at `level` ("info", ...).
void SetupLogging(std::string_view level);

// Changes the level of every logger (SIGHUP reload). Unknown names are ignored by the caller's
// config validation beforehand.
void SetLogLevel(std::string_view level);

// The logger of one component ("main", "grpc", "rest", "postgres", ...), created on first use.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

// Sets the request id that log lines on this thread carry until destruction (restores the
// previous one, so scopes nest).
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// The request id of the current thread, or "" outside a request.
const std::string& CurrentRequestId();

}  // namespace onshid::app
