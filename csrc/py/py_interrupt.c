/* py_interrupt.c: Ctrl-C, wasmprof.interrupt() and other threads while a
 * guest runs.
 *
 * The guest runs holding the GIL, and the core looks at its context's
 * interrupt flags only at loop back-edges and calls (wasmprof.h).  Python
 * reaches a running guest through a poll hook (poll_hook) that the core calls
 * at such a check after wp_exec_request_poll:
 *   - it runs PyErr_CheckSignals in the main thread, so Python's own SIGINT
 *     handler decides what Ctrl-C does: KeyboardInterrupt by default (also
 *     in Jupyter, whose interrupt is a SIGINT), and the guest stops with it;
 *   - it releases and retakes the GIL, so that other Python threads run
 *     inside an endless guest loop (a threading.Timer, a thread that calls
 *     wasmprof.interrupt()).
 * Who requests polls:
 *   - a watchdog thread, every WATCHDOG_MS for each context running a guest
 *     (it sleeps after a second without guests);
 *   - a C SIGINT handler, installed while the main thread runs a guest, for
 *     an immediate response.  It chains to the handler it replaced (Python's,
 *     which records the signal).  Installing costs system calls, so the
 *     watchdog installs it when it finds the main thread in a guest (a call
 *     that lasts a tick), and the call's end or the watchdog restores it:
 *     short calls pay nothing; Ctrl-C during the first tick is still seen by
 *     the watchdog's next poll.
 * wasmprof.interrupt() stops every running guest (WP_ERR_INTERRUPT, raised as
 * KeyboardInterrupt).
 *
 * Per call, the outermost guest entry of a thread only sets its runner's
 * `running` flag (wpy_guest_enter/leave); runners (one per thread's context,
 * kept as the context's poll hook argument) are registered once, under
 * `lock`, and dropped when the context is freed. */
#define _DEFAULT_SOURCE /* nanosleep, sigaction flags */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define WATCHDOG_MS 5
#define WATCHDOG_IDLE_TICKS 200 /* sleep after a second without guests */

typedef struct runner {
  wp_exec *ex;
  atomic_uint running; /* the thread is inside its outermost guest entry */
  bool main_thread;
} runner;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static runner **runners; /* under lock */
static size_t nrunners, cap_runners;
static bool watchdog_started;
static pid_t watchdog_pid;
static atomic_uint watchdog_sleeping;


/* The SIGINT handler's state: written under lock before it is installed. */
static runner *volatile main_runner;
static struct sigaction sigint_previous;
static atomic_uint sigint_installed;

/* ---- SIGINT ---------------------------------------------------------------------- */

static void on_sigint(int signo, siginfo_t *info, void *uctx) {
  int saved_errno = errno;
  runner *r = main_runner;
  if (r) wp_exec_request_poll(r->ex);
  errno = saved_errno;
  if (sigint_previous.sa_flags & SA_SIGINFO) {
    if (sigint_previous.sa_sigaction) sigint_previous.sa_sigaction(signo, info, uctx);
  } else if (sigint_previous.sa_handler != SIG_DFL && sigint_previous.sa_handler != SIG_IGN) {
    sigint_previous.sa_handler(signo);
  }
}

/* install_sigint (under lock): put on_sigint in front of a SIGINT handler
 * that is a function (Python's, or the application's).  A default or ignored
 * SIGINT is left alone: the process did not ask for Ctrl-C handling. */
static void install_sigint(void) {
  struct sigaction cur;
  if (atomic_load(&sigint_installed) || sigaction(SIGINT, NULL, &cur) != 0) return;
  bool is_function = (cur.sa_flags & SA_SIGINFO) ? cur.sa_sigaction != NULL
                                                 : (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN);
  if (!is_function || ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigint)) return;
  sigint_previous = cur;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigint;
  sa.sa_flags = SA_SIGINFO | (cur.sa_flags & SA_RESTART);
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) == 0) atomic_store(&sigint_installed, 1);
}

