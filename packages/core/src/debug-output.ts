import { RdsIamError } from "./errors";

/** Which driver reads the options: each has its own packet-printing switches. */
export type PacketDebugDriver = "mysql2" | "mariadb";

/**
 * Refuses driver options that print or keep every packet, the token among them:
 * mysql2's `debug` (true or a list of packet names) and the mariadb connector's
 * `debug`, `debugCompress`, `logPackets`, `logger.network` and a `logger` function
 * (which it uses for packets too). With IAM that is the
 * password on stdout, so it needs the explicit `iamAllowTokenInDebugOutput: true`.
 *
 * @param input The driver options as the user gave them.
 * @param prefix How to name them in the error (e.g. `extra.` for TypeORM's `extra`).
 * @throws RdsIamError `CONFLICTING_OPTIONS` naming the option.
 */
export function refusePacketDebug(
  input: Readonly<Record<string, unknown>> | undefined,
  driver: PacketDebugDriver,
  allowed: unknown,
  prefix = "",
): void {
  if (allowed !== undefined && typeof allowed !== "boolean") {
    throw new RdsIamError("INVALID_OPTION", "iamAllowTokenInDebugOutput must be true or false.", {
      option: "iamAllowTokenInDebugOutput",
    });
  }
  if (allowed === true || input === undefined || input === null) return;
  const keys = driver === "mysql2" ? ["debug"] : ["debug", "debugCompress", "logPackets"];
  for (const key of keys) {
    if (isOn(input[key])) throw refused(`${prefix}${key}`);
  }
  const logger = input.logger;
  // The connector takes a function as logger for everything, packets included.
  if (driver === "mariadb" && typeof logger === "function") {
    throw refused(
      `${prefix}logger`,
      `For query logs without packets pass ${prefix}logger: { query, error, warning }.`,
    );
  }
  if (driver === "mariadb" && typeof logger === "object" && logger !== null) {
    if (isOn((logger as Record<string, unknown>).network)) {
      throw refused(`${prefix}logger.network`);
    }
  }
}

function isOn(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}

function refused(option: string, hint = ""): RdsIamError {
  return new RdsIamError(
    "CONFLICTING_OPTIONS",
    `${option} makes the driver print its packets, and with IAM authentication one of them carries the token (the password). Remove ${option}, or, to debug a local test only, also set iamAllowTokenInDebugOutput: true.${hint === "" ? "" : ` ${hint}`}`,
    { option },
  );
}
