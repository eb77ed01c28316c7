/**
 * Where the control sockets of running apps are. A Unix socket's path is limited to 107 bytes
 * (sun_path), so `$NODAL_HOME/run/<id>.sock` works only while NODAL_HOME is short; past that the
 * sockets go to a short owner-only directory named for NODAL_HOME: `/tmp/nodal-<uid>-<hash>/`.
 */
import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { nodeCrypto } from "../lazy.js";
import { homeDir, nodalHome } from "./home.js";

/** sun_path is 108 bytes on Linux, with its terminating NUL. */
const MAX_SOCKET_PATH = 107;
const SOCKET_SUFFIX = ".sock";

/** The owner-only socket through which the CLI talks to the running app `appId`. */
export function controlSocketPath(appId: string): string {
  const name = `${appId}${SOCKET_SUFFIX}`;
  const long = join(nodalHome(), "run", name);
  if (Buffer.byteLength(long) <= MAX_SOCKET_PATH) return join(homeDir("run"), name);
  return join(shortRunDir(true), name);
}

/** The directories that may hold control sockets (the short one only if it exists already). */
export function socketDirs(): string[] {
  const dirs = [join(nodalHome(), "run")];
  const short = shortRunDirPath();
  if (lstatSync(short, { throwIfNoEntry: false })) dirs.push(shortRunDir(false));
  return dirs;
}

/** The app id of a socket file name, or undefined for another file. */
export function socketAppId(file: string): string | undefined {
  return file.endsWith(SOCKET_SUFFIX) ? file.slice(0, -SOCKET_SUFFIX.length) : undefined;
}

/** `/tmp/nodal-<uid>-<hash of NODAL_HOME>`: one per user and NODAL_HOME, always short. */
export function shortRunDirPath(): string {
  const hash = nodeCrypto().createHash("sha256").update(nodalHome()).digest("hex").slice(0, 12);
  const uid = process.getuid?.() ?? 0;
  // Not os.tmpdir(): TMPDIR may be as long as the NODAL_HOME that did not fit.
  return join("/tmp", `nodal-${uid}-${hash}`);
}

/**
 * The short socket directory, created 0700 if `create`. /tmp is shared with every user, so an
 * existing entry is used only if it is a real directory (not a link), ours, and owner-only:
 * anything else could let another user read or hijack the sockets.
 */
function shortRunDir(create: boolean): string {
  const dir = shortRunDirPath();
  if (create) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new UserError(
      "E_INVALID_STATE",
      `${dir} is not an owner-only directory of this user; nodal keeps its control sockets there because NODAL_HOME is too long for a socket path`,
      `remove ${dir}, or use a shorter NODAL_HOME`,
    );
  }
  return dir;
}
