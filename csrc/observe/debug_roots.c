/* debug_roots.c: what a debugger needs to find guest state in a process
 * or a core file without calling into it: the roots (every live execution
 * context and instance), the layout of the structures it reads from there,
 * and the GDB extension itself (gdb/, embedded below).
 *
 * The reader is gdb/wasmprof_gdb/ (GDB and LLDB).  It finds the global
 * `wasmprof_debug` by its ELF symbol (no DWARF needed: release builds have
 * none), checks its magic and version, reads `layout` (name -> offset or
 * size pairs, so it does not depend on how this build laid the structs
 * out), and walks `execs` and `instances`.  From a context it reads the
 * frame stack (wp_frame, wasmprof.h) and the chain of wp_call entries in
 * progress (ex->entry): each entry is a local of wp_call, so its address
 * says which thread's C stack it is on and which interpreter-loop C frame
 * runs its frames (the loop called by that wp_call is the frame just
 * below it).  That is how `bt` puts guest frames in place of loop frames.
 *
 * Cost: a mutex-protected list insertion when a context or an instance is
 * created or freed, and two stores per wp_call; nothing in the loops.
 * The lists are read by a stopped process's debugger, which takes no lock:
 * a list caught mid-update is read as far as it is consistent. */
#include "runtime.h"

#include <pthread.h>
#include <stddef.h>

/* WP_ROOTS_VERSION: bumped when a field's meaning changes (not when one is
 * added: readers look fields up by name). */
#define WP_ROOTS_VERSION 1u

typedef struct wp_roots_field {
  const char *name; /* "struct.field" (offset), "sizeof struct" or a constant's name */
  uint64_t value;
} wp_roots_field;

#define FIELD(type, field) {#type "." #field, offsetof(struct type, field)}
#define SIZE(type) {"sizeof " #type, sizeof(struct type)}
static const wp_roots_field layout[] = {
  SIZE(wp_exec), FIELD(wp_exec, frames), FIELD(wp_exec, nframes), FIELD(wp_exec, trap_nframes),
  FIELD(wp_exec, depth), FIELD(wp_exec, stack), FIELD(wp_exec, stack_end), FIELD(wp_exec, variant),
  FIELD(wp_exec, ticks), FIELD(wp_exec, roots_next), FIELD(wp_exec, entry), FIELD(wp_exec, dbg),
  SIZE(wp_entry_record), FIELD(wp_entry_record, prev), FIELD(wp_entry_record, base),
  SIZE(wp_frame), FIELD(wp_frame, func), FIELD(wp_frame, pc), FIELD(wp_frame, fp), FIELD(wp_frame, sp),
  SIZE(wp_func), FIELD(wp_func, type), FIELD(wp_func, inst), FIELD(wp_func, index), FIELD(wp_func, body),
  FIELD(wp_func, host), FIELD(wp_func, host_ctx),
  SIZE(wp_functype), FIELD(wp_functype, nparams), FIELD(wp_functype, nresults), FIELD(wp_functype, types),
  SIZE(wp_func_body), FIELD(wp_func_body, body_start), FIELD(wp_func_body, code_start),
  FIELD(wp_func_body, body_end), FIELD(wp_func_body, nlocals), FIELD(wp_func_body, local_types),
  FIELD(wp_func_body, code),
  SIZE(wp_code), FIELD(wp_code, cells), FIELD(wp_code, ncells), FIELD(wp_code, map_cell),
  FIELD(wp_code, map_offset), FIELD(wp_code, nmap), FIELD(wp_code, nparams), FIELD(wp_code, nlocals),
  FIELD(wp_code, next),
  SIZE(wp_instance), FIELD(wp_instance, module), FIELD(wp_instance, refcount), FIELD(wp_instance, funcs),
  FIELD(wp_instance, mems), FIELD(wp_instance, globals), FIELD(wp_instance, roots_next),
  SIZE(wp_module), FIELD(wp_module, bytes), FIELD(wp_module, size), FIELD(wp_module, types),
  FIELD(wp_module, ntypes), FIELD(wp_module, nimports), FIELD(wp_module, nfuncs),
  FIELD(wp_module, nfuncs_imported), FIELD(wp_module, func_types), FIELD(wp_module, bodies),
  FIELD(wp_module, nmems), FIELD(wp_module, nglobals), FIELD(wp_module, customs),
  FIELD(wp_module, ncustoms), FIELD(wp_module, code_section_start),
  SIZE(wp_custom_desc), FIELD(wp_custom_desc, name), FIELD(wp_custom_desc, name_len),
  FIELD(wp_custom_desc, data_start), FIELD(wp_custom_desc, data_len),
  SIZE(wp_memory), FIELD(wp_memory, data), FIELD(wp_memory, size), FIELD(wp_memory, reserved),
  SIZE(wp_global), FIELD(wp_global, value), FIELD(wp_global, type), FIELD(wp_global, mutable_),
  SIZE(wp_error), FIELD(wp_error, kind), FIELD(wp_error, trap), FIELD(wp_error, offset),
  FIELD(wp_error, func), FIELD(wp_error, message),
  {"WP_VARIANT_COUNT", WP_VARIANT_COUNT}, {"WP_CALL_CELLS", WP_CALL_CELLS}, {"sizeof wp_cell", sizeof(wp_cell)},
  {NULL, 0},
};
#undef FIELD
#undef SIZE

