// SPDX-License-Identifier: Apache-2.0
// Everything is inline in include/CLinuxShims.h; SwiftPM needs one source file per C target.
#include "CLinuxShims.h"
