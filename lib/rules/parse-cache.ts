/**
 * A cache of validated rule files, keyed by the SHA-256 of each file's text, written next to the
 * rules when a function is bundled (`<rules>/.rules-cache.json`) and read on a cold start.
 *
 * Parsing the TOML and validating it with the zod model costs 10-20 ms for the first rule of a
 * cold start (building and warming the schemas), and about a second for 1,024 rules. The bundled
 * rules cannot change after bundling, so their validated form is computed once, at synth. The
 * cache is only ever a shortcut: a file whose text has no entry (edited, added, or not cacheable)
 * is parsed and validated as without a cache, and a cache that cannot be read is ignored, with
 * the reason, so the worst a stale or broken cache can do is cost the time it was meant to save.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseRule, ruleFilesUnder } from "./load.js";
import type { Rule, RuleMetadata, RuleTransform } from "./model.js";

export const RULES_CACHE_FILE = ".rules-cache.json";
const VERSION = 1;

/** The validated tables of one rule file. */
export interface CachedRule {
  readonly metadata: RuleMetadata;
  readonly rule: Rule;
  readonly transform: RuleTransform | undefined;
}

export interface RuleParseCache {
  /** The validated tables of a file with exactly this text, if cached. */
  get(text: string): CachedRule | undefined;
  readonly size: number;
}

export function ruleTextDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The cache of a rule folder, as JSON: every `*.toml` file under `dir` (`ruleFilesUnder`, the
 * walk `findRuleFiles` makes) that loads. Synchronous, because the CDK calls bundling hooks synchronously.
 * A file whose validated form is not plain JSON (a TOML date-time value somewhere) is left out
 * and parsed at run time.
 */
export function buildRuleCacheSync(dir: string): { readonly json: string; readonly entries: number; readonly files: number } {
  const entries: Record<string, CachedRule> = {};
  const files = ruleFilesUnder(dir);
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const r = parseRule(text, file);
    if (!r.success) continue;
    const cached: CachedRule = { metadata: r.rule.metadata, rule: r.rule.rule, transform: r.rule.transform };
    if (isPlainJson(cached)) entries[ruleTextDigest(text)] = cached;
  }
  return { json: JSON.stringify({ version: VERSION, entries }), entries: Object.keys(entries).length, files: files.length };
}

/**
 * The cache in a rule folder, or null when there is none. A cache that exists but cannot be
 * used comes back as a problem to report, never as an error: the rules still load without it.
 */
export async function readRuleCache(dir: string): Promise<{ readonly cache: RuleParseCache | null; readonly problem: string | null }> {
  const file = path.join(dir, RULES_CACHE_FILE);
  if (!existsSync(file)) return { cache: null, problem: null };
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as { version?: unknown; entries?: unknown };
    if (parsed.version !== VERSION || parsed.entries === null || typeof parsed.entries !== "object" || Array.isArray(parsed.entries)) {
      return { cache: null, problem: `${file}: not a version ${VERSION} rule cache; rules are parsed without it` };
    }
    const entries = parsed.entries as Record<string, CachedRule>;
    return {
      cache: {
        get: (text) => {
          const digest = ruleTextDigest(text);
          return Object.hasOwn(entries, digest) ? entries[digest] : undefined;
        },
        size: Object.keys(entries).length,
      },
      problem: null,
    };
  } catch (err) {
    return { cache: null, problem: `${file}: ${(err as Error).message}; rules are parsed without it` };
  }
}

function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (v === undefined) return true; // dropped by JSON.stringify, as an absent optional is
  if (Array.isArray(v)) return v.every(isPlainJson);
  if (typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(v).every(isPlainJson);
}
