import { InvalidError } from "./errors.js";

/**
 * Modal's naming rule for apps, functions, volumes and secrets: `[a-zA-Z0-9._-]`, 1 to 64
 * characters; and never only dots. Names become path components under NODAL_HOME
 * (`volumes/NAME`, `deployments/NAME`), where `.` and `..` would mean the folder itself or its parent.
 */
const NAME_RE = /^(?!\.+$)[a-zA-Z0-9._-]{1,64}$/;

/** The rule in words, for messages. */
export const NAME_RULE = 'use 1 to 64 characters from a-z, A-Z, 0-9, ".", "_" and "-", not only dots';

/** True when `name` follows the naming rule. */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && NAME_RE.test(name);
}

/** Returns `name` when it follows the naming rule; throws InvalidError naming the kind otherwise. */
export function checkName(kind: string, name: unknown): string {
  if (!isValidName(name)) throw new InvalidError(`invalid ${kind} name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return name;
}
