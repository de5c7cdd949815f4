import { createHash, randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  realpath,
  rename,
  unlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { isRdsIamError, RdsIamError } from "./errors";

/**
 * Writes CA certificates (PEM) to a file and returns its absolute path, for consumers
 * that trust a CA only by file name: Prisma's engine (`sslcert`) and libpq-style
 * URLs (`sslrootcert`).
 *
 * Whoever can change this file decides which server the token is sent to, so:
 * - the default directory is per user, `<os.tmpdir()>/rds-iam-<uid>/`, created with
 *   mode 0700 (`directory` overrides it);
 * - the directory must be a real directory (not a symlink), owned by the current user
 *   and writable by nobody else, under ancestors only we or root control, reached by
 *   a path without symbolic links; a directory planted by another local user is never
 *   used: in place of the default one this process makes one of its own with a random
 *   name (`mkdtemp`), and a `directory` of the caller's fails with `INSECURE_PATH`;
 * - the file is named after a hash of its content, created exclusively under a random
 *   name and renamed into place (rename replaces a planted symlink rather than
 *   following it), and reused only if it is a regular file of ours, not writable by
 *   others, whose content is the expected one.
 *
 * On Windows, where POSIX owners and modes do not exist, the per-user temporary
 * directory is already private; only the symlink and content checks apply there.
 * CA certificates are public: the file holds no secret.
 *
 * @throws RdsIamError `INSECURE_PATH` naming the path and the fix.
 */
export async function writeCaFile(
  pems: string | readonly string[],
  directory?: string,
): Promise<string> {
  const content = `${(typeof pems === "string" ? [pems] : pems).map((pem) => pem.trim()).join("\n")}\n`;
  const digest = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const dir =
    directory === undefined ? await defaultDirectory() : await privateDirectory(directory);
  const file = join(dir, `ca-${digest}.pem`);
  if (await isOurFileWith(file, content)) return file;

  const partial = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  // O_EXCL | O_NOFOLLOW: never write through a name someone else prepared.
  const handle = await open(
    partial,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    await handle.writeFile(content, "utf8");
  } finally {
    await handle.close();
  }
  try {
    await rename(partial, file);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw error;
  }
  return file;
}

/** This process's own directory, when the per-user one was planted by someone else. */
let fallback: { tmp: string; stale: boolean; dir: Promise<string> } | undefined;

/**
 * The per-user directory, or, when another local user planted something under its
 * predictable name (which we could not remove from a sticky `/tmp`), a fresh
 * directory of this process's own with a random name: refusing would let anyone stop
 * every URL this user builds until the next reboot.
 */
async function defaultDirectory(): Promise<string> {
  try {
    return await privateDirectory(defaultCaDirectory());
  } catch (error) {
    if (!isRdsIamError(error) || error.code !== "INSECURE_PATH") throw error;
  }
  return fallbackDirectory();
}

/**
 * One fallback directory per process and temporary directory, shared by concurrent
 * callers (the choice is made without awaiting, so they cannot each make one); made
 * again only if it failed or was removed.
 */
function fallbackDirectory(): Promise<string> {
  const tmp = tmpdir();
  if (fallback === undefined || fallback.tmp !== tmp || fallback.stale) {
    const entry = {
      tmp,
      stale: false,
      dir: (async () => {
        // An unsafe temporary directory fails here, before anything is made in it.
        await checkAncestors(tmp);
        return mkdtemp(join(tmp, `${basename(defaultCaDirectory())}-`));
      })(),
    };
    entry.dir.catch(() => {
      entry.stale = true;
    });
    fallback = entry;
  }
  const entry = fallback;
  return entry.dir.then(async (dir) => {
    if ((await lstatOrUndefined(dir)) === undefined) {
      // Removed since: a new one, never the old name made again.
      entry.stale = true;
      return fallbackDirectory();
    }
    return privateDirectory(dir);
  });
}

/**
 * `dir`, checked (see {@link ensurePrivateDirectory}), as a path with no symbolic link
 * in it: a link in the path (a `TMPDIR` through a link) could be re-pointed by its
 * owner after the checks, and the file name is predictable from its content.
 */
async function privateDirectory(dir: string): Promise<string> {
  const absolute = resolve(dir);
  const parent = await realpath(dirname(absolute)).catch(() => undefined);
  const real = parent === undefined ? absolute : join(parent, basename(absolute));
  await ensurePrivateDirectory(real);
  return real;
}

/** `<os.tmpdir()>/rds-iam-<uid>`: one directory per local user, never shared. */
export function defaultCaDirectory(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  return join(tmpdir(), uid === undefined ? "rds-iam" : `rds-iam-${uid}`);
}

const POSIX = typeof process.getuid === "function";

async function ensurePrivateDirectory(dir: string): Promise<void> {
  await checkAncestors(dirname(dir));
  let stats = await lstatOrUndefined(dir);
  if (stats === undefined) {
    try {
      // Not recursive for the last step: a concurrent creator (ours or not) is
      // detected below by the same checks as any existing directory.
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        await mkdir(dir, { recursive: true, mode: 0o700 });
      } else if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw error;
      }
    }
    stats = await lstat(dir);
    // mkdir's mode is filtered by the umask; make sure of 0700 on what we created.
    if (stats.isDirectory() && isOurs(stats) && (stats.mode & 0o777) !== 0o700) {
      await chmod(dir, 0o700);
      stats = await lstat(dir);
    }
  }
  const problem = unsafeBecause(stats, "directory");
  if (problem !== undefined) {
    throw new RdsIamError(
      "INSECURE_PATH",
      `Refusing to keep the CA file in ${dir}: it ${problem}. Another local user could replace the CA there and receive the token over "verified" TLS. Remove that directory, or pass a directory only you can write (caFile / the directory argument).`,
      { option: "caFile" },
    );
  }
}

