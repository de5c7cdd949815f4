import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * Writes a public file (a CA certificate) so that nobody else's file is written
 * into: the content goes to a new, exclusively created file beside the target, which
 * is then renamed over it. `rename` replaces a symlink planted at the name instead of
 * following it, and in a sticky directory like `/tmp` it fails for another user's
 * file rather than writing into a file they could later swap. Mode 0644.
 */
export function writePublicFile(path: string, content: string): string {
  const target = resolve(path);
  const partial = join(dirname(target), `.${randomBytes(6).toString("hex")}.${process.pid}.tmp`);
  const fd = openSync(
    partial,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(partial, target);
  } catch (error) {
    unlinkSync(partial);
    throw error;
  }
  return target;
}
