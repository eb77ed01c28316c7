import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { homeDir } from "../registry/home.js";
import { writeFileAtomicSync } from "../registry/atomic.js";
import { join } from "node:path";

/**
 * The dashboard's token: random, kept owner-only in `$NODAL_HOME/dashboard.token` and reused,
 * so a link printed once keeps working across dashboard restarts.
 */
export function dashboardToken(): string {
  const file = join(homeDir(), "dashboard.token");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{32,}$/.test(stored)) return stored;
  } catch {}
  const token = randomBytes(24).toString("hex");
  writeFileAtomicSync(file, token + "\n", { mode: 0o600 });
  return token;
}

/** Compares in constant time: a token must not leak through how long a refusal takes. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