/**
 * Whoever can rename an ancestor can swap the whole directory: every ancestor must
 * belong to us or root, and be writable by others only with the sticky bit (`/tmp`).
 */
async function checkAncestors(parent: string): Promise<void> {
  if (!POSIX) return;
  let current = await realpath(parent).catch(() => undefined);
  // A parent that does not exist yet is created by us (mkdir -p, mode 0700) below.
  while (current !== undefined) {
    const stats = await lstat(current);
    const owner = stats.uid === 0 || isOurs(stats);
    const shared = (stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0;
    if (!owner || shared) {
      throw new RdsIamError(
        "INSECURE_PATH",
        `Refusing to keep the CA file under ${current}: it ${owner ? `is writable by other users without the sticky bit (mode ${(stats.mode & 0o7777).toString(8)})` : `is owned by uid ${stats.uid}`}, so another local user could swap the directory and the CA in it. Pass a directory only you can write (caFile / the directory argument).`,
        { option: "caFile" },
      );
    }
    const up = dirname(current);
    current = up === current ? undefined : up;
  }
}

async function isOurFileWith(file: string, content: string): Promise<boolean> {
  const stats = await lstatOrUndefined(file);
  if (stats === undefined || unsafeBecause(stats, "file") !== undefined) return false;
  return (await readFile(file, "utf8").catch(() => undefined)) === content;
}

/** Why a path may not be trusted, or `undefined` if only the current user controls it. */
function unsafeBecause(stats: Stats, kind: "directory" | "file"): string | undefined {
  if (stats.isSymbolicLink()) return "is a symbolic link";
  if (kind === "directory" ? !stats.isDirectory() : !stats.isFile()) return `is not a ${kind}`;
  if (!POSIX) return undefined;
  if (!isOurs(stats)) return `is owned by uid ${stats.uid}, not by the current user`;
  if ((stats.mode & 0o022) !== 0) {
    return `is writable by other users (mode ${(stats.mode & 0o777).toString(8)})`;
  }
  return undefined;
}

function isOurs(stats: Stats): boolean {
  return !POSIX || stats.uid === process.getuid?.();
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
