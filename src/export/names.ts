/**
 * nodal names (1–64 characters of a-z, A-Z, 0-9, ".", "_", "-") as Kubernetes object names:
 * DNS-1123 labels, lowercase alphanumerics and "-", starting and ending alphanumeric, ≤ 63.
 */
import { UserError } from "../errors.js";

/** Longest DNS-1123 label. */
export const DNS_LABEL_MAX = 63;

/**
 * `name` as a DNS-1123 label: lowercase, `_` and `.` → `-`, trimmed of `-` at both ends, cut to
 * `max` characters. Names that a Service must carry (DNS-1035: a letter first) get `nodal-` in
 * front when they would start with a digit. Empty when nothing alphanumeric is left.
 */
export function dnsName(name: string, max = DNS_LABEL_MAX): string {
  let dns = name.toLowerCase().replace(/[_.]/g, "-").replace(/[^a-z0-9-]/g, "");
  dns = dns.replace(/^-+|-+$/g, "");
  if (/^[0-9]/.test(dns)) dns = `nodal-${dns}`;
  return dns.slice(0, max).replace(/-+$/, "");
}

/**
 * Hands out the Kubernetes names of one kind of thing (secrets, volumes, workloads), so that two
 * nodal names that map to one DNS name are an error naming both, not one object overwriting another.
 */
export class DnsNames {
  readonly #kind: string;
  readonly #max: number;
  readonly #byDns = new Map<string, string>();

  constructor(kind: string, max = DNS_LABEL_MAX) {
    this.#kind = kind;
    this.#max = max;
  }

  /** The DNS name of `name` (the same one every time it is asked). */
  of(name: string): string {
    const dns = dnsName(name, this.#max);
    if (!dns) {
      throw new UserError("E_INVALID_NAME", `${this.#kind} "${name}" has no Kubernetes name: nothing is left of it as a DNS-1123 label`, "rename it with at least one letter or digit");
    }
    const owner = this.#byDns.get(dns);
    if (owner !== undefined && owner !== name) {
      throw new UserError(
        "E_INVALID_NAME",
        `${this.#kind}s "${owner}" and "${name}" both map to the Kubernetes name "${dns}"`,
        `Kubernetes names are lowercase, with "-" for "_" and "." (at most ${this.#max} characters); rename one of them`,
      );
    }
    this.#byDns.set(dns, name);
    return dns;
  }
}