/* restore_sigint (under lock): put the replaced handler back, unless someone
 * (signal.signal in a host function) has set another one meanwhile. */
static void restore_sigint(void) {
  if (!atomic_load(&sigint_installed)) return;
  struct sigaction cur;
  if (sigaction(SIGINT, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigint)
    sigaction(SIGINT, &sigint_previous, NULL);
  atomic_store(&sigint_installed, 0);
}

/* ---- the watchdog ---------------------------------------------------------------- */

static void *watchdog_main(void *arg) {
  (void)arg;
  struct timespec tick = {0, WATCHDOG_MS * 1000000L};
  unsigned idle = 0;
  for (;;) {
    nanosleep(&tick, NULL);
    pthread_mutex_lock(&lock);
    bool any = false, main_running = false;
    for (size_t i = 0; i < nrunners; i++) {
      runner *r = runners[i];
      if (!atomic_load_explicit(&r->running, memory_order_relaxed)) continue;
      any = true;
      wp_exec_request_poll(r->ex);
      if (r->main_thread) main_running = true;
    }
    if (main_running) install_sigint();
    else restore_sigint();
    idle = any ? 0 : idle + 1;
    if (idle >= WATCHDOG_IDLE_TICKS) {
      atomic_store(&watchdog_sleeping, 1);
      while (atomic_load(&watchdog_sleeping)) pthread_cond_wait(&wake, &lock);
      idle = 0;
    }
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static void atfork_prepare(void) { pthread_mutex_lock(&lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&lock); }
static void atfork_child(void) {
  /* Only the forking thread survives: no watchdog; runners stay registered. */
  pthread_mutex_init(&lock, NULL);
  pthread_cond_init(&wake, NULL);
  watchdog_started = false;
}

/* wake_watchdog (under lock): start it once per process, or wake it up. */
__attribute__((noinline)) static void wake_watchdog(void) {
  if (watchdog_started && watchdog_pid == getpid()) {
    atomic_store(&watchdog_sleeping, 0);
    pthread_cond_signal(&wake);
    return;
  }
  static bool atfork_done;
  if (!atfork_done && pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0) atfork_done = true;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* Signals go to the threads that run Python, never to the watchdog. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  atomic_store(&watchdog_sleeping, 0);
  if (pthread_create(&t, &attr, watchdog_main, NULL) == 0) {
    watchdog_started = true;
    watchdog_pid = getpid();
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}

/* ---- the poll hook ----------------------------------------------------------------- */

/* mark_interrupt_location: give a KeyboardInterrupt raised while ex ran a
 * guest the attributes wasmprof.interrupt()'s has (func_index, offset: where
 * the top frame stopped, at a back-edge or a call). */
static void mark_interrupt_location(wp_exec *ex) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  uint32_t n = wp_exec_frame_count(ex);
  if (value && n && PyErr_GivenExceptionMatches(value, PyExc_KeyboardInterrupt) &&
      !PyObject_HasAttrString(value, "func_index")) {
    const wp_frame *top = wp_exec_frame(ex, n - 1);
    uint32_t func = wp_frame_func_index(top), offset = wp_frame_offset(top);
    PyObject *f = func == WP_NO_FUNC ? (Py_INCREF(Py_None), Py_None) : PyLong_FromUnsignedLong(func);
    PyObject *o = offset == WP_NO_OFFSET ? (Py_INCREF(Py_None), Py_None) : PyLong_FromUnsignedLong(offset);
    if (f && o) {
      PyObject_SetAttrString(value, "func_index", f);
      PyObject_SetAttrString(value, "offset", o);
    }
    Py_XDECREF(f);
    Py_XDECREF(o);
    PyErr_Clear(); /* a failed annotation leaves the interrupt as it was */
  }
  PyErr_Restore(type, value, tb);
}

static int poll_hook(wp_exec *ex, void *ctx, wp_error *err) {
  (void)ctx;
  if (_PyOS_IsMainThread() && PyErr_CheckSignals() < 0) {
    /* Python's handler raised (KeyboardInterrupt): the guest stops with it,
     * saying where. */
    mark_interrupt_location(ex);
    wpy_stash_exception();
    memset(err, 0, sizeof *err);
    err->kind = WP_ERR_HOST;
    err->offset = WP_NO_OFFSET;
    err->func = WP_NO_FUNC;
    snprintf(err->message, sizeof err->message, "a Python signal handler raised");
    return -1;
  }
  Py_BEGIN_ALLOW_THREADS
  Py_END_ALLOW_THREADS
  return 0;
}

/* ---- entries ----------------------------------------------------------------------- */

/* register_runner: this thread's runner for ex (NULL on OOM: the guest then
 * runs without interrupts, which only costs responsiveness). */
__attribute__((noinline)) static runner *register_runner(wp_exec *ex) {
  runner *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->ex = ex;
  r->main_thread = _PyOS_IsMainThread();
  pthread_mutex_lock(&lock);
  if (nrunners == cap_runners) {
    size_t cap = cap_runners ? 2 * cap_runners : 8;
    runner **grown = realloc(runners, cap * sizeof *grown);
    if (!grown) {
      pthread_mutex_unlock(&lock);
      free(r);
      return NULL;
    }
    runners = grown;
    cap_runners = cap;
  }
  runners[nrunners++] = r;
  if (r->main_thread) main_runner = r;
  pthread_mutex_unlock(&lock);
  wp_exec_set_poll(ex, poll_hook, r);
  return r;
}

/* The outermost entry is the one with no wp_call active on ex (ex->depth
 * counts them; a thread's nested entries share its context). */
int wpy_guest_enter(wp_exec *ex) {
  if (wpy_guest_lock() < 0) return -1;
  if (ex->depth > 0) return 0;
  runner *r = ex->poll == poll_hook ? ex->poll_ctx : register_runner(ex);
  if (!r) return 0;
  /* Requests from before this call are not for it. */
  if (atomic_load_explicit(&ex->interrupt, memory_order_relaxed)) wp_exec_clear_interrupt(ex);
  atomic_store_explicit(&r->running, 1, memory_order_relaxed);
  if (atomic_load_explicit(&watchdog_sleeping, memory_order_relaxed) || !watchdog_started) {
    pthread_mutex_lock(&lock);
    wake_watchdog();
    pthread_mutex_unlock(&lock);
  }
  return 0;
}

void wpy_guest_leave(wp_exec *ex) {
  wpy_guest_unlock();
  if (ex->depth > 0 || ex->poll != poll_hook) return;
  runner *r = ex->poll_ctx;
  atomic_store_explicit(&r->running, 0, memory_order_relaxed);
  if (r->main_thread && atomic_load(&sigint_installed)) {
    pthread_mutex_lock(&lock);
    restore_sigint();
    pthread_mutex_unlock(&lock);
  }
}

void wpy_guest_forget(wp_exec *ex) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nrunners; i++) {
    runner *r = runners[i];
    if (r->ex != ex) continue;
    runners[i] = runners[--nrunners];
    if (main_runner == r) main_runner = NULL;
    wp_exec_set_poll(ex, NULL, NULL);
    free(r);
    break;
  }
  pthread_mutex_unlock(&lock);
}

static PyObject *core_interrupt(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  size_t n = 0;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nrunners; i++) {
    if (!atomic_load(&runners[i]->running)) continue;
    wp_exec_interrupt(runners[i]->ex);
    n++;
  }
  pthread_mutex_unlock(&lock);
  return PyLong_FromSize_t(n);
}

static PyMethodDef interrupt_methods[] = {
    {"interrupt", core_interrupt, METH_NOARGS,
     "interrupt() -> int\n\n"
     "Stop every WebAssembly call running in this process, in any thread, at its next loop\n"
     "back-edge or call: the call raises KeyboardInterrupt and its instance stays usable.\n"
     "Returns how many running calls were asked to stop."},
    {NULL, NULL, 0, NULL},
};

int wpy_interrupt_register(PyObject *module) { return PyModule_AddFunctions(module, interrupt_methods); }
