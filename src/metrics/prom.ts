/**
 * The parts of prom-client the metrics use, each loaded from its own file on first use: its
 * index also loads the cluster aggregator, the push gateway (node:http, node:https) and the
 * default collectors, several MB in every supervisor that needs none of them.
 */
import type * as Prom from "prom-client";
import { lazy } from "../lazy.js";

export const promClient = lazy(() => ({
  Registry: require("prom-client/lib/registry") as typeof Prom.Registry,
  Counter: require("prom-client/lib/counter") as typeof Prom.Counter,
  Gauge: require("prom-client/lib/gauge") as typeof Prom.Gauge,
  Summary: require("prom-client/lib/summary") as typeof Prom.Summary,
}));
