import { isIP } from "node:net";

/**
 * True for an IPv4 or IPv6 literal, including bracketed IPv6 (`[::1]`) and zone ids
 * (`fe80::1%eth0`). Names that merely contain an address, like `10.0.0.1.nip.io`,
 * are not addresses.
 */
export function isIpAddress(host: string): boolean {
  if (typeof host !== "string") return false;
  let candidate = host.trim();
  // Brackets are IPv6's URL syntax only: `[10.0.0.1]` is not an address.
  const bracketed = candidate.startsWith("[") && candidate.endsWith("]");
  if (bracketed) candidate = candidate.slice(1, -1);
  // A zone id (`%eth0`, `%25en0` in URLs) belongs to IPv6 and is never empty.
  const zone = candidate.indexOf("%");
  if (zone !== -1) {
    if (zone === candidate.length - 1) return false;
    candidate = candidate.slice(0, zone);
    if (isIP(candidate) !== 6) return false;
  }
  return bracketed ? isIP(candidate) === 6 : isIP(candidate) !== 0;
}

/**
 * True for hosts that never leave this machine: `localhost`, 127.0.0.0/8, `::1`.
 * Only these may receive a token without TLS, and only on an explicit opt-out.
 */
export function isLoopbackHost(host: string): boolean {
  let candidate = host.trim().toLowerCase();
  if (candidate.endsWith(".")) candidate = candidate.slice(0, -1);
  if (candidate.startsWith("[") && candidate.endsWith("]")) candidate = candidate.slice(1, -1);
  if (candidate === "localhost" || candidate.endsWith(".localhost")) return true;
  if (candidate === "::1" || candidate === "0:0:0:0:0:0:0:1") return true;
  if (candidate.startsWith("::ffff:")) candidate = candidate.slice("::ffff:".length);
  return isIP(candidate) === 4 && candidate.startsWith("127.");
}
