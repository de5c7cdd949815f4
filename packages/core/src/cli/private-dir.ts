import { lstatSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { RdsIamError } from "../errors";

/** A directory of this process's own, for the files one `rds-iam exec` run needs. */
export interface PrivateDirectory {
  /** Absolute path, without symbolic links. */
  readonly path: string;
  /** Writes `content` to a new file `name` (mode 0600, never through an existing name). */
  write(name: string, content: string): string;
  /** Deletes the directory and everything in it; safe to call twice. Synchronous, for exit paths. */
  remove(): void;
}

/**
 * Makes `<os.tmpdir()>/rds-iam-exec-XXXXXX` with a random name and mode 0700
 * (`mkdtemp`), so no other local user can read, plant or swap the files in it: the CA
 * file decides which server the token goes to. Only our own uid or root may control
 * the temporary directory's ancestors, or someone could rename the directory away
 * and put theirs in its place (the sticky `/tmp` is fine).
 *
 * @throws RdsIamError `INSECURE_PATH` naming `TMPDIR`.
 */
export function makePrivateDirectory(): PrivateDirectory {
  const base = realpathSync(tmpdir());
  checkAncestors(base);
  const path = mkdtempSync(join(base, "rds-iam-exec-"));
  let removed = false;
  return {
    path,
    write(name, content) {
      const file = join(path, name);
      // "wx": created exclusively, so a name planted in the meantime fails instead.
      writeFileSync(file, content, { mode: 0o600, flag: "wx" });
      return file;
    },
    remove() {
      if (removed) return;
      removed = true;
      rmSync(path, { recursive: true, force: true });
    },
  };
}

function checkAncestors(start: string): void {
  if (typeof process.getuid !== "function") return;
  const uid = process.getuid();
  for (let current = start; ; current = dirname(current)) {
    const stats = lstatSync(current);
    const owner = stats.uid === 0 || stats.uid === uid;
    const shared = (stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0;
    if (!owner || shared) {
      throw new RdsIamError(
        "INSECURE_PATH",
        `Refusing to keep the CA file under ${current}: it ${
          owner
            ? `is writable by other users without the sticky bit (mode ${(stats.mode & 0o7777).toString(8)})`
            : `is owned by uid ${stats.uid}`
        }, so another local user could swap it and decide where the token goes. Point TMPDIR at a directory only you can write, or pass --ca <file> (PostgreSQL).`,
        { option: "TMPDIR" },
      );
    }
    if (dirname(current) === current) return;
  }
}
