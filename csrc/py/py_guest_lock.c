/* py_guest_lock.c: Python runs one guest call at a time in the process.
 *
 * The thread contract (wasmprof.h, "Threads"; docs/guides/threads.md): a
 * module is shared freely, but an instance -- with every instance, memory,
 * table and global it shares state with -- is used by one thread at a
 * time.  Python enforces it for every instance at once: each outermost
 * entry into guest code (a call, an instantiation, a debugger step) takes
 * this lock, and a call from another thread waits for it, without the GIL.
 * Nothing is lost by it: the guest runs holding the GIL anyway, which the
 * poll hook (py_interrupt.c) lets go only so that *Python* code of other
 * threads runs meanwhile.  Without the lock, two threads' calls into one
 * instance would interleave at those points, each seeing the other's half-
 * written memory.
 *
 * The lock is re-entrant per thread: a host function may call guests (the
 * same instance or any other) on its own thread.  A host function that
 * waits for another thread which itself calls a guest deadlocks; that other
 * thread's wait can be interrupted (Ctrl-C in the main thread) because it
 * waits in slices, checking signals between them. */
#define _DEFAULT_SOURCE /* clock_gettime */
#include "core.h"

#include <pthread.h>
#include <time.h>

#define WAIT_SLICE_NS 50000000L /* between signal checks while waiting */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static unsigned long owner; /* PyThread_get_thread_ident() of the holder, under mu */
static unsigned depth;      /* the holder's nested entries; 0: free */

static void atfork_child(void) {
  /* Only the forking thread survives: it keeps the lock if it held it. */
  pthread_mutex_init(&mu, NULL);
  pthread_cond_init(&freed, NULL);
  if (depth && owner != PyThread_get_thread_ident()) depth = 0;
}

/* try_take (under mu): take the lock for thread me if it is free or ours. */
static bool try_take(unsigned long me) {
  if (depth && owner != me) return false;
  owner = me;
  depth++;
  return true;
}

int wpy_guest_lock(void) {
  static bool atfork_done;
  if (!atfork_done) atfork_done = pthread_atfork(NULL, NULL, atfork_child) == 0;
  unsigned long me = PyThread_get_thread_ident();
  pthread_mutex_lock(&mu);
  bool got = try_take(me);
  pthread_mutex_unlock(&mu);
  while (!got) {
    Py_BEGIN_ALLOW_THREADS
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += WAIT_SLICE_NS;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mu);
    if (!(got = try_take(me))) {
      pthread_cond_timedwait(&freed, &mu, &until);
      got = try_take(me);
    }
    pthread_mutex_unlock(&mu);
    Py_END_ALLOW_THREADS
    if (!got && PyErr_CheckSignals() < 0) return -1;
  }
  return 0;
}

void wpy_guest_unlock(void) {
  pthread_mutex_lock(&mu);
  if (depth && --depth == 0) pthread_cond_signal(&freed);
  pthread_mutex_unlock(&mu);
}
