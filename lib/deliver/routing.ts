/**
 * Routing: which outputs (Slack, ticket queue) get an alert, decided by severity, risk score,
 * tags and rule ids. Configured as JSON in the ROUTING environment variable:
 *
 * ```json
 * {
 *   "routes": [
 *     { "name": "noisy rule: tickets only", "ruleIds": ["3e441bdb-..."], "outputs": ["ticket"] },
 *     { "name": "high and up", "minSeverity": "high", "outputs": ["slack", "ticket"] },
 *     { "tags": ["Tactic: Initial Access"], "minRiskScore": 47, "outputs": ["slack"] }
 *   ],
 *   "default": { "outputs": ["ticket"] }
 * }
 * ```
 *
 * The first route whose every condition holds decides (conditions left out always hold; `tags`
 * and `ruleIds` match any of their entries); no match takes `default`. First match, not a union,
 * so that a route can also take outputs away (`"outputs": []` mutes what it matches). Without a
 * configuration every alert goes to every output. Building-block alerts are never delivered,
 * whatever the configuration says: they exist to feed other rules, not analysts.
 */
import { z } from "zod";
import { SEVERITIES } from "../rules/model.js";
import type { TriageResult } from "../triage/result.js";

export const OUTPUTS = ["slack", "ticket"] as const;
export type Output = (typeof OUTPUTS)[number];

const OutputsSchema = z.array(z.enum(OUTPUTS)).refine((a) => new Set(a).size === a.length, "lists an output twice");

export const RouteSchema = z.object({
  /** For logs: which route decided. */
  name: z.string().min(1).optional(),
  outputs: OutputsSchema,
  minSeverity: z.enum(SEVERITIES).optional(),
  minRiskScore: z.number().min(0).max(100).optional(),
  /** Any of these rule tags (exact, case-sensitive, as in the rule: "Tactic: Initial Access"). */
  tags: z.array(z.string().min(1)).min(1).optional(),
  ruleIds: z.array(z.string().min(1)).min(1).optional(),
}).strict();

export const RoutingConfigSchema = z.object({
  routes: z.array(RouteSchema).default([]),
  default: z.object({ outputs: OutputsSchema }).strict().default({ outputs: [...OUTPUTS] }),
}).strict();

export type Route = z.infer<typeof RouteSchema>;
export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;

/** Every alert to every output. */
export const DEFAULT_ROUTING: RoutingConfig = { routes: [], default: { outputs: [...OUTPUTS] } };

export type RoutingParse =
  | { readonly success: true; readonly data: RoutingConfig }
  /** `error` names the field: `ROUTING routes[1].minSeverity: Invalid option: expected one of ...`. */
  | { readonly success: false; readonly error: string };

/** Parses the ROUTING text; unset or blank means DEFAULT_ROUTING. */
export function parseRoutingConfig(text: string | undefined, source = "ROUTING"): RoutingParse {
  if (text === undefined || text.trim() === "") return { success: true, data: DEFAULT_ROUTING };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { success: false, error: `${source}: not valid JSON (${(err as Error).message})` };
  }
  const r = RoutingConfigSchema.safeParse(json);
  if (r.success) return { success: true, data: r.data };
  const problems = r.error.issues.map((i) => `${source} ${formatPath(i.path) || "(top level)"}: ${i.message}`);
  return { success: false, error: problems.join("; ") };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out === "" ? "" : "."}${String(p)}`;
  return out;
}

export interface RouteDecision {
  readonly outputs: readonly Output[];
  /** The route that decided: its name or `routes[i]`, `default`, or `building_block`. */
  readonly by: string;
}

/** The outputs for one triaged alert. */
export function routeAlert(config: RoutingConfig, result: TriageResult): RouteDecision {
  const { rule } = result.alert;
  if (rule.building_block) return { outputs: [], by: "building_block" };
  const tags = new Set(result.rule.tags);
  for (const [i, route] of config.routes.entries()) {
    if (route.minSeverity !== undefined && severityRank(rule.severity) < severityRank(route.minSeverity)) continue;
    if (route.minRiskScore !== undefined && !(rule.risk_score >= route.minRiskScore)) continue;
    if (route.tags !== undefined && !route.tags.some((t) => tags.has(t))) continue;
    if (route.ruleIds !== undefined && !route.ruleIds.includes(rule.id)) continue;
    return { outputs: route.outputs, by: route.name ?? `routes[${i}]` };
  }
  return { outputs: config.default.outputs, by: "default" };
}

/** low = 0 ... critical = 3; anything else ranks below low, so a `minSeverity` never admits it. */
function severityRank(s: string): number {
  return (SEVERITIES as readonly string[]).indexOf(s.toLowerCase());
}
