// Errors inside the core are negative errno values. This file is the one place that
// turns them into the names Node uses for `err.code` ("ENOENT"), at the boundary.
#pragma once

namespace ringleader {

// Name of an errno value, sign ignored ("ENOENT"); "UNKNOWN" for values it does not know.
const char* errno_name(int err);

}  // namespace ringleader
