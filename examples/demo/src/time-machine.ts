/**
 * The demo's clock: real time plus an offset the demo moves forward. The token
 * providers, the gateway and the credentials endpoint all read it, so "16 minutes
 * later" is the same moment for everyone, without waiting.
 */
export interface TimeMachine {
  readonly now: () => number;
  /** Moves every clock forward by `minutes`. */
  travel(minutes: number): void;
  /** Minutes travelled so far. */
  readonly elapsedMinutes: number;
}

export function createTimeMachine(): TimeMachine {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    travel(minutes) {
      offsetMs += minutes * 60_000;
    },
    get elapsedMinutes() {
      return offsetMs / 60_000;
    },
  };
}
