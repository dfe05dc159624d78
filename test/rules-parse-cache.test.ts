/**
 * The validated-rules cache written at bundling: loading with it gives exactly what parsing
 * gives, a file changed since is parsed (and fails) as without it, and a broken cache is reported
 * and ignored.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { buildRuleCacheSync, loadRules, readRuleCache, RULES_CACHE_FILE, type RuleLoadResult } from "../lib/rules/index.js";
import { ruleToml, SAMPLE_DIR, SAMPLES } from "./fixtures/detection-rules/samples.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rule-cache-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Results without the parts that legitimately differ (none should). */
const comparable = (results: readonly RuleLoadResult[]) =>
  results.map((r) => (r.success ? { ok: r.rule.file, metadata: r.rule.metadata, rule: r.rule.rule, transform: r.rule.transform } : { failed: r.file, errors: r.errors.map((e) => e.message) }));

async function withCache(dir: string) {
  writeFileSync(path.join(dir, RULES_CACHE_FILE), buildRuleCacheSync(dir).json);
  const { cache, problem } = await readRuleCache(dir);
  expect(problem).toBeNull();
  return cache!;
}

describe("rule cache", () => {
  it("gives exactly the parsed rules for every upstream EQL rule file", async () => {
    const files = JSON.parse(gunzipSync(readFileSync(new URL("./fixtures/detection-rules/eql-rule-files.json.gz", import.meta.url))).toString("utf8")) as { path: string; text: string }[];
    const dir = folder(Object.fromEntries(files.map((f, i) => [`r${String(i).padStart(4, "0")}.toml`, f.text])));
    const plain = await loadRules(dir);
    const cache = await withCache(dir);
    expect(cache.size).toBe(plain.filter((r) => r.success).length);
    expect(cache.size).toBeGreaterThan(1000);
    expect(comparable(await loadRules(dir, { cache }))).toEqual(comparable(plain));
  });

  it("is keyed by content: an edited file is parsed again, and its errors are reported", async () => {
    const dir = folder({ "a.toml": ruleToml({ query: '"process where true"' }) });
    const cache = await withCache(dir);
    writeFileSync(path.join(dir, "a.toml"), ruleToml({ query: '"process where true"', rule: { severity: '"severe"' } }));
    const [r] = await loadRules(dir, { cache });
    expect(r!.success).toBe(false);
    if (!r!.success) expect(r!.errors.map((e) => e.message).join()).toContain("severity");
  });

  it("leaves out files that do not load, and files whose tables are not plain JSON", async () => {
    const dir = folder({
      "bad.toml": "not toml at all [",
      "dated.toml": ruleToml({ query: '"process where true"', after: "\n[rule.extra]\nwhen = 2026-11-29T10:00:00Z\n" }),
      "good.toml": ruleToml({ query: '"process where true"', rule: { rule_id: '"00000000-0000-4000-8000-000000000002"' } }),
    });
    const built = buildRuleCacheSync(dir);
    expect({ files: built.files, entries: built.entries }).toEqual({ files: 3, entries: 1 });
    const cache = await withCache(dir);
    expect(comparable(await loadRules(dir, { cache }))).toEqual(comparable(await loadRules(dir)));
  });

  it("a cache that cannot be read is reported and ignored; none at all is no problem", async () => {
    const seed = readFileSync(path.join(SAMPLE_DIR, SAMPLES.seed), "utf8");
    const dir = folder({ "seed.toml": seed });
    expect(await readRuleCache(dir)).toEqual({ cache: null, problem: null });
    writeFileSync(path.join(dir, RULES_CACHE_FILE), "{ truncated");
    const broken = await readRuleCache(dir);
    expect(broken.cache).toBeNull();
    expect(broken.problem).toMatch(/rules-cache\.json: .*parsed without it/);
    writeFileSync(path.join(dir, RULES_CACHE_FILE), JSON.stringify({ version: 99, entries: {} }));
    expect((await readRuleCache(dir)).problem).toMatch(/not a version 1 rule cache/);
    // the cache file is not taken for a rule file
    expect(readdirSync(dir).sort()).toEqual([RULES_CACHE_FILE, "seed.toml"]);
    expect((await loadRules(dir)).map((r) => r.success)).toEqual([true]);
  });

  it("the repository's rules folder caches its seed rule", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rule-cache-repo-"));
    dirs.push(dir);
    cpSync(new URL("../rules/", import.meta.url), dir, { recursive: true });
    expect(buildRuleCacheSync(dir)).toMatchObject({ files: 1, entries: 1 });
  });
});
