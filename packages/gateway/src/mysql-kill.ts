import { COM_PROCESS_KILL, COM_QUERY } from "./mysql-packets";

/** Longer than any `KILL [HARD|SOFT] [CONNECTION|QUERY] <id>` a driver sends. */
export const MAX_KILL_PAYLOAD = 96;

const KILL_STATEMENT =
  /^(\s*KILL\s+(?:(?:HARD|SOFT)\s+)?(?:(?:CONNECTION|QUERY)\s+)?)(\d{1,10})(\s*;?\s*)$/i;

/**
 * Whether a command packet could be a `KILL` of a connection id, so that the relay
 * holds it whole to look: `COM_QUERY` short enough, or `COM_PROCESS_KILL`.
 */
export function mayBeKill(command: number | undefined, length: number): boolean {
  return (
    (command === COM_QUERY && length <= MAX_KILL_PAYLOAD) ||
    (command === COM_PROCESS_KILL && length === 5)
  );
}

/**
 * Rewrites a `KILL` that names a connection id the gateway handed out (its greeting's)
 * into one naming the backend thread that session runs on. Returns undefined when
 * there is nothing to rewrite: another statement, or an id that is not the gateway's
 * (a real thread id read from the backend goes through as it is). The backend still
 * decides whether the user may kill that thread.
 */
export function translateKill(
  payload: Buffer,
  backendIdOf: (id: number) => number | undefined,
): Buffer | undefined {
  if (payload[0] === COM_PROCESS_KILL && payload.length === 5) {
    const backendId = backendIdOf(payload.readUInt32LE(1));
    if (backendId === undefined) return undefined;
    const rewritten = Buffer.from(payload);
    rewritten.writeUInt32LE(backendId >>> 0, 1);
    return rewritten;
  }
  if (payload[0] !== COM_QUERY) return undefined;
  const match = KILL_STATEMENT.exec(payload.subarray(1).toString("latin1"));
  if (!match) return undefined;
  const backendId = backendIdOf(Number(match[2]));
  if (backendId === undefined) return undefined;
  return Buffer.concat([
    Buffer.from([COM_QUERY]),
    Buffer.from(`${match[1]}${backendId}${match[3]}`, "latin1"),
  ]);
}
