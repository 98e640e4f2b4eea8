/* profile_session.c: profiling sessions (wasmprof.h: wp_profile_session_*).
 *
 * A session is a profile kept off its context (ex->prof stays NULL), so
 * that entries it does not want run as if nothing observed them, in the
 * plain loop.  wp_call asks wp_session_arm at each entry; an entry it
 * takes gets the profile on ex for its duration, so the variant choice
 * (meter.c) puts it in the ticked loop, and the loops themselves never
 * look at sessions.  Ticks and time that pass while disarmed (counted runs
 * under a tick limit, host code) are kept out: arming moves the profile's
 * bases past them, so event stamps stay those of the profiled runs alone. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime (profile.h) */
#include "profile.h"

typedef struct wp_profile_session {
  wp_profile *p;
  const wp_instance *only; /* NULL: any instance */
  bool paused;
  wp_cost_model cost;      /* the profile's prices, put back on ex at each armed entry */
} wp_profile_session;

int wp_profile_session_begin(wp_exec *ex, const wp_instance *only, wp_error *err) {
  if (!ex || !ex->prof || ex->depth)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "a session starts from a profile just started, outside the guest");
  if (ex->session) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "a profiling session is already running on this thread");
  wp_profile_session *s = wp_calloc(1, sizeof *s);
  if (!s) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory starting a profiling session");
  s->p = ex->prof;
  s->only = only;
  s->cost = ex->cost;
  ex->prof = NULL;
  ex->session = s;
  wp_exec_update_variant(ex);
  return 0;
}

void wp_profile_session_pause(wp_exec *ex, bool paused) {
  if (ex && ex->session) ex->session->paused = paused;
}

bool wp_profile_session_active(const wp_exec *ex) { return ex && ex->session; }

bool wp_session_arm(wp_exec *ex, const wp_func *f) {
  wp_profile_session *s = ex->session;
  /* Inside a profiled entry (or another profile, or a debugger): not ours to take. */
  if (ex->prof || ex->dbg || s->paused || f->host || !f->inst) return false;
  if (s->only && f->inst != s->only) return false;
  wp_profile *p = s->p;
  if (!wp_keepalive_add(&p->kept, (wp_slot)(uintptr_t)f)) return false; /* OOM: run it unprofiled */
  p->tick_base += ex->ticks - p->last_ticks;
  p->last_ticks = ex->ticks;
  if (p->timed) {
    uint64_t now = wp_prof_now();
    p->t0 += now - p->last_time;
    p->last_time = now;
  }
  if (ex->cost.prices_hash != s->cost.prices_hash) ex->cost = s->cost;
  ex->prof = p;
  wp_exec_update_variant(ex);
  return true;
}

void wp_session_disarm(wp_exec *ex) {
  wp_prof_credit(ex, ex->prof);
  ex->prof = NULL;
  wp_exec_update_variant(ex);
}

wp_profile *wp_profile_session_end(wp_exec *ex) {
  if (!ex || !ex->session || ex->depth) return NULL;
  wp_profile_session *s = ex->session;
  ex->session = NULL;
  ex->prof = s->p;
  /* nothing ran under it since the last entry */
  ex->prof->tick_base += ex->ticks - ex->prof->last_ticks;
  ex->prof->last_ticks = ex->ticks;
  if (ex->prof->timed) {
    uint64_t now = wp_prof_now();
    ex->prof->t0 += now - ex->prof->last_time;
    ex->prof->last_time = now;
  }
  wp_profile *p = wp_profile_stop(ex);
  free(s);
  return p;
}
