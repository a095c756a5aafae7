// File handling inside the data dir without following symbolic links.
//
// Everything below the data dir is ours (registry, experiment folders,
// stores), so a symbolic link met there was planted or left by another
// tool; following it would let a rebuild wipe or overwrite files elsewhere
// (LevelDB's DestroyDB deletes every LevelDB-named file of the folder it is
// given). These helpers never follow one: a link is removed as a link, or
// the operation is refused, and either is logged.
#ifndef VMTRACE_STORAGE_DATA_DIR_H_
#define VMTRACE_STORAGE_DATA_DIR_H_

#include <string>

#include "base/status.h"

namespace vmtrace::storage {

// Makes `root`/`rel` (rel relative, '/'-separated) a real directory: every
// component below `root` that is a symbolic link is replaced by an empty
// directory (the link is removed, its target untouched), missing ones are
// created, and symbolic links directly inside the last one are removed.
// `root` itself may be a link (a user may put the data dir anywhere).
// IoError if a component is a file or cannot be made.
Status PrepareDataPath(const std::string& root, const std::string& rel);

// PrepareDataPath for a store folder given whole: only its last component
// and the entries directly inside it are checked (a store holds regular
// files only). Used by the stores' Open, which do not know the data dir.
Status PrepareStoreDir(const std::string& dir);

// Deletes `root`/`rel` and everything below it without following a link: a
// link at `rel` or inside it is removed as a link. If a component between
// `root` and the last one is a link, nothing is deleted and
// FailedPrecondition says why. A missing path is not an error.
Status RemoveDataPath(const std::string& root, const std::string& rel);

}  // namespace vmtrace::storage

#endif  // VMTRACE_STORAGE_DATA_DIR_H_
