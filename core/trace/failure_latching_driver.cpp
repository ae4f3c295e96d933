#include "core/trace/failure_latching_driver.h"

#include "core/common/error.h"
#include "core/trace/trace_disk_io.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

namespace moescope::h5 {

namespace {

struct LatchingFile
{
    H5FD_t pub; // first: HDF5 hands this pointer back to every callback
    int fd = -1;
    haddr_t eoa = 0; // end of the space HDF5 has allocated
    haddr_t eof = 0; // end of the file as written
    dev_t device = 0;
    ino_t inode = 0;
    WriteStatus *status = nullptr;
};

LatchingFile *self(H5FD_t *f)
{
    return reinterpret_cast<LatchingFile *>(f);
}
const LatchingFile *self(const H5FD_t *f)
{
    return reinterpret_cast<const LatchingFile *>(f);
}

// Puts the reason on HDF5's error stack so that it becomes the innermost
// message our callers quote.
herr_t fail(const char *function, hid_t minor, const std::string &reason)
{
    H5Epush2(H5E_DEFAULT, __FILE__, function, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s",
        reason.c_str());
    return -1;
}

H5FD_t *openFile(const char *name, unsigned flags, hid_t fapl, haddr_t)
{
    const auto *config = static_cast<WriteStatus *const *>(H5Pget_driver_info(fapl));
    if (!config || !*config) {
        fail("openFile", H5E_CANTOPENFILE, "no write status given to the file driver");
        return nullptr;
    }
    int oflags = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC)
        oflags |= O_TRUNC;
    if (flags & H5F_ACC_CREAT)
        oflags |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        oflags |= O_EXCL;
    const int fd = ::open(name, oflags | O_CLOEXEC, 0666);
    if (fd < 0) {
        fail(
            "openFile", H5E_CANTOPENFILE, std::string("cannot open file: ") + std::strerror(errno));
        return nullptr;
    }
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0) {
        fail(
            "openFile", H5E_CANTOPENFILE, std::string("cannot stat file: ") + std::strerror(errno));
        ::close(fd);
        return nullptr;
    }
    auto *f = new (std::nothrow) LatchingFile;
    if (!f) {
        ::close(fd);
        return nullptr;
    }
    std::memset(&f->pub, 0, sizeof f->pub);
    f->fd = fd;
    f->eof = static_cast<haddr_t>(st.st_size);
    f->device = st.st_dev;
    f->inode = st.st_ino;
    f->status = *config;
    return &f->pub;
}

herr_t closeFile(H5FD_t *file)
{
    LatchingFile *f = self(file);
    const int status = ::close(f->fd);
    delete f;
    return status == 0 ? 0 : fail("closeFile", H5E_CANTCLOSEFILE, std::strerror(errno));
}

int compareFiles(const H5FD_t *a, const H5FD_t *b)
{
    const LatchingFile *x = self(a), *y = self(b);
    if (x->device != y->device)
        return x->device < y->device ? -1 : 1;
    if (x->inode != y->inode)
        return x->inode < y->inode ? -1 : 1;
    return 0;
}

herr_t queryFeatures(const H5FD_t *, unsigned long *flags)
{
    // What sec2 declares: HDF5 may batch metadata and small raw data.
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE
        | H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

haddr_t getEoa(const H5FD_t *file, H5FD_mem_t)
{
    return self(file)->eoa;
}

herr_t setEoa(H5FD_t *file, H5FD_mem_t, haddr_t addr)
{
    self(file)->eoa = addr;
    return 0;
}

haddr_t getEof(const H5FD_t *file, H5FD_mem_t)
{
    return self(file)->eof;
}

herr_t getHandle(H5FD_t *file, hid_t, void **handle)
{
    *handle = self(file);
    return 0;
}

herr_t readFile(H5FD_t *file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void *buffer)
{
    LatchingFile *f = self(file);
    char *p = static_cast<char *>(buffer);
    while (size > 0) {
        const ssize_t n = ::pread(f->fd, p, size, static_cast<off_t>(addr));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(
                "readFile", H5E_READERROR, std::string("read failed: ") + std::strerror(errno));
        if (n == 0) { // past the end of the file: HDF5 expects zeros
            std::memset(p, 0, size);
            break;
        }
        p += n;
        addr += static_cast<haddr_t>(n);
        size -= static_cast<size_t>(n);
    }
    return 0;
}

herr_t writeFile(H5FD_t *file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void *buffer)
{
    LatchingFile *f = self(file);
    if (f->status->failed)
        return 0; // the file is lost anyway; let HDF5 finish closing it
    announceTraceWrite({ f->fd, static_cast<std::uint64_t>(addr), buffer, size, false });
    const char *p = static_cast<const char *>(buffer);
    haddr_t at = addr;
    while (size > 0) {
        const ssize_t n = ::pwrite(f->fd, p, size, static_cast<off_t>(at));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            // Reported as success on purpose (see the header): HDF5 1.10
            // cannot recover from a failed write inside a flush or close.
            f->status->failed = true;
            f->status->reason = n < 0 ? std::strerror(errno) : "the write made no progress";
            return 0;
        }
        p += n;
        at += static_cast<haddr_t>(n);
        size -= static_cast<size_t>(n);
    }
    if (at > f->eof)
        f->eof = at;
    return 0;
}

herr_t truncateFile(H5FD_t *file, hid_t, hbool_t)
{
    LatchingFile *f = self(file);
    if (f->status->failed || f->eoa == f->eof)
        return 0;
    if (::ftruncate(f->fd, static_cast<off_t>(f->eoa)) != 0) {
        f->status->failed = true;
        f->status->reason = std::strerror(errno);
        return 0;
    }
    f->eof = f->eoa;
    return 0;
}

H5FD_class_t makeClass()
{
    H5FD_class_t c;
    std::memset(&c, 0, sizeof c);
    c.name = "moescope_latching";
    c.maxaddr = static_cast<haddr_t>(std::numeric_limits<off_t>::max());
    c.fc_degree = H5F_CLOSE_WEAK;
    c.fapl_size = sizeof(WriteStatus *); // copied byte for byte by HDF5
    c.open = openFile;
    c.close = closeFile;
    c.cmp = compareFiles;
    c.query = queryFeatures;
    c.get_eoa = getEoa;
    c.set_eoa = setEoa;
    c.get_eof = getEof;
    c.get_handle = getHandle;
    c.read = readFile;
    c.write = writeFile;
    c.truncate = truncateFile;
    const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
    for (int i = 0; i < H5FD_MEM_NTYPES; ++i)
        c.fl_map[i] = map[i];
    return c;
}

hid_t driverId()
{
    static const H5FD_class_t cls = makeClass();
    static hid_t id = H5I_INVALID_HID;
    // HDF5 drops registered drivers when the library is shut down and
    // re-initialised (H5close), so check the id is still alive.
    if (id < 0 || H5Iis_valid(id) <= 0)
        id = H5FDregister(&cls);
    if (id < 0)
        throw Error("cannot register the HDF5 file driver");
    return id;
}

} // namespace

void useFailureLatchingDriver(hid_t fapl, WriteStatus *status)
{
    WriteStatus *const config = status;
    if (H5Pset_driver(fapl, driverId(), &config) < 0)
        throw Error("cannot select the HDF5 file driver");
}

} // namespace moescope::h5
