#include "core/trace/hdf5_objects.h"

#include "core/common/error.h"

#include <cstring>

namespace moescope::h5 {

Handle &Handle::operator=(Handle &&o) noexcept
{
    if (this != &o) {
        reset();
        m_id = o.m_id;
        o.m_id = H5I_INVALID_HID;
    }
    return *this;
}

bool Handle::close()
{
    if (m_id < 0)
        return true;
    herr_t status = -1;
    switch (H5Iget_type(m_id)) {
    case H5I_FILE:
        status = H5Fclose(m_id);
        break;
    case H5I_GROUP:
        status = H5Gclose(m_id);
        break;
    case H5I_DATASET:
        status = H5Dclose(m_id);
        break;
    case H5I_ATTR:
        status = H5Aclose(m_id);
        break;
    case H5I_DATATYPE:
        status = H5Tclose(m_id);
        break;
    case H5I_DATASPACE:
        status = H5Sclose(m_id);
        break;
    case H5I_GENPROP_LST:
        status = H5Pclose(m_id);
        break;
    default:
        status = H5Idec_ref(m_id) < 0 ? -1 : 0;
        break;
    }
    m_id = H5I_INVALID_HID;
    return status >= 0;
}

void Handle::reset()
{
    if (m_id >= 0) {
        QuietErrors quiet;
        close();
    }
}

QuietErrors::QuietErrors()
{
    H5Eget_auto2(H5E_DEFAULT, &m_func, &m_data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors()
{
    H5Eset_auto2(H5E_DEFAULT, m_func, m_data);
}

namespace {

herr_t rememberInnermost(unsigned n, const H5E_error2_t *err, void *out)
{
    // Walking upward, entry 0 is the deepest (most specific) frame.
    if (n == 0 && err && err->desc)
        *static_cast<std::string *>(out) = err->desc;
    return 0;
}

std::string withDetail(const std::string &what)
{
    // HDF5's I/O errors quote ctime(), newline included; errors are one line.
    std::string detail = innermostError();
    for (char &c : detail)
        if (c == '\n' || c == '\r')
            c = ' ';
    while (!detail.empty() && detail.back() == ' ')
        detail.pop_back();
    H5Eclear2(H5E_DEFAULT);
    return detail.empty() ? what : what + " (HDF5: " + detail + ")";
}

} // namespace

std::string innermostError()
{
    std::string out;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, rememberInnermost, &out);
    return out;
}

hid_t check(hid_t id, const std::string &file, const std::string &what)
{
    if (id < 0)
        throw Error(file, withDetail(what));
    return id;
}

void checkStatus(herr_t status, const std::string &file, const std::string &what)
{
    if (status < 0)
        throw Error(file, withDetail(what));
}

Handle utf8StringType()
{
    Handle t(H5Tcopy(H5T_C_S1));
    if (!t.valid() || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        throw Error("cannot create the HDF5 string type");
    return t;
}

Handle float16Type()
{
    // Sign bit 15, exponent bits 10..14, mantissa bits 0..9, bias 15: binary16.
    Handle t(H5Tcopy(H5T_IEEE_F32LE));
    if (!t.valid() || H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0
        || H5Tset_ebias(t, 15) < 0)
        throw Error("cannot create the HDF5 float16 type");
    return t;
}

bool linkExists(hid_t loc, const std::string &name)
{
    return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

bool attributeExists(hid_t loc, const std::string &name)
{
    return H5Aexists(loc, name.c_str()) > 0;
}

namespace {

Handle createAttribute(
    hid_t loc, const std::string &name, hid_t type, hid_t space, const std::string &file)
{
    // Attributes are rewritten (documents, the language list) as traces grow.
    // Same type and shape: overwrite in place, so the object header keeps its
    // layout (a smaller window for a crash to leave it half-updated).
    if (attributeExists(loc, name)) {
        Handle existing(H5Aopen(loc, name.c_str(), H5P_DEFAULT));
        if (existing.valid()) {
            Handle oldType(H5Aget_type(existing));
            Handle oldSpace(H5Aget_space(existing));
            if (oldType.valid() && oldSpace.valid() && H5Tequal(oldType, type) > 0
                && H5Sextent_equal(oldSpace, space) > 0)
                return existing;
        }
        existing.reset();
        checkStatus(H5Adelete(loc, name.c_str()), file, "cannot replace attribute " + name);
    }
    return Handle(check(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), file,
        "cannot create attribute " + name));
}

void writeScalar(hid_t loc, const std::string &name, hid_t fileType, hid_t memType,
    const void *value, const std::string &file)
{
    Handle space(check(H5Screate(H5S_SCALAR), file, "cannot create dataspace"));
    Handle attr = createAttribute(loc, name, fileType, space, file);
    checkStatus(H5Awrite(attr, memType, value), file, "cannot write attribute " + name);
}

Handle openAttribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    if (!attributeExists(loc, name))
        throw Error(file, what + " is missing (attribute '" + name + "')");
    return Handle(check(H5Aopen(loc, name.c_str(), H5P_DEFAULT), file, "cannot open " + what));
}

hssize_t attributeElements(hid_t attr, const std::string &file, const std::string &what)
{
    Handle space(check(H5Aget_space(attr), file, "cannot read " + what));
    const H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (cls == H5S_NULL)
        return 0;
    if (cls == H5S_SCALAR)
        return -1;
    if (H5Sget_simple_extent_ndims(space) != 1)
        throw Error(file, what + " must be a one-dimensional list");
    return H5Sget_simple_extent_npoints(space);
}

void requireClass(hid_t attr, H5T_class_t expected, const std::string &file,
    const std::string &what, const char *description)
{
    Handle type(check(H5Aget_type(attr), file, "cannot read " + what));
    if (H5Tget_class(type) != expected)
        throw Error(file, what + " must be " + description);
}

} // namespace

void writeStringAttribute(
    hid_t loc, const std::string &name, const std::string &value, const std::string &file)
{
    Handle type = utf8StringType();
    const char *ptr = value.c_str();
    writeScalar(loc, name, type, type, &ptr, file);
}

void writeStringArrayAttribute(hid_t loc, const std::string &name,
    const std::vector<std::string> &values, const std::string &file)
{
    Handle type = utf8StringType();
    const hsize_t n = values.size();
    Handle space(check(H5Screate_simple(1, &n, nullptr), file, "cannot create dataspace"));
    Handle attr = createAttribute(loc, name, type, space, file);
    std::vector<const char *> ptrs;
    for (const auto &v : values)
        ptrs.push_back(v.c_str());
    if (n > 0)
        checkStatus(H5Awrite(attr, type, ptrs.data()), file, "cannot write attribute " + name);
}

void writeInt64Attribute(
    hid_t loc, const std::string &name, std::int64_t value, const std::string &file)
{
    writeScalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, file);
}

void writeUInt64Attribute(
    hid_t loc, const std::string &name, std::uint64_t value, const std::string &file)
{
    writeScalar(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value, file);
}

void writeInt64ArrayAttribute(hid_t loc, const std::string &name,
    const std::vector<std::int64_t> &values, const std::string &file)
{
    const hsize_t n = values.size();
    Handle space(check(H5Screate_simple(1, &n, nullptr), file, "cannot create dataspace"));
    Handle attr = createAttribute(loc, name, H5T_STD_I64LE, space, file);
    if (n > 0)
        checkStatus(H5Awrite(attr, H5T_NATIVE_INT64, values.data()), file,
            "cannot write attribute " + name);
}

std::string readStringAttribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    Handle attr = openAttribute(loc, name, file, what);
    requireClass(attr, H5T_STRING, file, what, "a string");
    if (attributeElements(attr, file, what) != -1)
        throw Error(file, what + " must be a single string");
    Handle type(check(H5Aget_type(attr), file, "cannot read " + what));
    if (H5Tis_variable_str(type) > 0) {
        Handle mem = utf8StringType();
        char *value = nullptr;
        checkStatus(H5Aread(attr, mem, &value), file, "cannot read " + what);
        std::string out = value ? value : "";
        H5free_memory(value);
        return out;
    }
    const std::size_t size = H5Tget_size(type);
    Handle mem(check(H5Tcopy(H5T_C_S1), file, "cannot read " + what));
    checkStatus(H5Tset_size(mem, size), file, "cannot read " + what);
    std::string buffer(size, '\0');
    checkStatus(H5Aread(attr, mem, buffer.data()), file, "cannot read " + what);
    buffer.resize(std::strlen(buffer.c_str()));
    return buffer;
}

