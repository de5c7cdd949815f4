import net from "node:net";

/** Where the guard saw a process try to go off this machine. */
export interface GuardReport {
  readonly blocked: readonly string[];
}

const blocked: string[] = [];
let installed = false;

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    bare === "localhost" ||
    bare === "::1" ||
    bare === "::ffff:127.0.0.1" ||
    /^127(?:\.\d{1,3}){3}$/.test(bare)
  );
}

type ConnectArgs = Parameters<net.Socket["connect"]>;

/** The host a `Socket#connect` call dials, or undefined for a local (IPC) path. */
function targetOf(args: ConnectArgs): string | undefined {
  const [first, second] = args as unknown[];
  if (Array.isArray(first)) return targetOf(first as unknown as ConnectArgs);
  if (typeof first === "object" && first !== null) {
    const options = first as { host?: string; path?: string };
    if (options.path !== undefined) return undefined;
    return options.host ?? "localhost";
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return undefined; // an IPC path
  return typeof second === "string" ? second : "localhost";
}

/**
 * Every benchmark process must stay on this machine: no contender may reach AWS (the
 * AWS wrapper could ask RDS for topology; the SDK could fall through to instance
 * metadata). The guard refuses any TCP connection to a non-loopback address, before
 * DNS is even asked, and remembers the attempt so the run reports it.
 */
export function installNetworkGuard(): void {
  if (installed) return;
  installed = true;
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(
    this: net.Socket,
    ...args: ConnectArgs
  ): net.Socket {
    const host = targetOf(args);
    if (host !== undefined && !isLoopback(host)) {
      blocked.push(host);
      throw new Error(`bench network guard: refused a connection to ${host} (loopback only)`);
    }
    return (original as (...a: ConnectArgs) => net.Socket).apply(this, args);
  } as net.Socket["connect"];
}

export function guardReport(): GuardReport {
  return { blocked: [...blocked] };
}
