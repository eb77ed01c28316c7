import type * as CronParser from "cron-parser";
import { lazy } from "../lazy.js";

const cronParser = lazy(() => require("cron-parser") as typeof CronParser);

/** Options of a `Cron` schedule. */
export interface CronParams {
  /** IANA time zone the expression is read in; default UTC, as in Modal. */
  timezone?: string;
}

/**
 * A cron schedule (5 fields, or 6 with seconds first), read in UTC unless `timezone` says otherwise.
 *
 * @example
 * app.function({ schedule: new Cron("0 * * * *") }, async () => { ... });
 */
export class Cron {
  readonly expression: string;
  readonly timezone: string;
  /** Why the expression is invalid; reported with the function's name when the app loads. */
  readonly problem: string | undefined;

  constructor(expression: string, params: CronParams = {}) {
    this.expression = expression;
    this.timezone = params.timezone ?? "UTC";
    this.problem = Cron.check(expression, this.timezone);
  }

  /** The first run strictly after `from`. */
  next(from: Date = new Date()): Date {
    const it = cronParser().CronExpressionParser.parse(this.expression, { currentDate: from, tz: this.timezone });
    return it.next().toDate();
  }

  toString(): string {
    return this.timezone === "UTC" ? `cron "${this.expression}"` : `cron "${this.expression}" (${this.timezone})`;
  }

  private static check(expression: string, tz: string): string | undefined {
    if (typeof expression !== "string") return `cron expression must be a string`;
    const fields = expression.trim().split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      return `invalid cron expression "${expression}": expected 5 fields (minute hour day month weekday) or 6 with seconds first, got ${fields}`;
    }
    try {
      cronParser().CronExpressionParser.parse(expression, { tz, strict: false });
      Intl.DateTimeFormat("en-US", { timeZone: tz });
    } catch (error) {
      return `invalid cron expression "${expression}": ${(error as Error).message}`;
    }
    return undefined;
  }
}

/** Options of a `Period` schedule; at least one must be set, the sum must be positive. */
export interface PeriodParams {
  seconds?: number;
  minutes?: number;
  hours?: number;
  days?: number;
}

/**
 * A fixed interval, counted from when the app starts (each deploy restarts it, as in Modal).
 *
 * @example
 * app.function({ schedule: new Period({ minutes: 5 }) }, poll);
 */
export class Period {
  readonly seconds: number;
  readonly problem: string | undefined;

  constructor(params: PeriodParams) {
    const { seconds = 0, minutes = 0, hours = 0, days = 0 } = params ?? {};
    const parts = [seconds, minutes, hours, days];
    this.seconds = seconds + minutes * 60 + hours * 3600 + days * 86400;
    this.problem =
      parts.some((p) => typeof p !== "number" || !Number.isFinite(p) || p < 0) || !(this.seconds > 0)
        ? `invalid Period: give seconds, minutes, hours or days as non-negative numbers adding up to more than 0`
        : undefined;
  }

  toString(): string {
    return `every ${this.seconds}s`;
  }
}

export type Schedule = Cron | Period;
