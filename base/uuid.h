// Name-based UUIDs, identical to Java's UUID.nameUUIDFromBytes: MD5 of the
// raw bytes (no namespace), version 3, IETF variant. The reference trace
// server derives experiment and trace ids this way, so ids are stable across
// restarts and across servers.
#ifndef VMTRACE_BASE_UUID_H_
#define VMTRACE_BASE_UUID_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmtrace {

std::array<uint8_t, 16> Md5(std::string_view data);

// Canonical lower-case 8-4-4-4-12 form.
std::string NameUuidFromBytes(std::string_view name);

// True if `s` is a canonical 36-character UUID (either case).
bool IsUuid(std::string_view s);

}  // namespace vmtrace

#endif  // VMTRACE_BASE_UUID_H_
