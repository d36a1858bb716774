/* xc_fiber.c: fibers on ucontext, with guard pages and ASan annotations. */
#include "xc_fiber.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define XC__ASAN 1
#else
#define XC__ASAN 0
#endif

/* Where a fiber is in its life; see xc_fiber_wake for the races. */
enum {
  XC__FIBER_RUNNING = 0,   /* running, or about to yield */
  XC__FIBER_SUSPENDED = 1, /* yielded, context saved, waiting for a wake */
  XC__FIBER_WOKEN = 2      /* woken before its yield completed */
};

struct xc_fiber {
  ucontext_t ctx;   /* the fiber's own context */
  ucontext_t sched; /* the context that ran or resumed it last */
  void *map;        /* the mapping: guard page + stack */
  size_t map_bytes;
  void *stack; /* lowest usable stack address */
  size_t stack_bytes;
  xc_fiber_fn fn;
  void *arg;
  int finished; /* fn returned: the fiber is idle again */
  atomic_int state;
#if XC__ASAN
  void *sched_fake; /* ASan's fake-stack handles of both sides */
  void *fiber_fake;
  const void *from_bottom; /* the scheduler stack, learnt on each entry */
  size_t from_size;
#endif
};

static _Thread_local xc_fiber *xc__current;

xc_fiber *xc_fiber_current(void) { return xc__current; }

void *xc_fiber_arg(const xc_fiber *f) { return f->arg; }

/* Called by a fiber each time it gets the CPU (ASan bookkeeping only). */
static void xc__entered(xc_fiber *f) {
#if XC__ASAN
  __sanitizer_finish_switch_fiber(f->fiber_fake, &f->from_bottom, &f->from_size);
#else
  (void)f;
#endif
}

/* Leaves the fiber for the scheduler that ran it. */
static void xc__leave(xc_fiber *f) {
#if XC__ASAN
  __sanitizer_start_switch_fiber(&f->fiber_fake, f->from_bottom, f->from_size);
#endif
  (void)swapcontext(&f->ctx, &f->sched);
  xc__entered(f);
}

/* The fiber's body: runs one function per xc_fiber_run, forever. */
static void xc__trampoline(void) {
  xc_fiber *f = xc__current;
  xc__entered(f);
  for (;;) {
    f->fn(f->arg);
    f->finished = 1;
    xc__leave(f);
  }
}

/* getcontext returns twice; kept apart so no caller's locals are at risk. */
__attribute__((noinline)) static int xc__getcontext(ucontext_t *u) { return getcontext(u); }

xc_fiber *xc_fiber_create(size_t stack_bytes) {
  xc_fiber *f = NULL;
  long page = sysconf(_SC_PAGESIZE);
  size_t pg = page > 0 ? (size_t)page : 4096;
  size_t size = stack_bytes ? stack_bytes : XC_FIBER_STACK_BYTES;

  size = (size + pg - 1) / pg * pg;
  if (size > SIZE_MAX - pg) return NULL;
  f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->map_bytes = size + pg;
  f->map = mmap(NULL, f->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                -1, 0);
  if (f->map == MAP_FAILED) {
    free(f);
    return NULL;
  }
  /* The guard page below the stack turns an overflow into a fault. */
  if (mprotect(f->map, pg, PROT_NONE) != 0 || xc__getcontext(&f->ctx) != 0) {
    munmap(f->map, f->map_bytes);
    free(f);
    return NULL;
  }
  f->stack = (char *)f->map + pg;
  f->stack_bytes = size;
  f->ctx.uc_stack.ss_sp = f->stack;
  f->ctx.uc_stack.ss_size = size;
  f->ctx.uc_link = NULL; /* the trampoline never returns */
  makecontext(&f->ctx, xc__trampoline, 0);
  f->finished = 1;
  atomic_init(&f->state, XC__FIBER_RUNNING);
  return f;
}

void xc_fiber_destroy(xc_fiber *f) {
  if (f == NULL) return;
#if XC__ASAN
  /* Frames that were live on the stack left poisoned shadow behind; the
   * next mapping at this address must not inherit it. */
  ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_bytes);
#endif
  munmap(f->map, f->map_bytes);
  free(f);
}

/*
 * Switches into f until it finishes or yields. A yield whose wake already
 * came (state WOKEN) is continued at once.
 */
static int xc__enter(xc_fiber *f) {
  xc_fiber *prev = xc__current;
  for (;;) {
    int expected = XC__FIBER_RUNNING;
    xc__current = f;
#if XC__ASAN
    __sanitizer_start_switch_fiber(&f->sched_fake, f->stack, f->stack_bytes);
#endif
    (void)swapcontext(&f->sched, &f->ctx);
#if XC__ASAN
    __sanitizer_finish_switch_fiber(f->sched_fake, NULL, NULL);
#endif
    xc__current = prev;
    if (f->finished) return 1;
    /* The fiber's context is saved now: only from here may another thread
     * resume it. */
    if (atomic_compare_exchange_strong(&f->state, &expected, XC__FIBER_SUSPENDED)) return 0;
    /* Woken while it was yielding: carry on. */
    atomic_store(&f->state, XC__FIBER_RUNNING);
  }
}

int xc_fiber_run(xc_fiber *f, xc_fiber_fn fn, void *arg) {
  f->fn = fn;
  f->arg = arg;
  f->finished = 0;
  atomic_store(&f->state, XC__FIBER_RUNNING);
  return xc__enter(f);
}

int xc_fiber_resume(xc_fiber *f) { return xc__enter(f); }

void xc_fiber_yield(void) {
  xc_fiber *f = xc__current;
  if (f != NULL) xc__leave(f);
}

int xc_fiber_wake(xc_fiber *f) {
  for (;;) {
    int s = atomic_load(&f->state);
    if (s == XC__FIBER_SUSPENDED) {
      if (atomic_compare_exchange_strong(&f->state, &s, XC__FIBER_RUNNING)) return 1;
    } else if (s == XC__FIBER_RUNNING) {
      if (atomic_compare_exchange_strong(&f->state, &s, XC__FIBER_WOKEN)) return 0;
    } else {
      return 0; /* already woken: a second wake for one yield is a caller bug */
    }
  }
}
