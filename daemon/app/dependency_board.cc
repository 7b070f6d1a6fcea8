#include "app/dependency_board.h"

namespace onshid::app {

using core::DependencyState;

void ReportDatabaseStarting(core::StatusBoard& board) {
  board.Set(kDatabaseEntry, DependencyState::kDown, "DATABASE_STARTING",
            "the database is being started", "データベースを起動しています。");
}

void ReportDatabaseOk(core::StatusBoard& board) {
  board.Set(kDatabaseEntry, DependencyState::kOk);
}

void ReportDatabaseUnreachable(core::StatusBoard& board, const std::string& error) {
  board.Set(kDatabaseEntry, DependencyState::kDown, "DATABASE_UNREACHABLE", error,
            "データベースに接続できません。");
}

void ReportManagedDatabaseRestarting(core::StatusBoard& board, const std::string& detail) {
  board.Set(kDatabaseEntry, DependencyState::kDown, "MANAGED_POSTGRES_RESTARTING", detail,
            "データベースが停止したため再起動しています。");
}

void ReportUpstreamNotConfigured(core::StatusBoard& board) {
  board.Set(kUpstreamEntry, DependencyState::kDisabled, "UPSTREAM_NOT_CONFIGURED",
            "no 資格確認端末 folder configured (upstream.folder)",
            "資格確認端末の連携は設定されていません。", /*required_for_ready=*/false);
}

bool UpstreamAnswering(const core::StatusBoard& board) {
  for (const auto& d : board.Snapshot()) {
    if (d.name == kUpstreamEntry) return d.state == DependencyState::kOk;
  }
  return true;
}

void ReportReadersDisabled(core::StatusBoard& board) {
  board.Set(kReadersEntry, DependencyState::kDisabled, "READERS_NOT_CONFIGURED",
            "generic card readers are disabled (readers.enabled)",
            "汎用カードリーダーは使用しない設定です。", /*required_for_ready=*/false);
}

void ReportReadersConnecting(core::StatusBoard& board) {
  board.Set(kReadersEntry, DependencyState::kDegraded, "PCSC_SERVICE_UNAVAILABLE",
            "waiting for pcscd", "カードリーダーのサービスに接続しています。",
            /*required_for_ready=*/false);
}

void ReportReaders(core::StatusBoard& board, bool service_available) {
  if (service_available) {
    board.Set(kReadersEntry, DependencyState::kOk, "", "", "", /*required_for_ready=*/false);
  } else {
    board.Set(kReadersEntry, DependencyState::kDegraded, "PCSC_SERVICE_UNAVAILABLE",
              "pcscd is not reachable; retrying",
              "カードリーダーのサービスに接続できません。自動的に再接続します。",
              /*required_for_ready=*/false);
  }
}

}  // namespace onshid::app
