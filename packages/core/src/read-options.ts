import { isRdsIamError, RdsIamError } from "./errors";

/**
 * A plain snapshot of a user's options object: its own enumerable keys and their
 * values, read once. Whatever reading throws (a getter that throws, a revoked
 * Proxy) becomes a typed error instead of escaping as a `TypeError` from deep inside;
 * later steps read the snapshot, so a getter cannot answer differently twice.
 *
 * @param what How to name the object in the error (`"options"`, `"iam"`, `"ssl"`).
 * @throws RdsIamError `INVALID_OPTION` naming `what`.
 */
export function readOptions(value: object, what = "options"): Record<string, unknown> {
  try {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      // A key named like this would change the copy's prototype, not add an option.
      if (key === "__proto__") continue;
      copy[key] = (value as Record<string, unknown>)[key];
    }
    return copy;
  } catch (error) {
    if (isRdsIamError(error)) throw error;
    // The thrower's message is the caller's code, not ours to repeat: it is the cause.
    throw new RdsIamError(
      "INVALID_OPTION",
      `The ${what} object could not be read (a getter threw, or it is a revoked Proxy). Pass a plain object.`,
      { option: what, cause: error },
    );
  }
}

/**
 * `Array.isArray` that answers `false` for a revoked Proxy instead of throwing, so
 * that {@link readOptions} is what refuses it (with a typed error).
 */
export function isArraySafe(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}
