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
  if (isIpAddress(host) && host.trim() === host) {
    // isIpAddress takes any IPv6 zone id; here it ends up in URLs and messages.
    const zone = host.indexOf("%");
    return zone === -1 || /^[A-Za-z0-9_.-]+\]?$/.test(host.slice(zone + 1));
  }
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

/**
 * What is wrong with a host that {@link isHostOrIpLiteral} refuses, phrased as the
 * fix: the mistakes people make are a URL's parts left in (`postgres://`, `:5432`,
 * `/app`) or spaces.
 */
export function hostMistake(host: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host);
  if (scheme !== null) {
    return `drop the "${scheme[1]}://" scheme: give only the hostname (a connection URL's other parts are options of their own: port, user, database)`;
  }
  const port = /^(\[[^\]]+\]|[^:/?#@\s]+):(\d+)$/.exec(host);
  if (port !== null) {
    return `drop the port: give only the hostname ${JSON.stringify(port[1])}, and the port as the port option (${port[2]})`;
  }
  if (host.includes("@"))
    return "drop the user part before @: give only the hostname, and the user as the user option";
  if (/[/?#]/.test(host)) return "drop the path and query: give only the hostname";
  if (/\s/.test(host)) return "remove the spaces: a hostname has none";
  return "give a hostname (letters, digits, '-', '.') or an IP address";
}