std::vector<std::string> readStringArrayAttribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    Handle attr = openAttribute(loc, name, file, what);
    requireClass(attr, H5T_STRING, file, what, "a list of strings");
    const hssize_t n = attributeElements(attr, file, what);
    if (n < 0)
        throw Error(file, what + " must be a list of strings, not a single string");
    if (n == 0)
        return {};
    Handle type(check(H5Aget_type(attr), file, "cannot read " + what));
    std::vector<std::string> out;
    if (H5Tis_variable_str(type) > 0) {
        Handle mem = utf8StringType();
        std::vector<char *> ptrs(static_cast<std::size_t>(n), nullptr);
        checkStatus(H5Aread(attr, mem, ptrs.data()), file, "cannot read " + what);
        for (char *p : ptrs)
            out.emplace_back(p ? p : "");
        Handle space(H5Aget_space(attr));
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
        return out;
    }
    const std::size_t size = H5Tget_size(type);
    Handle mem(check(H5Tcopy(H5T_C_S1), file, "cannot read " + what));
    checkStatus(H5Tset_size(mem, size), file, "cannot read " + what);
    std::vector<char> buffer(size * static_cast<std::size_t>(n) + 1, '\0');
    checkStatus(H5Aread(attr, mem, buffer.data()), file, "cannot read " + what);
    for (hssize_t i = 0; i < n; ++i) {
        const char *p = buffer.data() + static_cast<std::size_t>(i) * size;
        out.emplace_back(p, strnlen(p, size));
    }
    return out;
}

