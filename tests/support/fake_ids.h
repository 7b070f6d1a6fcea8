#pragma once
// FakeIds: a core::IdSource that hands out predictable ids in the UUID v4 text form, in order:
// "00000000-0000-4000-8000-000000000001", "…002", … Header-only, thread-safe.

#include <mutex>
#include <string>

#include "core/id_source.h"

namespace onshid::testing {

class FakeIds final : public core::IdSource {
 public:
  std::string NewId() override {
    std::lock_guard lock(mu_);
    return Format(++issued_);
  }

  // The id NewId() returned (or will return) the n-th time (n ≥ 1).
  static std::string Format(long long n) {
    std::string digits = std::to_string(n);
    if (digits.size() < 12) digits.insert(0, 12 - digits.size(), '0');
    return "00000000-0000-4000-8000-" + digits;
  }

  // How many ids were handed out.
  long long Issued() const {
    std::lock_guard lock(mu_);
    return issued_;
  }

 private:
  mutable std::mutex mu_;
  long long issued_ = 0;
};

}  // namespace onshid::testing
