#pragma once

// Thin RAII layer over the HDF5 C API, private to core/trace. Every failing
// call becomes moescope::Error(file, one-line reason); HDF5's own stack
// printing is switched off so users only ever see that line.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::h5 {

// Owns one HDF5 identifier of any kind and closes it with the matching
// H5?close function.
class Handle
{
public:
    Handle() = default;
    explicit Handle(hid_t id) : m_id(id) {}
    ~Handle() { reset(); }
    Handle(Handle &&o) noexcept : m_id(o.m_id) { o.m_id = H5I_INVALID_HID; }
    Handle &operator=(Handle &&o) noexcept;
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;

    hid_t id() const { return m_id; }
    operator hid_t() const { return m_id; }
    bool valid() const { return m_id >= 0; }
    void reset();
    // Closes and reports failure (for files, where close writes metadata).
    bool close();

private:
    hid_t m_id = H5I_INVALID_HID;
};

// Turns off HDF5's automatic error printing for the current thread (the
// library is built thread-safe, so the setting is per thread) and restores
// the previous handler when it goes out of scope.
class QuietErrors
{
public:
    QuietErrors();
    ~QuietErrors();
    QuietErrors(const QuietErrors &) = delete;
    QuietErrors &operator=(const QuietErrors &) = delete;

private:
    H5E_auto2_t m_func = nullptr;
    void *m_data = nullptr;
};

// The most specific message on the current HDF5 error stack, e.g.
// "truncated file: eof = 2048, ...", or "" when the stack is empty.
std::string innermostError();

// Throws Error(file, what + ": " + innermostError()) when id/status < 0.
hid_t check(hid_t id, const std::string &file, const std::string &what);
void checkStatus(herr_t status, const std::string &file, const std::string &what);

// Variable-length UTF-8 string type (h5py reads it as str).
Handle utf8StringType();
// IEEE 754 binary16 little endian, built the way h5py builds its float16 so
// that h5py and numpy see float16.
Handle float16Type();

bool linkExists(hid_t loc, const std::string &name);
bool attributeExists(hid_t loc, const std::string &name);

// Attributes. Readers accept any integer width (HDF5 converts) and both
// variable- and fixed-length strings; they throw Error naming `what` when the
// attribute is missing or of the wrong class.
void writeStringAttribute(hid_t loc, const std::string &name, const std::string &value,
                          const std::string &file);
void writeStringArrayAttribute(hid_t loc, const std::string &name,
                               const std::vector<std::string> &values, const std::string &file);
void writeInt64Attribute(hid_t loc, const std::string &name, std::int64_t value,
                         const std::string &file);
void writeUInt64Attribute(hid_t loc, const std::string &name, std::uint64_t value,
                          const std::string &file);
void writeInt64ArrayAttribute(hid_t loc, const std::string &name,
                              const std::vector<std::int64_t> &values, const std::string &file);

std::string readStringAttribute(hid_t loc, const std::string &name, const std::string &file,
                                const std::string &what);
std::vector<std::string> readStringArrayAttribute(hid_t loc, const std::string &name,
                                                  const std::string &file,
                                                  const std::string &what);
std::int64_t readInt64Attribute(hid_t loc, const std::string &name, const std::string &file,
                                const std::string &what);
std::uint64_t readUInt64Attribute(hid_t loc, const std::string &name, const std::string &file,
                                  const std::string &what);
std::vector<std::int64_t> readInt64ArrayAttribute(hid_t loc, const std::string &name,
                                                  const std::string &file,
                                                  const std::string &what);

// Dimensions of a dataset.
std::vector<hsize_t> datasetShape(hid_t dataset, const std::string &file, const std::string &what);
H5T_class_t datasetTypeClass(hid_t dataset, const std::string &file, const std::string &what);
bool datasetIsUnsigned(hid_t dataset);

} // namespace moescope::h5
