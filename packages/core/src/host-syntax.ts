import { isIpAddress } from "./ip-address";

/** One DNS label: letters, digits, `-` and `_` (service names), 1 to 63 characters. */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * True for a hostname (labels separated by dots, an optional trailing dot) or an IP
 * literal, and nothing else: no scheme, port, path, query, user info, spaces or
 * control characters. Whatever a host may carry ends up in URLs and TLS names, so
 * anything else could smuggle parameters into a URL or redirect a token.
 */
export function isHostOrIpLiteral(host: unknown): host is string {
  if (typeof host !== "string" || host === "") return false;
  if (isIpAddress(host) && host.trim() === host) return true;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}
