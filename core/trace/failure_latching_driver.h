#pragma once

// An HDF5 file driver for the files moescope writes, private to core/trace.
//
// Why: when a write fails (full disk), HDF5 1.10's H5Fclose fails too, leaves
// a half-destroyed file behind and crashes at exit in H5F__close_cb while
// closing it again (reproduced with RLIMIT_FSIZE). This driver is POSIX I/O
// like HDF5's sec2 with one difference: a failed write is recorded in a
// WriteStatus owned by the caller and reported to HDF5 as a success, and
// every later write is dropped, so that HDF5 never enters its broken error
// path and can always close the file. The file is then incomplete: callers
// check the status after writing and closing. Writers only ever write
// temporary files this way and delete them on failure.

#include <hdf5.h>

#include <string>

namespace moescope::h5 {

struct WriteStatus
{
    bool failed = false;
    std::string reason; // strerror of the first failure, e.g. "File too large"
};

// Selects the driver in a file access property list; files opened with it
// record failures in *status, which must outlive them.
void useFailureLatchingDriver(hid_t fapl, WriteStatus *status);

} // namespace moescope::h5
