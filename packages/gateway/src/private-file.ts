import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A file only its owner can read, and how to remove it. */
export interface PrivateFile {
  /** Absolute path of the file. */
  readonly path: string;
  /** Deletes the file and its directory; safe to call twice. */
  remove(): void;
}

/**
 * Writes a secret (the credential endpoint's authorization token) to `name` in a new
 * directory of its own under the system's temp dir. The directory is created 0700 with
 * a random name, and the file inside it exclusively with 0600, so no other user can
 * read it, plant it, or swap it for a link.
 */
export function writePrivateFile(name: string, content: string): PrivateFile {
  const directory = mkdtempSync(join(tmpdir(), "rds-iam-gateway-"));
  const path = join(directory, name);
  try {
    writeFileSync(path, content, { mode: 0o600, flag: "wx" });
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    path,
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
