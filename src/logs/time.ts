/** `30m`, `2h`, `1d`, `45s` (ago) or an ISO-8601 time; undefined for anything else. */
export function parseTime(value: string, now = Date.now()): Date | undefined {
  const m = value.match(/^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/);
  if (m) return new Date(now - Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "s"]);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
