/**
 * Loading exception lists from files next to the rules.
 *
 * - Per rule: for a rule file `X.toml`, every item in `X.exceptions.json` and
 *   `X.exceptions.ndjson` beside it applies to that rule, whatever its `list_id`.
 * - Shared lists: every `*.exceptions.json` / `*.exceptions.ndjson` file in the folders of the
 *   rules and in their parent folders up to the folder that holds all the rules (the rules
 *   folder) is indexed by `list_id`; a rule gets the items of each list its `exceptions_list`
 *   (`[{ id, list_id, namespace_type, type }]`) refers to. `list_id` is read, with `id` as a
 *   fallback; `namespace_type` is not distinguished (one folder of files is one Kibana space).
 *   A file is read once however many rules use it. `options.folders` adds folders to search.
 * - A list a rule refers to that no file defines is reported (`missing_list`): the rule runs
 *   without it. The nine corpus rules with `exceptions_list` all refer to Elastic Defend's
 *   `endpoint_list`, which lives in Kibana.
 * - An item id repeated within a list is reported (`duplicate`) and the later copy left out of
 *   the list (it still applies to the rule whose own file holds it).
 * - One bad file or item is reported and skipped; it never stops the others.
 *
 * Items are evaluated per rule in this order: the rule's own files (`.json` before `.ndjson`,
 * records in file order), then the referenced lists in `exceptions_list` order.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  combineExceptions, compileExceptionItem, ExceptionLoadError, parseExceptionFile, type CompiledExceptionItem,
  type CompiledExceptions, type LoadedExceptionList,
} from "./exceptions.js";
import type { LoadedRule } from "./load.js";

export const EXCEPTION_FILE_SUFFIXES = [".exceptions.json", ".exceptions.ndjson"] as const;

export interface ExceptionsLoadResult {
  /** Compiled exceptions per `rule_id`, for the rules that have at least one item. */
  readonly byRuleId: Map<string, CompiledExceptions>;
  readonly errors: ExceptionLoadError[];
}

/** The sidecar exception files of a rule file (they may not exist). */
export function ruleExceptionFiles(ruleFile: string): string[] {
  const dir = path.dirname(ruleFile);
  const base = path.basename(ruleFile);
  const stem = base.toLowerCase().endsWith(".toml") ? base.slice(0, -5) : base.replace(/\.[^.]*$/, "");
  return EXCEPTION_FILE_SUFFIXES.map((suffix) => path.join(dir, stem + suffix));
}

/**
 * A file name as a case- and normalization-insensitive file system would compare it, so that a
 * listing never rules out a sidecar that reading would find (the read still decides).
 */
