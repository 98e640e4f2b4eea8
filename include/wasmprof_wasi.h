/* wasmprof_wasi.h: WASI preview1 (wasi_snapshot_preview1) for wasmprof hosts.
 *
 * A wp_wasi holds one guest process's view of the world: its arguments,
 * environment, preopened directories and file descriptor table.  A host
 * configures it, then lets wp_wasi_link() fill in a module's WASI imports
 * with host functions, instantiates and calls `_start`:
 *
 *   wp_wasi *w = wp_wasi_new(&err);
 *   wp_wasi_set_args(w, argc, argv);
 *   wp_wasi_preopen(w, "/tmp/data", "/data", &err);
 *   wp_wasi_link(w, module, imports, &err);      // imports: one per module import
 *   inst = wp_instance_new(module, imports, n, ex, &err);
 *   if (wp_call(ex, start, NULL, NULL, &err) && err.kind == WP_ERR_EXIT) code = err.exit_code;
 *
 * The host functions reach the guest's memory through the frame stack: the
 * calling guest frame's instance's memory 0 (wp_exec_caller_memory).
 * Every guest pointer and length is checked against that memory; a bad one
 * makes the call return errno `fault` (21), never trap.  Functions this
 * implementation does not provide return `nosys` (52).  proc_exit unwinds
 * the guest with an error of kind WP_ERR_EXIT carrying the exit code.
 *
 * Sandbox: paths are resolved only beneath a preopened directory.  Absolute
 * paths, `..` above the preopen and symlinks leading outside it fail with
 * errno `perm` (63, as in wasmtime) without touching anything outside.  On Linux the
 * kernel enforces this (openat2 with RESOLVE_BENEATH); elsewhere, or when
 * the environment variable WASMPROF_WASI_NO_OPENAT2=1 is set at
 * wp_wasi_new, a component-by-component walk with O_NOFOLLOW does.
 */
#ifndef WASMPROF_WASI_H
#define WASMPROF_WASI_H

#include "wasmprof.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wp_wasi wp_wasi;

/* Stream callbacks for stdin/stdout/stderr: return the number of bytes
 * transferred (0 on end of input), or a negative WASI errno (e.g. -29, io). */
typedef int64_t (*wp_wasi_read_fn)(void *ctx, uint8_t *buf, size_t len);
typedef int64_t (*wp_wasi_write_fn)(void *ctx, const uint8_t *buf, size_t len);

wp_wasi *wp_wasi_new(wp_error *err);
/* wp_wasi_free: closes the files the guest opened and frees the host
 * functions made by wp_wasi_link / wp_wasi_func_new.  Never closes the
 * host descriptors given to wp_wasi_set_stdio_fd. */
void wp_wasi_free(wp_wasi *w);

/* Arguments and environment ("KEY=VALUE" strings); copied. 0 or -1 (OOM). */
int wp_wasi_set_args(wp_wasi *w, uint32_t argc, const char *const *argv);
int wp_wasi_set_env(wp_wasi *w, uint32_t n, const char *const *key_equals_value);

/* wp_wasi_preopen: make host directory host_path visible to the guest as
 * guest_path (the next free descriptor, from 3). WP_ERR_ARG if it cannot be opened. */
int wp_wasi_preopen(wp_wasi *w, const char *host_path, const char *guest_path, wp_error *err);

/* Standard streams (which = 0, 1, 2): by default the process's own
 * descriptors 0, 1, 2.  set_stdio_fd: another host descriptor (not owned);
 * set_stdio_callbacks: functions (read for stdin, write for stdout/stderr;
 * the other may be NULL, which makes that direction fail with `badf`). */
int wp_wasi_set_stdio_fd(wp_wasi *w, int which, int host_fd);
int wp_wasi_set_stdio_callbacks(wp_wasi *w, int which, wp_wasi_read_fn read, wp_wasi_write_fn write, void *ctx);

/* wp_wasi_func_new: a host function for the preview1 function `name`,
 * owned by w (freed by wp_wasi_free).  NULL with WP_ERR_LINK for a name
 * preview1 does not define. */
wp_func *wp_wasi_func_new(wp_wasi *w, const char *name, uint32_t name_len, wp_error *err);

/* wp_wasi_link: for each import of m from module "wasi_snapshot_preview1",
 * set imports[i] to the matching host function (type checked: WP_ERR_LINK
 * on a mismatch or an unknown name).  Other entries are left untouched.
 * Returns the number of imports bound, or -1. */
int wp_wasi_link(wp_wasi *w, const wp_module *m, wp_import_value *imports, wp_error *err);

/* wp_wasi_is_import: whether an import module name is WASI preview1's. */
bool wp_wasi_is_import(const char *module, uint32_t module_len);

#ifdef __cplusplus
}
#endif
#endif
