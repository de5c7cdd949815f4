/**
 * Milliseconds since the epoch, like `Date.now`. Injected so that tests and
 * simulations can move time; everything time-dependent in core reads it.
 */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();
