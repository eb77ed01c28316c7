/** Options of a `Retries` policy; delays in seconds, as in Modal. */
export interface RetriesParams {
  maxRetries: number;
  backoffCoefficient?: number;
  initialDelay?: number;
  maxDelay?: number;
}

/**
 * How a failed run is retried: `maxRetries` more attempts, the n-th after
 * `min(initialDelay * backoffCoefficient^(n-1), maxDelay)` seconds.
 *
 * @example
 * app.function({ retries: new Retries({ maxRetries: 3, initialDelay: 2 }) }, job);
 */
export class Retries {
  readonly maxRetries: number;
  readonly backoffCoefficient: number;
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly problem: string | undefined;

  constructor(params: RetriesParams) {
    this.maxRetries = params?.maxRetries;
    this.backoffCoefficient = params?.backoffCoefficient ?? 2;
    this.initialDelay = params?.initialDelay ?? 1;
    this.maxDelay = params?.maxDelay ?? 60;
    this.problem = Retries.check(this);
  }

  /** `retries: n` in function options: n retries, 1 s apart. */
  static fromCount(n: number): Retries {
    return new Retries({ maxRetries: n, backoffCoefficient: 1, initialDelay: 1, maxDelay: 1 });
  }

  private static check(r: Retries): string | undefined {
    if (!Number.isInteger(r.maxRetries) || r.maxRetries < 0 || r.maxRetries > 10) {
      return `retries: maxRetries must be an integer from 0 to 10, got ${r.maxRetries}`;
    }
    if (!(r.backoffCoefficient >= 1 && r.backoffCoefficient <= 10)) {
      return `retries: backoffCoefficient must be from 1 to 10, got ${r.backoffCoefficient}`;
    }
    if (!(r.initialDelay >= 0 && r.initialDelay <= 60)) {
      return `retries: initialDelay must be from 0 to 60 seconds, got ${r.initialDelay}`;
    }
    if (!(r.maxDelay >= 1 && r.maxDelay <= 60)) {
      return `retries: maxDelay must be from 1 to 60 seconds, got ${r.maxDelay}`;
    }
    return undefined;
  }
}
