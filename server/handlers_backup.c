/*
 * xuncha.v1.Admin/Backup: a hot, compacting copy of the database into a
 * directory on the server machine (xc_store_backup), taken while the server
 * goes on serving.
 *
 * Who may call: admin:<code> certificates only. A copy holds every record of
 * every office, so offices, agencies and auditors get PERMISSION_DENIED. The
 * directory is a path on the SERVER: the copy never travels over the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_text.h"
#include "xuncha/v1/admin.pb-c.h"

/* The longest backup directory name accepted, in bytes. */
#define XC__BACKUP_DIR_MAX 1024

XC__HANDLER(xc__admin_backup) {
  const Xuncha__V1__BackupRequest *r = (const Xuncha__V1__BackupRequest *)req;
  Xuncha__V1__BackupResponse *out = NULL;
  xc_snapshot *snap = NULL;
  const char *dir;
  char path[XC__BACKUP_DIR_MAX + 16];
  uint64_t bytes = 0;
  uint64_t last = 0;
  struct timespec now;
  size_t len;
  int rc = XC_OK;

  *resp = NULL;
  if (!ctx->has_identity || ctx->id.role != XC_ROLE_ADMIN) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "Backup needs an admin:<code> certificate (a copy holds every office's "
                    "records)");
    goto done;
  }
  dir = r->dir != NULL ? r->dir : "";
  len = strlen(dir);
  if (len == 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "dir is required: an empty directory on the server machine");
    goto done;
  }
  if (len > XC__BACKUP_DIR_MAX) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "dir is %zu bytes; the limit is %d", len,
                    XC__BACKUP_DIR_MAX);
    goto done;
  }
  if (!xc_utf8_valid(dir, len)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "dir is not valid UTF-8");
    goto done;
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc != XC_OK) goto done;
  last = xc_snapshot_last_change(snap);
  xc_snapshot_end(snap);
  snap = NULL;
  rc = xc_store_backup(ctx->store, dir, &bytes, err);
  if (rc != XC_OK) {
    xc_log(XC_LOG_WARN, "msg=\"backup failed\" dir=\"%.200s\" by=%s error=\"%s\"", dir,
           ctx->id.cn, err->msg);
    goto done;
  }
  xc_log(XC_LOG_INFO, "msg=\"backup written\" dir=\"%.200s\" bytes=%llu last_change=%llu by=%s",
         dir, (unsigned long long)bytes, (unsigned long long)last, ctx->id.cn);
  out = calloc(1, sizeof *out);
  if (out == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__backup_response__init(out);
  (void)snprintf(path, sizeof path, "%s/data.mdb", dir);
  out->path = strdup(path);
  if (out->path == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  out->bytes = bytes;
  out->last_change = last;
  clock_gettime(CLOCK_REALTIME, &now);
  out->time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  *resp = &out->base;
  out = NULL;
done:
  xc_snapshot_end(snap);
  xc_msg_free(out);
  return rc;
}
