/**
 * Reading rule TOML files into the validated model. Per-file results are values, never
 * exceptions: a file that cannot be read, parsed or validated becomes `{ success: false }` with
 * every problem found, and never stops the other files.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import type * as z from "zod";
import { type FieldPath, RuleLoadError } from "./errors.js";
import { ruleDocumentSchema, type Rule, type RuleMetadata, type RuleTransform } from "./model.js";

/** A rule file that loaded: the validated tables plus the source text (for error positions). */
export interface LoadedRule {
  /** The path as given or as found under a given folder (relative stays relative). */
  readonly file: string;
  /** The raw TOML text. */
  readonly text: string;
  readonly metadata: RuleMetadata;
  readonly rule: Rule;
  readonly transform: RuleTransform | undefined;
}

export type RuleLoadResult =
  | { readonly success: true; readonly rule: LoadedRule }
  | { readonly success: false; readonly file: string; readonly errors: readonly RuleLoadError[] };

/** Parses and validates one rule file's text. `file` is only used in results and messages. */
export function parseRule(text: string, file: string): RuleLoadResult {
  let raw: unknown;
  try {
    // "throw" rejects `__proto__`/`constructor` keys instead of keeping them on a plain object.
    raw = parseToml(text, { unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = `TOML syntax error: ${tomlReason(err)}`;
      return fail(file, [new RuleLoadError("toml", file, reason, { line: err.line, column: err.column }, { cause: err })]);
    }
    throw err;
  }
  const parsed = ruleDocumentSchema(raw).safeParse(raw);
  if (!parsed.success) {
    return fail(file, parsed.error.issues.map((issue) => schemaError(file, issue, raw)));
  }
  const { metadata, rule, transform } = parsed.data;
  return { success: true, rule: { file, text, metadata, rule, transform } };
}

/** What a cache of validated rule files (parse-cache.ts) offers the loader. */
export interface RuleCacheLookup {
  get(text: string): { readonly metadata: RuleMetadata; readonly rule: Rule; readonly transform: RuleTransform | undefined } | undefined;
}

/** Reads and parses one rule file; a file whose exact text is in `cache` skips parsing. */
export async function loadRuleFile(file: string, cache?: RuleCacheLookup): Promise<RuleLoadResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return fail(file, [ioError(file, err)]);
  }
  const cached = cache?.get(text);
  if (cached) return { success: true, rule: { file, text, metadata: cached.metadata, rule: cached.rule, transform: cached.transform } };
  return parseRule(text, file);
}

/**
 * Loads rule files and folders. A folder is walked recursively for `*.toml` files (in name
 * order; hidden entries and `node_modules` are skipped); a file is loaded whatever its name.
 * A file reached twice (given twice, or through a symlink) is loaded once. A `rule_id` seen in
 * an earlier file makes the later file fail with a `duplicate` error: detection state and
 * alert ids are keyed by rule id, so a rule set must not contain one twice.
 */
export async function loadRules(paths: string | readonly string[], options: { readonly cache?: RuleCacheLookup } = {}): Promise<RuleLoadResult[]> {
  const results: RuleLoadResult[] = [];
  const seenFiles = new Set<string>();
  const seenIds = new Map<string, string>();
  for (const given of typeof paths === "string" ? [paths] : paths) {
    const found = await findRuleFiles(given);
    if (!found.success) {
      results.push(found);
      continue;
    }
    for (const file of found.files) {
      const real = await realpath(file).catch(() => path.resolve(file));
      if (seenFiles.has(real)) continue;
      seenFiles.add(real);
      const result = await loadRuleFile(file, options.cache);
      if (result.success) {
        const id = result.rule.rule.rule_id;
        const first = seenIds.get(id);
        if (first !== undefined) {
          const reason = `duplicate rule_id "${id}" (already used by ${first})`;
          results.push(fail(file, [new RuleLoadError("duplicate", file, reason, { path: ["rule", "rule_id"] })]));
          continue;
        }
        seenIds.set(id, file);
      }
      results.push(result);
    }
  }
  return results;
}

type FindResult =
  | { readonly success: true; readonly files: readonly string[] }
  | { readonly success: false; readonly file: string; readonly errors: readonly RuleLoadError[] };

/** The rule files of a path: the path itself if it is a file, else the `*.toml` files under it. */
export async function findRuleFiles(given: string): Promise<FindResult> {
  let info;
  try {
    info = await stat(given);
  } catch (err) {
    return fail(given, [ioError(given, err)]);
  }
  if (!info.isDirectory()) return { success: true, files: [given] };
  try {
    return { success: true, files: ruleFilesUnder(given) };
  } catch (err) {
    return fail(given, [ioError(given, err)]);
  }
}

