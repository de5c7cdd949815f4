/**
 * Waits for `work` at most `ms` milliseconds of real time.
 *
 * Settles like `work` when it settles first. Otherwise rejects with `onTimeout()`
 * and leaves `work` running: a promise cannot be cancelled. Its late value or error
 * is taken here and dropped (never an unhandled rejection); whoever started `work`
 * must not act on what it does after the deadline.
 *
 * The timer is the real `setTimeout`, not an injected clock: a silent socket or a
 * child process that never exits is stuck in real time, whatever a simulated clock
 * says. It exists only while `work` is pending and is cleared as soon as either side
 * wins, so it never outlives the wait it bounds.
 *
 * By default it is not `unref`ed (`options.unref` asks for that where nobody waits on
 * the result itself). Someone is awaiting `work`; if nothing else held
 * the event loop (a provider awaiting a promise that never settles), an unref'd
 * timer would let the process exit with that caller's `await` never answered. A
 * ref'd timer instead keeps the process for at most `ms` and turns the hang into an
 * error the caller can see. Work that holds a socket or a child keeps the process
 * alive anyway; the timer adds nothing to that.
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  options: { unref?: boolean } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    if (options.unref === true) timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
