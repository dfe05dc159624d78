import { access } from "node:fs/promises";
import { checkRule, loadExceptionsForRules, loadRules, type LoadedRule, type RuleCacheLookup } from "../rules/index.js";
import { buildDetectionRule, type DetectionRule } from "./rule.js";
import { compileIndexScope } from "./scope.js";

export interface LoadedDetectionRules {
  readonly rules: DetectionRule[];
  /** One line per problem: a rule or exception file that failed, with its reason. */
  readonly problems: string[];
  /** Rules skipped: failed to load or compile, or of a type the stream cannot run yet. */
  readonly skipped: number;
  /** Given paths that do not exist. */
  readonly missingPaths: string[];
}

/**
 * Loads rule files or folders and everything that goes with them (exceptions next to the rules,
 * index scope, suppression) into stream-ready rules. A rule that fails to load or compile is
 * reported and skipped; it never stops the others.
 */
export async function loadDetectionRules(
  paths: readonly string[], options: { matchEventsWithoutDataStream?: boolean; cache?: RuleCacheLookup } = {},
): Promise<LoadedDetectionRules> {
  const missingPaths: string[] = [];
  for (const p of paths) {
    try {
      await access(p);
    } catch {
      missingPaths.push(p);
    }
  }
  const problems: string[] = [];
  let skipped = 0;
  const loaded: LoadedRule[] = [];
  const found = paths.filter((p) => !missingPaths.includes(p));
  for (const r of await loadRules(found, options.cache ? { cache: options.cache } : {})) {
    if (r.success) loaded.push(r.rule);
    else {
      skipped++;
      for (const e of r.errors) problems.push(e.message);
    }
  }
  const exceptions = await loadExceptionsForRules(loaded, { folders: paths });
  for (const e of exceptions.errors) problems.push(e.message);
  const rules: DetectionRule[] = [];
  for (const l of loaded) {
    const check = checkRule(l);
    if (check.status === "unsupported") {
      skipped++;
      continue;
    }
    if (check.status === "failed") {
      skipped++;
      for (const e of check.errors) problems.push(e.message);
      continue;
    }
    try {
      const compiled = exceptions.byRuleId.get(l.rule.rule_id);
      rules.push(buildDetectionRule(l.rule, check.compiled, {
        inScope: compileIndexScope(l.rule.index, { ...(options.matchEventsWithoutDataStream !== undefined ? { matchEventsWithoutDataStream: options.matchEventsWithoutDataStream } : {}) }),
        ...(compiled ? { exception: compiled.match } : {}),
      }));
    } catch (err) {
      skipped++;
      problems.push(`${l.file}: ${(err as Error).message}`);
    }
  }
  return { rules, problems, skipped, missingPaths };
}