std::int64_t readInt64Attribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    Handle attr = openAttribute(loc, name, file, what);
    requireClass(attr, H5T_INTEGER, file, what, "an integer");
    if (attributeElements(attr, file, what) != -1)
        throw Error(file, what + " must be a single integer");
    std::int64_t value = 0;
    checkStatus(H5Aread(attr, H5T_NATIVE_INT64, &value), file, "cannot read " + what);
    return value;
}

std::uint64_t readUInt64Attribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    Handle attr = openAttribute(loc, name, file, what);
    requireClass(attr, H5T_INTEGER, file, what, "an integer");
    if (attributeElements(attr, file, what) != -1)
        throw Error(file, what + " must be a single integer");
    Handle type(check(H5Aget_type(attr), file, "cannot read " + what));
    if (H5Tget_sign(type) != H5T_SGN_NONE) {
        // HDF5 would clip negative values to 0 on conversion; say so instead.
        std::int64_t value = 0;
        checkStatus(H5Aread(attr, H5T_NATIVE_INT64, &value), file, "cannot read " + what);
        if (value < 0)
            throw Error(file, what + " is negative (" + std::to_string(value) + ")");
        return static_cast<std::uint64_t>(value);
    }
    std::uint64_t value = 0;
    checkStatus(H5Aread(attr, H5T_NATIVE_UINT64, &value), file, "cannot read " + what);
    return value;
}

std::vector<std::int64_t> readInt64ArrayAttribute(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    Handle attr = openAttribute(loc, name, file, what);
    requireClass(attr, H5T_INTEGER, file, what, "a list of integers");
    const hssize_t n = attributeElements(attr, file, what);
    if (n < 0)
        throw Error(file, what + " must be a list of integers, not a single value");
    std::vector<std::int64_t> out(static_cast<std::size_t>(n));
    if (n > 0)
        checkStatus(H5Aread(attr, H5T_NATIVE_INT64, out.data()), file, "cannot read " + what);
    return out;
}

std::vector<hsize_t> datasetShape(hid_t dataset, const std::string &file, const std::string &what)
{
    Handle space(check(H5Dget_space(dataset), file, "cannot read the shape of " + what));
    if (H5Sget_simple_extent_type(space) == H5S_SCALAR)
        return {};
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0)
        throw Error(file, "cannot read the shape of " + what);
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return dims;
}

H5T_class_t datasetTypeClass(hid_t dataset, const std::string &file, const std::string &what)
{
    Handle type(check(H5Dget_type(dataset), file, "cannot read the type of " + what));
    return H5Tget_class(type);
}

bool datasetIsUnsigned(hid_t dataset)
{
    Handle type(H5Dget_type(dataset));
    return type.valid() && H5Tget_sign(type) == H5T_SGN_NONE;
}

} // namespace moescope::h5
