/*
 * xc_reflect.h: gRPC server reflection over the descriptor set compiled
 * into xunchad (protoc --descriptor_set_out --include_imports of proto/ and
 * the reflection protos, embedded at build time as xc_descriptor_set).
 *
 * The descriptor set is walked in place on every request: it is a few tens
 * of KiB and reflection is rare, so there is no index to build, keep or
 * free. Serialized FileDescriptorProtos are handed out as byte ranges of
 * the embedded array, exactly as protoc wrote them.
 */
#ifndef XC_REFLECT_H
#define XC_REFLECT_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"

/* The embedded descriptor set (generated xc_descset.c). */
extern const unsigned char xc_descriptor_set[];
extern const size_t xc_descriptor_set_len;

/* A serialized FileDescriptorProto inside the descriptor set (borrowed). */
typedef struct xc_reflect_file {
  const uint8_t *data;
  size_t len;
} xc_reflect_file;

/* Most files one answer carries (a file and everything it imports). */
#define XC_REFLECT_MAX_FILES 64

/*
 * Finds the file named `filename` ("xuncha/v1/xuncha.proto"), or the file
 * defining the fully qualified symbol `symbol` (a package-qualified
 * message, enum, service or method: "xuncha.v1.Target",
 * "xuncha.v1.Targets.GetTarget"); pass exactly one of them. Fills out[]
 * with that file first, then every file it imports, transitively, each
 * once. Returns the number of files, or XC_ENOT_FOUND (err names what was
 * asked for), or XC_EINTERNAL if the descriptor set does not parse.
 */
int xc_reflect_find(const char *filename, const char *symbol, xc_reflect_file out[XC_REFLECT_MAX_FILES],
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Calls fn with the fully qualified name of every service in the
 * descriptor set, in file order. Returns the number of services, or
 * XC_EINTERNAL if the set does not parse.
 */
int xc_reflect_services(void (*fn)(void *ctx, const char *name), void *ctx) XC_WARN_UNUSED_RESULT;

#endif /* XC_REFLECT_H */