/* wasmprof_debug: the one root.  Its name and its first four fields are the
 * contract with readers; everything else is found through `layout`. */
struct wp_roots {
  char magic[16];                /* "wasmprof-debug" */
  uint32_t version;              /* WP_ROOTS_VERSION */
  uint32_t pointer_size;
  const wp_roots_field *layout;  /* terminated by a NULL name */
  wp_exec *execs;                /* live contexts, newest first (wp_exec.roots_next) */
  wp_instance *instances;        /* live instances, newest first (wp_instance.roots_next) */
};

__attribute__((used)) struct wp_roots wasmprof_debug = {
  "wasmprof-debug", WP_ROOTS_VERSION, sizeof(void *), layout, NULL, NULL,
};

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;

void wp_roots_add_exec(wp_exec *ex) {
  pthread_mutex_lock(&roots_lock);
  ex->roots_prev = NULL;
  ex->roots_next = wasmprof_debug.execs;
  if (ex->roots_next) ex->roots_next->roots_prev = ex;
  wasmprof_debug.execs = ex;
  pthread_mutex_unlock(&roots_lock);
}

void wp_roots_remove_exec(wp_exec *ex) {
  pthread_mutex_lock(&roots_lock);
  if (ex->roots_prev) ex->roots_prev->roots_next = ex->roots_next;
  else if (wasmprof_debug.execs == ex) wasmprof_debug.execs = ex->roots_next;
  if (ex->roots_next) ex->roots_next->roots_prev = ex->roots_prev;
  ex->roots_prev = ex->roots_next = NULL;
  pthread_mutex_unlock(&roots_lock);
}

void wp_roots_add_instance(wp_instance *inst) {
  pthread_mutex_lock(&roots_lock);
  inst->roots_prev = NULL;
  inst->roots_next = wasmprof_debug.instances;
  if (inst->roots_next) inst->roots_next->roots_prev = inst;
  wasmprof_debug.instances = inst;
  pthread_mutex_unlock(&roots_lock);
}

void wp_roots_remove_instance(wp_instance *inst) {
  pthread_mutex_lock(&roots_lock);
  if (inst->roots_prev) inst->roots_prev->roots_next = inst->roots_next;
  else if (wasmprof_debug.instances == inst) wasmprof_debug.instances = inst->roots_next;
  if (inst->roots_next) inst->roots_next->roots_prev = inst->roots_prev;
  inst->roots_prev = inst->roots_next = NULL;
  pthread_mutex_unlock(&roots_lock);
}

/* The GDB extension, inlined in a .debug_gdb_scripts section (GDB manual,
 * "The .debug_gdb_scripts section"): GDB loads it from any executable or
 * library that links this file, live or from a core, when auto-loading is
 * allowed for that file.  gdb/bundle.py generates the header from gdb/. */
#ifdef WP_GDB_SCRIPT_HEADER
#include WP_GDB_SCRIPT_HEADER
#endif