/**
 * The `*.toml` files under a folder, recursively, in name order; hidden entries and
 * `node_modules` are skipped, symlinks followed (each folder once, so a cycle ends). Synchronous:
 * it also serves the rule cache built in a bundling hook (parse-cache.ts), which the CDK calls
 * synchronously; rules are listed once per start. Throws on an I/O error.
 */
export function ruleFilesUnder(dir: string): string[] {
  const files: string[] = [];
  const visited = new Set<string>();
  const walk = (d: string): void => {
    const real = realpathSync(d);
    if (visited.has(real)) return; // a symlink cycle
    visited.add(real);
    const entries = readdirSync(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const full = path.join(d, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = statSync(full, { throwIfNoEntry: false });
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) walk(full);
      else if (isFile && entry.name.endsWith(".toml")) files.push(full);
    }
  };
  walk(dir);
  return files;
}

function fail(file: string, errors: readonly RuleLoadError[]): { success: false; file: string; errors: readonly RuleLoadError[] } {
  return { success: false, file, errors };
}

function ioError(file: string, err: unknown): RuleLoadError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === "ENOENT" ? "no such file or directory"
    : code === "EACCES" ? "permission denied"
    : code === "EISDIR" ? "is a directory"
    : `cannot read: ${err instanceof Error ? err.message : String(err)}`;
  return new RuleLoadError("io", file, reason, {}, { cause: err });
}

/** smol-toml's message is "Invalid TOML document: <reason>" followed by a code block. */
function tomlReason(err: TomlError): string {
  const first = err.message.split("\n", 1)[0] ?? err.message;
  return first.replace(/^Invalid TOML document: /, "");
}

// ---------------------------------------------------------------------------------------------
// zod issues -> `rule.risk_score: expected number, received string`

function schemaError(file: string, issue: z.core.$ZodIssue, root: unknown): RuleLoadError {
  const fieldPath: FieldPath = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
  return new RuleLoadError("schema", file, describeIssue(issue, valueAt(root, fieldPath)), { path: fieldPath });
}

function valueAt(root: unknown, fieldPath: FieldPath): unknown {
  let v = root;
  for (const key of fieldPath) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/** The name zod uses for a value's type, so that "expected X, received Y" compares like with like. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  if (typeof value === "object") return value.constructor?.name === "TomlDate" ? "date" : "object";
  return typeof value;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeName(value);
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = { int: "integer" };

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const missing = input === undefined;
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      if (missing) return `required field missing (expected ${expected})`;
      if (issue.expected === "int") return `expected an integer, received ${show(input)}`;
      return `expected ${expected}, received ${typeName(input)}`;
    }
    case "invalid_value": {
      const options = issue.values.map((v) => JSON.stringify(v)).join(", ");
      const expected = issue.values.length === 1 ? options : `one of ${options}`;
      return missing ? `required field missing (expected ${expected})` : `expected ${expected}, received ${show(input)}`;
    }
    case "invalid_union": {
      if (issue.discriminator !== undefined && "options" in issue && issue.options !== undefined) {
        const options = issue.options.map((v) => JSON.stringify(v)).join(", ");
        return missing ? `required field missing (expected one of ${options})` : `unknown value ${show(input)} (expected one of ${options})`;
      }
      const expected = new Set<string>();
      for (const branch of issue.errors) {
        const first = branch[0];
        if (first?.code === "invalid_type") expected.add(EXPECTED_NAMES[first.expected] ?? first.expected);
      }
      const list = expected.size > 0 ? [...expected].join(" or ") : "a different value";
      return missing ? `required field missing (expected ${list})` : `expected ${list}, received ${typeName(input)}`;
    }
    case "too_small":
    case "too_big": {
      if (issue.message.startsWith("expected")) return issue.message;
      const cmp = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      if (issue.origin === "array") return `expected ${cmp} ${bound} items, received ${Array.isArray(input) ? input.length : 0}`;
      if (issue.origin === "string") return `expected a string of length ${cmp} ${bound}, received ${show(input)}`;
      return `expected a number ${cmp} ${bound}, received ${show(input)}`;
    }
    case "invalid_format":
      return issue.message.startsWith("expected") ? `${issue.message}, received ${show(input)}` : issue.message;
    case "not_multiple_of":
    case "unrecognized_keys":
    case "invalid_key":
    case "invalid_element":
    case "custom":
      return issue.message;
  }
}
