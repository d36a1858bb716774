/*
 * xc_fiber.h: fibers (cooperative tasks with their own stacks) for the
 * completion-queue threads of xunchad.
 *
 * xunchad runs each unary call's handler on a fiber on the thread that
 * received the call, so a handler that waits for a durable write (or for a
 * gRPC batch) gives the thread back instead of blocking it: the thread goes
 * on serving other calls, and the writer sees many writes at once and
 * commits them together. Handlers see none of this: they call the same
 * blocking-looking functions.
 *
 * A fiber is run from a scheduler context (a thread's own stack) with
 * xc_fiber_run; inside, xc_fiber_yield goes back to whoever ran or resumed
 * it; xc_fiber_resume continues it, on any thread, as long as only one thread
 * touches a fiber at a time. Waking is race-free through xc_fiber_wake (see
 * there). Stacks are mmap'd with a guard page below, so an overflow faults
 * instead of corrupting memory. Under AddressSanitizer every switch is
 * announced to it.
 */
#ifndef XC_FIBER_H
#define XC_FIBER_H

#include <stddef.h>

typedef struct xc_fiber xc_fiber;

typedef void (*xc_fiber_fn)(void *arg);

/* The default stack: handlers use a few KiB; only touched pages cost memory. */
#define XC_FIBER_STACK_BYTES ((size_t)256 * 1024)

/* Makes an idle fiber with a stack of stack_bytes (0: the default). Returns
 * NULL when out of memory. The caller frees it with xc_fiber_destroy. */
xc_fiber *xc_fiber_create(size_t stack_bytes);

/* Frees an idle fiber (one whose function returned, or never ran). NULL is
 * accepted. */
void xc_fiber_destroy(xc_fiber *f);

/*
 * Runs fn(arg) on the idle fiber f until fn returns (then 1) or the fiber
 * yields to wait (then 0). Must be called from outside any fiber.
 */
int xc_fiber_run(xc_fiber *f, xc_fiber_fn fn, void *arg);

/*
 * Continues a fiber that yielded and has been woken (xc_fiber_wake returned
 * 1 for it). Returns as xc_fiber_run does. Must be called from outside any
 * fiber.
 */
int xc_fiber_resume(xc_fiber *f);

/* The arg of the function the fiber runs (or ran last). */
void *xc_fiber_arg(const xc_fiber *f);

/* The fiber running on this thread, or NULL outside fibers. */
xc_fiber *xc_fiber_current(void);

/*
 * Inside a fiber: suspends it until it is woken (xc_fiber_wake) and then
 * resumed (xc_fiber_resume). The wake may happen before the yield has
 * completed, on another thread: the fiber then carries straight on.
 */
void xc_fiber_yield(void);

/*
 * Wakes a fiber that yields or is about to yield. Returns 1 if the fiber is
 * suspended and the caller must now get it resumed (xc_fiber_resume, by one
 * thread), or 0 if it had not yet finished yielding, in which case it will
 * carry on by itself. Each yield takes exactly one wake. Any thread.
 */
int xc_fiber_wake(xc_fiber *f);

#endif /* XC_FIBER_H */
