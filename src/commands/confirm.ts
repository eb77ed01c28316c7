import { UserError } from "../errors.js";

/**
 * Guards a destructive command: passes with `--yes`, asks on a terminal, and refuses otherwise.
 * Without a TTY there is nobody to ask (CI, pipes, `nodal … < /dev/null`), so we never guess "yes".
 */
export async function confirmDelete(what: string, retry: string, yes: boolean): Promise<void> {
  if (yes) return;
  const hint = `pass --yes to delete without asking: \`${retry} --yes\``;
  if (!process.stdin.isTTY) {
    throw new UserError("E_NOT_CONFIRMED", `not deleting ${what}: confirmation needed and there is no terminal to ask on`, hint);
  }
  const { createInterface } = await import("node:readline/promises");
  // The question goes to stderr so that stdout stays clean for scripts.
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let answer = "";
  try {
    answer = await rl.question(`Delete ${what}? This cannot be undone. [y/N] `);
  } finally {
    rl.close();
  }
  if (!/^y(es)?$/i.test(answer.trim())) throw new UserError("E_NOT_CONFIRMED", `${what} was not deleted`, hint);
}
