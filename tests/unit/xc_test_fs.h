/*
 * xc_test_fs.h: scratch-directory helpers shared by the unit tests that open
 * stores of their own (header-only; each test binary is one file).
 */
#ifndef XC_TEST_FS_H
#define XC_TEST_FS_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Removes path and everything under it, at most 8 levels deep (a test's
 * scratch directory is shallow; a deeper tree means a wrong path). Symbolic
 * links are removed, never followed. */
static void xc__test_rm_rf_at(const char *path, int depth) {
  struct stat st;
  if (depth > 8 || lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    if (d != NULL) {
      while ((e = readdir(d)) != NULL) {
        char sub[1024];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
        xc__test_rm_rf_at(sub, depth + 1);
      }
      closedir(d);
    }
    (void)rmdir(path);
  } else {
    (void)unlink(path);
  }
}

static inline void xc_test_rm_rf(const char *path) { xc__test_rm_rf_at(path, 0); }

/* Sleeps ms milliseconds, resuming after signals. */
static inline void xc_test_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

#endif
