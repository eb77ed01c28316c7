import { InvalidError } from "./errors.js";

const NAME_RE = /^[a-zA-Z0-9._-]{1,64}$/;

/** Modal's naming rule for apps, volumes and secrets: `[a-zA-Z0-9._-]`, 1 to 64 characters. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new InvalidError(
      `invalid ${kind} name ${JSON.stringify(name)}: use 1 to 64 characters from a-z, A-Z, 0-9, ".", "_" and "-"`,
    );
  }
  return name;
}
