/* py_interrupt.c: Ctrl-C, wasmprof.interrupt() and other threads while a
 * guest runs.
 *
 * The guest runs holding the GIL, and the core looks at its context's
 * interrupt flags only at loop back-edges and calls (wasmprof.h).  Three
 * things need that check to reach Python:
 *   - SIGINT: while the main thread runs a guest, a C handler asks that
 *     context for a poll and chains to the handler it replaced (Python's own,
 *     which records the signal).  The poll hook runs PyErr_CheckSignals, so
 *     Python's handler decides what happens: KeyboardInterrupt by default
 *     (also in Jupyter, whose interrupt is a SIGINT).
 *   - other Python threads: a watchdog thread asks every running context for
 *     a poll every WATCHDOG_MS while any guest runs; the poll hook releases
 *     and retakes the GIL, so a threading.Timer or a thread calling
 *     wasmprof.interrupt() gets to run inside an endless guest loop.
 *   - wasmprof.interrupt(): stops every running guest (WP_ERR_INTERRUPT,
 *     raised as KeyboardInterrupt).
 * Only the outermost guest entry of a thread registers (wpy_guest_enter). */
#define _DEFAULT_SOURCE /* nanosleep, sigaction flags */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define WATCHDOG_MS 5

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static wp_exec **running; /* outermost guest entries, under lock */
static size_t nrunning, cap_running;
static bool watchdog_started;
static pid_t watchdog_pid;

static _Thread_local unsigned tls_depth;

/* SIGINT: only touched by the main thread (and read by the handler). */
static wp_exec *volatile sigint_target;
static struct sigaction sigint_previous;
static bool sigint_installed;

static void *watchdog_main(void *arg) {
  (void)arg;
  struct timespec tick = {0, WATCHDOG_MS * 1000000L};
  for (;;) {
    pthread_mutex_lock(&lock);
    while (nrunning == 0) pthread_cond_wait(&wake, &lock);
    for (size_t i = 0; i < nrunning; i++) wp_exec_request_poll(running[i]);
    pthread_mutex_unlock(&lock);
    nanosleep(&tick, NULL);
  }
  return NULL;
}

static void atfork_prepare(void) { pthread_mutex_lock(&lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&lock); }
static void atfork_child(void) {
  /* Only the forking thread survives: no watchdog, no other runners. */
  pthread_mutex_init(&lock, NULL);
  pthread_cond_init(&wake, NULL);
  watchdog_started = false;
  nrunning = 0;
}

/* start_watchdog (under lock): once per process. */
static void start_watchdog(void) {
  if (watchdog_started && watchdog_pid == getpid()) return;
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
  if (pthread_create(&t, &attr, watchdog_main, NULL) == 0) {
    watchdog_started = true;
    watchdog_pid = getpid();
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}

static void on_sigint(int signo, siginfo_t *info, void *uctx) {
  int saved_errno = errno;
  wp_exec *ex = sigint_target;
  if (ex) wp_exec_request_poll(ex);
  errno = saved_errno;
  if (sigint_previous.sa_flags & SA_SIGINFO) {
    if (sigint_previous.sa_sigaction) sigint_previous.sa_sigaction(signo, info, uctx);
  } else if (sigint_previous.sa_handler != SIG_DFL && sigint_previous.sa_handler != SIG_IGN) {
    sigint_previous.sa_handler(signo);
  }
}

/* install_sigint: replace a SIGINT handler that is a function (Python's, or
 * the host application's) by on_sigint, which chains to it.  A default or
 * ignored SIGINT is left alone: the process did not ask for Ctrl-C handling. */
static void install_sigint(wp_exec *ex) {
  struct sigaction cur;
  if (sigaction(SIGINT, NULL, &cur) != 0) return;
  bool is_function = (cur.sa_flags & SA_SIGINFO) ? cur.sa_sigaction != NULL
                                                 : (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN);
  if (!is_function) return;
  sigint_previous = cur;
  sigint_target = ex;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigint;
  sa.sa_flags = SA_SIGINFO | (cur.sa_flags & SA_RESTART);
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) == 0) sigint_installed = true;
  else sigint_target = NULL;
}

static void restore_sigint(void) {
  if (!sigint_installed) return;
  sigaction(SIGINT, &sigint_previous, NULL);
  sigint_target = NULL;
  sigint_installed = false;
}

/* poll_hook: the core calls it at a back-edge or call after a poll request,
 * holding the GIL as the guest does. */
static int poll_hook(wp_exec *ex, void *ctx, wp_error *err) {
  (void)ex;
  (void)ctx;
  if (_PyOS_IsMainThread() && PyErr_CheckSignals() < 0) {
    /* Python's handler raised (KeyboardInterrupt): the guest stops with it. */
    wpy_stash_exception();
    memset(err, 0, sizeof *err);
    err->kind = WP_ERR_HOST;
    err->offset = WP_NO_OFFSET;
    err->func = WP_NO_FUNC;
    snprintf(err->message, sizeof err->message, "a Python signal handler raised");
    return -1;
  }
  /* Let other Python threads run (a timer that sends a signal, a thread
   * that calls wasmprof.interrupt()). */
  Py_BEGIN_ALLOW_THREADS
  Py_END_ALLOW_THREADS
  return 0;
}

void wpy_guest_enter(wp_exec *ex) {
  wp_exec_set_poll(ex, poll_hook, NULL);
  if (tls_depth++ > 0) return;
  pthread_mutex_lock(&lock);
  if (nrunning == cap_running) {
    size_t cap = cap_running ? 2 * cap_running : 8;
    wp_exec **grown = realloc(running, cap * sizeof *grown);
    if (grown) {
      running = grown;
      cap_running = cap;
    }
  }
  if (nrunning < cap_running) {
    running[nrunning++] = ex;
    start_watchdog();
    pthread_cond_signal(&wake);
  }
  pthread_mutex_unlock(&lock);
  if (_PyOS_IsMainThread()) install_sigint(ex);
}

void wpy_guest_leave(wp_exec *ex) {
  if (--tls_depth > 0) return;
  if (_PyOS_IsMainThread()) restore_sigint();
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nrunning; i++) {
    if (running[i] == ex) {
      running[i] = running[--nrunning];
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  /* No request may outlive the call it was meant for. */
  wp_exec_clear_interrupt(ex);
}

static PyObject *core_interrupt(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  pthread_mutex_lock(&lock);
  size_t n = nrunning;
  for (size_t i = 0; i < n; i++) wp_exec_interrupt(running[i]);
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
