import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeTerminal } from "../../dist/modules/logs/terminal.js";

test("colour (SGR) sequences, tabs and plain text pass unchanged", () => {
  for (const line of ["plain text é€😀", "\x1b[31mred\x1b[0m and \x1b[1;38;5;208mbold orange\x1b[m", "a\tb", ""]) {
    assert.equal(escapeTerminal(line), line);
  }
});

test("other escape sequences and control characters are shown as text", () => {
  const cases = [
    ["\x1b[2J\x1b[Hcleared", "\\x1b[2J\\x1b[Hcleared"], // clear screen, cursor home
    ["\x1b]0;owned\x07title", "\\x1b]0;owned\\x07title"], // window title (OSC … BEL)
    ["\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;http://evil\\x1b\\link\\x1b]8;;\\x1b\\"], // hyperlink
    ["progress 10%\rdone", "progress 10%\\x0ddone"], // carriage return overwrites the line
    ["bell\x07 back\x08 nul\x00 del\x7f", "bell\\x07 back\\x08 nul\\x00 del\\x7f"],
    ["\u009b2Jc1 csi", "\\x9b2Jc1 csi"], // one-character CSI
    ["\x1b[31mred\x1b[0m\x1b[5A", "\x1b[31mred\x1b[0m\\x1b[5A"], // colour kept, cursor-up escaped
  ];
  for (const [line, want] of cases) assert.equal(escapeTerminal(line), want, JSON.stringify(line));
});
