// C0 controls but tab and newline, DEL, and the C1 controls (U+0080–U+009F: U+009B is a
// one-byte CSI).
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const SEQUENCE = /\x1b\[[0-9;:]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * App output made safe to print on a terminal: control characters and escape sequences are
 * shown as `\xNN` text, so a line cannot move the cursor, clear the screen, retitle the window
 * or hide what follows. SGR sequences (`ESC [ … m`: colours, bold) are kept, and so are tab
 * and newline (only nodal's own lines hold one: app output is split at newlines). Escaping
 * the ESC (or C1) character alone is enough: what followed it is then plain text.
 */
export function escapeTerminal(line: string): string {
  // Fast path: most lines hold no control character at all.
  if (!UNSAFE.test(line)) return line;
  return line.replace(SEQUENCE, (m) => (m.length > 1 ? m : `\\x${m.charCodeAt(0).toString(16).padStart(2, "0")}`));
}