function foldName(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

function isExceptionFile(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith(".") && EXCEPTION_FILE_SUFFIXES.some((s) => lower.endsWith(s) && lower.length > s.length);
}

interface LoadedFile {
  readonly file: string;
  readonly items: readonly CompiledExceptionItem[];
  readonly lists: readonly LoadedExceptionList[];
}

export interface ExceptionsLoadOptions {
  /**
   * More folders to search for shared lists, e.g. the rules folders given to `loadRules` (when
   * all rules sit in one subfolder, the common folder of the rule files is that subfolder).
   */
  readonly folders?: readonly string[];
}

/** Loads and compiles the exceptions of the given rules. Never throws for bad files. */
export async function loadExceptionsForRules(rules: readonly LoadedRule[], options: ExceptionsLoadOptions = {}): Promise<ExceptionsLoadResult> {
  const errors: ExceptionLoadError[] = [];
  const files = new Map<string, Promise<LoadedFile | null>>();
  const load = (file: string, mustExist: boolean): Promise<LoadedFile | null> => {
    const key = path.resolve(file);
    let pending = files.get(key);
    if (pending === undefined) {
      pending = loadFile(file, mustExist, errors);
      files.set(key, pending);
    }
    return pending;
  };

  // Shared lists: the rule folders and their parents up to the common folder. Found files are
  // named relative to the working folder when the rules were given that way, so that messages
  // stay in the caller's terms (and the cache finds sidecars under either name).
  const dirs = [...new Set([...sharedDirs(rules.map((r) => r.file)), ...(options.folders ?? []).map((f) => path.resolve(f))])].sort();
  const relative = rules.length > 0 && rules.every((r) => !path.isAbsolute(r.file));
  const display = (abs: string): string => (relative ? path.relative(process.cwd(), abs) || "." : abs);
  const sharedFiles: string[] = [];
  // What each listed folder holds (every entry, folded as below), so that a rule's sidecar that
  // is not there is not read at all: reading it fails, and the failed reads were most of the time
  // of this function (~0.2 s for 1,024 rules without exceptions). Every rule's folder is listed.
  const listed = new Map<string, Set<string>>();
  for (const dir of dirs.map(display)) {
    let names: string[];
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      listed.set(path.resolve(dir), new Set(entries.map((e) => foldName(e.name))));
      names = entries.filter((e) => !e.isDirectory() && isExceptionFile(e.name)).map((e) => e.name);
    } catch (err) {
      errors.push(new ExceptionLoadError("io", dir, `cannot list the folder: ${errMessage(err)}`, {}, { cause: err }));
      continue;
    }
    names.sort();
    for (const name of names) sharedFiles.push(path.join(dir, name));
  }
  const byList = new Map<string, CompiledExceptionItem[]>();
  const seenItems = new Map<string, string>();
  for (const file of sharedFiles) {
    const loaded = await load(file, true);
    if (loaded === null) continue;
    // A list object without items still defines its list (a rule referring to it is not missing it).
    for (const { list } of loaded.lists) if (!byList.has(list.list_id)) byList.set(list.list_id, []);
    for (const item of loaded.items) {
      const { listId, itemId } = item.ref;
      const key = JSON.stringify([listId, itemId]);
      const first = seenItems.get(key);
      if (first !== undefined) {
        const reason = `duplicate item_id in list ${JSON.stringify(listId)} (already defined in ${first}); this copy is left out of the list`;
        errors.push(
          new ExceptionLoadError("duplicate", file, reason, { line: item.ref.source.line, record: item.ref.source.record, itemId }),
        );
        continue;
      }
      seenItems.set(key, sourceLabel(item));
      let bucket = byList.get(listId);
      if (bucket === undefined) byList.set(listId, (bucket = []));
      bucket.push(item);
    }
  }

  const byRuleId = new Map<string, CompiledExceptions>();
  for (const rule of rules) {
    const ruleId = rule.rule.rule_id;
    const chosen: CompiledExceptionItem[] = [];
    const taken = new Set<CompiledExceptionItem>();
    const take = (item: CompiledExceptionItem): void => {
      if (taken.has(item)) return;
      taken.add(item);
      chosen.push(item);
    };
    for (const sidecar of ruleExceptionFiles(rule.file)) {
      if (listed.get(path.resolve(path.dirname(sidecar)))?.has(foldName(path.basename(sidecar))) === false) continue;
      const loaded = await load(sidecar, false);
      if (loaded !== null) for (const item of loaded.items) take(item);
    }
    for (const listId of referencedLists(rule)) {
      const items = byList.get(listId);
      if (items === undefined) {
        const reason = `rule refers to exception list ${JSON.stringify(listId)}, which no *.exceptions.json or *.exceptions.ndjson file defines; the rule runs without it`;
        errors.push(new ExceptionLoadError("missing_list", rule.file, reason, { listId, ruleId, path: ["rule", "exceptions_list"] }));
        continue;
      }
      for (const item of items) take(item);
    }
    if (chosen.length > 0) byRuleId.set(ruleId, combineExceptions(chosen));
  }
  return { byRuleId, errors };
}

/** `list_id` (else `id`) of each `[[rule.exceptions_list]]` table, read defensively. */
export function referencedLists(rule: LoadedRule): string[] {
  const refs = (rule.rule as { exceptions_list?: unknown }).exceptions_list;
  if (!Array.isArray(refs)) return [];
  const out: string[] = [];
  for (const ref of refs) {
    if (ref === null || typeof ref !== "object") continue;
    const r = ref as Record<string, unknown>;
    const id = typeof r["list_id"] === "string" && r["list_id"] !== "" ? r["list_id"] : typeof r["id"] === "string" && r["id"] !== "" ? r["id"] : null;
    if (id !== null && !out.includes(id)) out.push(id);
  }
  return out;
}

async function loadFile(file: string, mustExist: boolean, errors: ExceptionLoadError[]): Promise<LoadedFile | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOENT" && !mustExist) return null;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot read: ${errMessage(err)}`;
    errors.push(new ExceptionLoadError("io", file, reason, {}, { cause: err }));
    return null;
  }
  const parsed = parseExceptionFile(text, file);
  errors.push(...parsed.errors);
  const items: CompiledExceptionItem[] = [];
  for (const loaded of parsed.items) {
    const r = compileExceptionItem(loaded);
    if (r.success) items.push(r.data);
    else errors.push(r.error);
  }
  return { file, items, lists: parsed.lists };
}

/**
 * Folders searched for shared lists: each rule's folder and its parents up to the deepest folder
 * containing every rule file.
 */
export function sharedDirs(ruleFiles: readonly string[]): string[] {
  if (ruleFiles.length === 0) return [];
  const ruleDirs = [...new Set(ruleFiles.map((f) => path.resolve(path.dirname(f))))];
  let root = ruleDirs[0]!;
  for (const d of ruleDirs) {
    while (d !== root && !d.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
      const up = path.dirname(root);
      if (up === root) break;
      root = up;
    }
  }
  const out = new Set<string>();
  for (const d of ruleDirs) {
    let cur = d;
    for (;;) {
      out.add(cur);
      if (cur === root) break;
      const up = path.dirname(cur);
      if (up === cur) break;
      cur = up;
    }
  }
  return [...out].sort();
}

function sourceLabel(item: CompiledExceptionItem): string {
  const s = item.ref.source;
  return s.line !== undefined ? `${s.file}:${s.line}` : s.record !== undefined ? `${s.file} record ${s.record + 1}` : s.file;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
