/**
 * A dotenv file's KEY=VALUE pairs. What it accepts, as the dotenv package does: blank lines and
 * `#` comments, `export KEY=…`, unquoted values (a ` #` starts a comment), and values in
 * single, double or back quotes that may span lines (a PEM key); in double quotes `\n`, `\r`,
 * `\t`, `\"` and `\\` are escapes. Unlike it, a line that is not KEY=VALUE is an error.
 */

/** A line that is not KEY=VALUE. Its message names the line number only: never its text. */
export class DotenvError extends Error {
  override name = "DotenvError";
  readonly line: number;
  constructor(line: number, what: string) {
    super(`line ${line} ${what}`);
    this.line = line;
  }
}

/** Names that work as environment variables in every shell: a letter or "_", then letters, digits, "_". */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

/** Parses dotenv text; throws `DotenvError` for a bad line, naming it by number only. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new DotenvError(lineNo, "is not KEY=VALUE");
    const key = line.slice(0, eq).trim().replace(/^export\s+/, "");
    if (!ENV_KEY.test(key)) throw new DotenvError(lineNo, `has an invalid key: use letters, digits and "_", not starting with a digit`);
    // From the raw line: a quoted value spanning lines keeps the spaces that end its first line.
    const rest = raw.slice(raw.indexOf("=") + 1).trimStart();
    const quote = rest[0];
    if (quote !== '"' && quote !== "'" && quote !== "`") {
      values[key] = rest.replace(/(^|\s+)#.*$/, "").trim();
      continue;
    }
    // A quoted value ends at the first unescaped closing quote, on this line or a later one.
    let body = rest.slice(1);
    let close = closingQuote(body, quote);
    while (close < 0 && i + 1 < lines.length) {
      body += "\n" + lines[++i]!;
      close = closingQuote(body, quote);
    }
    if (close < 0) throw new DotenvError(lineNo, `opens a ${quote} quote that is never closed`);
    const after = body.slice(close + 1).trim();
    if (after !== "" && !after.startsWith("#")) throw new DotenvError(i + 1, "has text after a closing quote");
    body = body.slice(0, close);
    values[key] = quote === '"' ? body.replace(/\\(.)/g, (m, c: string) => ESCAPES[c] ?? m) : body;
  }
  return values;
}

function closingQuote(body: string, quote: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === "\\" && quote === '"') j++;
    else if (body[j] === quote) return j;
  }
  return -1;
}
