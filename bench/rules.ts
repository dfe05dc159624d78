/**
 * Rule inputs of the benchmark: the production EQL rule fixture, the seed rule, and the TOML texts
 * whose parse time is the yardstick for compile time. Everything is read from this repository;
 * nothing outside it is read at run time.
 */
import { gunzipSync } from "node:zlib";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { z } from "zod";

/** The repository root, so the benchmark finds its inputs from any working directory. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const DEFAULT_FIXTURE = join(ROOT, "test/fixtures/detection-rules/eql-rules.json");
export const SEED_RULE_FILE = join(ROOT, "rules/initial_access_execution_remote_via_msiexec.toml");
export const SEED_RULE_ID = "3e441bdb-596c-44fd-8628-2cfdf4516ada";

const FixtureRule = z.looseObject({
  path: z.string(),
  rule_id: z.string(),
  name: z.string(),
  query: z.string(),
  event_category_override: z.string().nullish(),
});
export type FixtureRule = z.infer<typeof FixtureRule>;

export class BenchInputError extends Error {
  override readonly name = "BenchInputError";
}

export function loadFixture(path: string): FixtureRule[] {
  const abs = resolve(path);
  if (!existsSync(abs)) {
    throw new BenchInputError(
      `rule fixture not found: ${path}\n` +
        "  It holds the 1,024 production EQL rules (path, rule_id, name, query, event_category_override).\n" +
        "  Create it, or point the benchmark at another copy with --rules PATH.",
    );
  }
  // Either the bare array of rules or `{ source, counts, rules: [...] }`.
  const schema = z.union([z.array(FixtureRule), z.looseObject({ rules: z.array(FixtureRule) }).transform((x) => x.rules)]);
  const parsed = schema.safeParse(JSON.parse(readFileSync(abs, "utf8")));
  if (!parsed.success) throw new BenchInputError(`rule fixture ${path} has an unexpected shape: ${parsed.error.message}`);
  return parsed.data;
}

export interface SeedRule {
  readonly query: string;
  readonly categoryField: string | null;
  readonly source: string;
}

/** The seed rule from `rules/` when it is there, else its entry in the fixture. */
export function loadSeedRule(fixture: readonly FixtureRule[]): SeedRule {
  if (existsSync(SEED_RULE_FILE)) {
    const doc = parseToml(readFileSync(SEED_RULE_FILE, "utf8"));
    const rule = doc["rule"] as { query?: unknown; event_category_override?: unknown } | undefined;
    if (rule && typeof rule.query === "string") {
      const cat = typeof rule.event_category_override === "string" ? rule.event_category_override : null;
      return { query: rule.query, categoryField: cat, source: SEED_RULE_FILE };
    }
  }
  const entry = fixture.find((r) => r.rule_id === SEED_RULE_ID);
  if (!entry) throw new BenchInputError(`seed rule ${SEED_RULE_ID} is neither in ${SEED_RULE_FILE} nor in the fixture`);
  return { query: entry.query, categoryField: entry.event_category_override ?? null, source: `fixture entry ${SEED_RULE_ID}` };
}

export interface TomlCorpus {
  readonly texts: string[];
  readonly bytes: number;
  /** What was parsed, for results.json. */
  readonly description: string;
  /** True when `texts` are the rule files themselves rather than re-serialised documents. */
  readonly original: boolean;
}

/** Where a rule's own TOML file would be next to the fixture: `<dir>/toml/<path>` or `<dir>/<path>`. */
function ruleFile(dir: string, rule: FixtureRule): string | null {
  for (const f of [join(dir, "toml", rule.path), join(dir, rule.path)]) if (existsSync(f)) return f;
  return null;
}

/**
 * The TOML text of every fixture rule. When every rule's own file sits next to the fixture, those
 * are used: that is the honest comparison. Otherwise each rule is re-serialised in memory with
 * smol-toml from the fields the fixture has (everything but `path`, as one `[rule]` table). That
 * is much smaller than a real rule file (no `note`, `setup`, `[metadata]` or threat tables), so the
 * parse side is cheaper and the ratio is stricter than the "same files".
 */
export function tomlCorpus(fixture: readonly FixtureRule[], fixturePath: string): TomlCorpus {
  const dir = dirname(resolve(fixturePath));
  // The whole rule files, extracted next to the fixture (scripts/extract-rule-fixture.mjs).
  const archive = join(dir, "eql-rule-files.json.gz");
  if (existsSync(archive)) {
    const byPath = new Map((JSON.parse(gunzipSync(readFileSync(archive)).toString("utf8")) as { path: string; text: string }[]).map((f) => [f.path, f.text]));
    const texts = fixture.map((r) => byPath.get(r.path));
    if (texts.every((t) => t !== undefined)) {
      return { texts: texts as string[], bytes: byteSum(texts as string[]), original: true, description: `the ${texts.length} original rule TOML files (${archive.split("/").slice(-2).join("/")})` };
    }
  }
  const files = fixture.map((r) => ruleFile(dir, r));
  if (files.every((f) => f !== null)) {
    const texts = files.map((f) => readFileSync(f!, "utf8"));
    return { texts, bytes: byteSum(texts), original: true, description: `the ${texts.length} original rule TOML files next to the fixture` };
  }
  const fieldsSeen = new Set<string>();
  const texts = fixture.map((r) => {
    const rule: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === "path" || v === null || v === undefined) continue;
      rule[k] = v;
      fieldsSeen.add(k);
    }
    return stringifyToml({ rule });
  });
  return {
    texts, bytes: byteSum(texts), original: false,
    description:
      `${texts.length} TOML documents re-serialised in memory with smol-toml stringify from the fixture, ` +
      `one [rule] table each with the fields ${[...fieldsSeen].sort().join(", ")} ` +
      `(the fixture has no note/description/setup/threat, so these are far smaller than the rule files)`,
  };
}

export interface WholeFiles {
  readonly rules: FixtureRule[];
  readonly texts: string[];
  readonly bytes: number;
}

/** The fixture rules whose whole upstream TOML file is also in the fixture folder. */
export function wholeRuleFiles(fixture: readonly FixtureRule[], fixturePath: string): WholeFiles {
  const dir = dirname(resolve(fixturePath));
  const rules: FixtureRule[] = [];
  const texts: string[] = [];
  for (const r of fixture) {
    const f = ruleFile(dir, r);
    if (f === null) continue;
    rules.push(r);
    texts.push(readFileSync(f, "utf8"));
  }
  return { rules, texts, bytes: byteSum(texts) };
}

function byteSum(texts: readonly string[]): number {
  let n = 0;
  for (const t of texts) n += Buffer.byteLength(t);
  return n;
}
