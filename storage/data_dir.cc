#include "storage/data_dir.h"

#include <filesystem>
#include <vector>

#include "base/log.h"

namespace vmtrace::storage {
namespace fs = std::filesystem;

namespace {

// Removes a link found where a directory of ours should be (and logs it).
Status DropLink(const fs::path& p) {
  std::error_code ec;
  fs::path target = fs::read_symlink(p, ec);
  VMTRACE_LOG(kWarning,
              "%s is a symbolic link (to %s) inside the data dir: link "
              "removed, its target left alone",
              p.c_str(), ec ? "?" : target.c_str());
  // fs::remove on a link removes the link, never what it points to.
  if (!fs::remove(p, ec) || ec) {
    return IoError("cannot remove the link " + p.string() + ": " +
                   ec.message());
  }
  return Status::Ok();
}

// `p` as a real directory: a link is replaced, a missing one created.
Status RealDir(const fs::path& p) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(p, ec);
  if (fs::is_symlink(st)) {
    VMTRACE_RETURN_IF_ERROR(DropLink(p));
    st = fs::file_status(fs::file_type::not_found);
  }
  if (fs::is_directory(st)) return Status::Ok();
  if (st.type() != fs::file_type::not_found) {
    return IoError(p.string() + " exists and is not a directory");
  }
  // create_directory (not create_directories): the parents were checked.
  fs::create_directory(p, ec);
  if (ec) return IoError("cannot create " + p.string() + ": " + ec.message());
  return Status::Ok();
}

Status DropLinksInside(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> links;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code e1;
    if (e.is_symlink(e1)) links.push_back(e.path());
  }
  if (ec) return IoError("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& l : links) VMTRACE_RETURN_IF_ERROR(DropLink(l));
  return Status::Ok();
}

}  // namespace

Status PrepareDataPath(const std::string& root, const std::string& rel) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return IoError("cannot create " + root + ": " + ec.message());
  fs::path p = root;
  for (const auto& part : fs::path(rel).relative_path()) {
    if (part.empty() || part == "." || part == "..") continue;
    p /= part;
    VMTRACE_RETURN_IF_ERROR(RealDir(p));
  }
  return DropLinksInside(p);
}

Status PrepareStoreDir(const std::string& dir) {
  fs::path p = fs::path(dir);
  if (p.has_filename() && p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  }
  VMTRACE_RETURN_IF_ERROR(RealDir(p));
  return DropLinksInside(p);
}

Status RemoveDataPath(const std::string& root, const std::string& rel) {
  fs::path p = root;
  std::vector<fs::path> parts;
  for (const auto& part : fs::path(rel).relative_path()) {
    if (part.empty() || part == "." || part == "..") continue;
    parts.push_back(part);
  }
  if (parts.empty()) return InvalidArgument("refusing to delete " + root);
  std::error_code ec;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    p /= parts[i];
    if (fs::is_symlink(fs::symlink_status(p, ec))) {
      VMTRACE_LOG(kWarning,
                  "not deleting %s/%s: %s is a symbolic link inside the data "
                  "dir",
                  root.c_str(), rel.c_str(), p.c_str());
      return FailedPrecondition(p.string() + " is a symbolic link");
    }
  }
  p /= parts.back();
  // libstdc++'s remove_all walks with O_NOFOLLOW: a link (at p or below)
  // is unlinked, never entered (tests/storage/data_dir_test.cc checks it).
  fs::remove_all(p, ec);
  if (ec) return IoError("cannot delete " + p.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace vmtrace::storage
