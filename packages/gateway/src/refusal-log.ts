import type { GatewayRefusal, GatewayStats } from "./gateway-options";

/** A field's longest printed form: a client chooses its user name, and a log line's length. */
const MAX_FIELD = 200;

// Control characters (a user name can hold a newline) would forge or break log lines;
// bidirectional overrides would make a line read differently than it is; a quote or a
// backslash would let a user name fake the fields after it.
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const CONTROL_OR_QUOTE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"\\]/g;

/**
 * `text` with control characters (and, for a quoted field, quotes and backslashes)
 * escaped and its length bounded: safe on one log line. The detail ends the line, so
 * quotes there fake nothing and stay readable.
 */
export function printable(text: string, quoted = true): string {
  // Cut first, then escape: cutting after would split an escape sequence in two.
  const cut = text.length > MAX_FIELD ? text.slice(0, MAX_FIELD) : text;
  const escaped = cut.replace(
    quoted ? CONTROL_OR_QUOTE : CONTROL,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
  return cut === text ? escaped : `${escaped}...`;
}

/**
 * One line for a refused login: the reason, the client's address, the user and access
 * key id (both public) when known, and what did not match. A refusal holds no token
 * material (see {@link GatewayRefusal}), so neither does the line.
 */
export function formatRefusal(refusal: GatewayRefusal): string {
  const parts = [`client ${refusal.client}`];
  if (refusal.user !== undefined) parts.push(`user "${printable(refusal.user)}"`);
  if (refusal.accessKeyId !== undefined) parts.push(`access key ${printable(refusal.accessKeyId)}`);
  return `refused (${refusal.reason}) ${parts.join(", ")}: ${printable(refusal.detail, false)}`;
}

/** The counters as one line, e.g. at exit: connections, accepted, refused by reason. */
export function formatStats(stats: GatewayStats): string {
  const reasons = Object.entries(stats.rejected)
    .filter((entry): entry is [string, number] => (entry[1] ?? 0) > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const refused = reasons.reduce((sum, [, count]) => sum + count, 0);
  const byReason = reasons.map(([reason, count]) => `${reason} ${count}`).join(", ");
  return (
    `${stats.connections} connection${stats.connections === 1 ? "" : "s"}, ` +
    `${stats.accepted} accepted, ${refused} refused${byReason ? ` (${byReason})` : ""}` +
    (stats.cancelRequests > 0 ? `, ${stats.cancelRequests} cancel requests` : "")
  );
}
