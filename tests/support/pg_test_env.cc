#include "support/pg_test_env.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace onshid::testing {
namespace fs = std::filesystem;

std::string TestRunAsUser() { return getpwnam("onshid") != nullptr ? "onshid" : "postgres"; }

PgTestEnv::PgTestEnv() {
  std::string templ = (fs::temp_directory_path() / "onshid-pgtest-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  state_dir_ = buf.data();
  // The server's user (when we are root) must be able to pass through to pgdata/ and run/.
  chmod(state_dir_.c_str(), 0711);
}

PgTestEnv::~PgTestEnv() {
  if (postgres_) postgres_->Stop();
  std::error_code ec;
  fs::remove_all(state_dir_, ec);
}

postgres::ManagedPostgresOptions PgTestEnv::Options() const {
  postgres::ManagedPostgresOptions o;
  o.data_dir = state_dir_ / "pgdata";
  o.socket_dir = state_dir_ / "run";
  o.log_file = state_dir_ / "log" / "postgres.log";
  o.run_as = TestRunAsUser();
  o.unsafe_no_fsync = true;
  o.restart_backoff_initial = std::chrono::milliseconds(100);
  o.restart_backoff_max = std::chrono::milliseconds(2000);
  return o;
}

core::Result<std::string> PgTestEnv::Start(postgres::ManagedPostgresListener listener) {
  if (postgres_) postgres_->Stop();
  postgres_ = std::make_unique<postgres::ManagedPostgres>(Options(), std::move(listener));
  return postgres_->Start();
}

std::string PgTestEnv::CreateDatabase() {
  static std::atomic<int> counter{0};
  if (!postgres_) throw std::logic_error("PgTestEnv::CreateDatabase before Start");
  const std::string name = "test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  pqxx::connection c(postgres_->AdminDsn());
  pqxx::nontransaction txn(c);
  txn.exec0("CREATE DATABASE " + txn.quote_name(name));
  return "host=" + (state_dir_ / "run").string() + " dbname=" + name +
         " user=" + postgres::ManagedPostgres::kSuperuser;
}

PgTestEnv& SharedPgTestEnv() {
  // spdlog's registry must outlive `env`, whose destructor still logs: statics are destroyed in
  // the reverse order of their construction, so make sure the registry exists first.
  static const auto registry_first = spdlog::default_logger();
  static std::mutex mu;
  static std::unique_ptr<PgTestEnv> env;
  std::lock_guard lock(mu);
  if (!env) {
    auto fresh = std::make_unique<PgTestEnv>();
    auto dsn = fresh->Start();
    if (!dsn)
      throw std::runtime_error("cannot start the shared test PostgreSQL: " + dsn.error().message);
    env = std::move(fresh);
  }
  return *env;
}

}  // namespace onshid::testing
