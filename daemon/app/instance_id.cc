#include "app/instance_id.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "app/random_ids.h"
#include "app/token_hash.h"

namespace onshid::app {
namespace {

core::DomainError Unusable(const std::string& path, const std::string& why) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = "STATE_DIR_UNUSABLE";
  e.message = "state_dir: " + path + ": " + why;
  e.message_ja = "データ保存用フォルダを使用できません。システム管理者に連絡してください。";
  return e;
}

bool PlausibleId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

}  // namespace

core::Result<std::string> LoadInstanceId(const std::string& state_dir,
                                         const std::string& upstream_folder) {
  const std::string path = state_dir + "/instance_id";
  std::string id;
  if (std::ifstream in(path); in) {
    std::getline(in, id);
    if (!PlausibleId(id)) return Unusable(path, "does not hold an instance id; remove it to make one");
  } else {
    id = RandomIds().NewId();
    // Written once, atomically and durably: a torn file would change the daemon's identity.
    const std::string tmp = path + ".tmp";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Unusable(tmp, std::strerror(errno));
    const std::string line = id + "\n";
    const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
      unlink(tmp.c_str());
      return Unusable(path, "cannot be written");
    }
    if (const int dir = open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
      fsync(dir);
      close(dir);
    }
  }
  return id + "-" + Sha256Hex(upstream_folder).substr(0, 8);
}

}  // namespace onshid::app
