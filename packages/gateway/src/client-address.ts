import type { Socket } from "node:net";

/** Who a client is, as the gateway names it in errors and refusal reports. */
export interface ClientAddress {
  /** The address, as RDS quotes it in its errors (`127.0.0.1`; IPv4-mapped IPv6 unmapped). */
  readonly address: string;
  /** Address and port, for logs: `127.0.0.1:53412`, `[::1]:53412`. */
  readonly label: string;
}

/**
 * Reads a client's address once, at connect: a socket forgets its peer once it closes,
 * and a refusal may be reported after that.
 */
export function clientOf(socket: Socket): ClientAddress {
  const address = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    address,
    label: socket.remotePort === undefined ? host : `${host}:${socket.remotePort}`,
  };
}
