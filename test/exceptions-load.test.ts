/**
 * Loading exceptions next to the rules: per-rule sidecar files, shared lists referred to by
 * `exceptions_list`, and errors that never stop the other files.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadExceptionsForRules, loadRules, referencedLists, ruleExceptionFiles, sharedDirs, type LoadedRule } from "../lib/rules/index.js";
import { ruleToml } from "./fixtures/detection-rules/samples.js";
import { seedAttack } from "./helpers/seed-attack.js";

const FIXTURES = new URL("./fixtures/exceptions/", import.meta.url).pathname;
const SEED = new URL("../rules/initial_access_execution_remote_via_msiexec.toml", import.meta.url).pathname;
const SEED_ID = "3e441bdb-596c-44fd-8628-2cfdf4516ada";
const LISTS_RULE_ID = "00000000-0000-4000-8000-0000000000a1";
const LINUX_RULE_ID = "00000000-0000-4000-8000-0000000000a2";
const NOW = Date.parse("2026-06-01T00:00:00Z");

const exceptionsList = (...ids: string[]) =>
  ids.map((id) => `[[rule.exceptions_list]]\nid = "${id}"\nlist_id = "${id}"\nnamespace_type = "single"\ntype = "detection"\n`).join("\n");

let dir: string;

async function load(paths: string[]): Promise<LoadedRule[]> {
  const results = await loadRules(paths);
  return results.flatMap((r) => {
    if (!r.success) throw new Error(r.errors.map((e) => e.message).join("\n"));
    return [r.rule];
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "exceptions-load-"));
  await mkdir(path.join(dir, "windows"));
  await mkdir(path.join(dir, "linux"));
  // The seed rule with its own exceptions beside it.
  await copyFile(SEED, path.join(dir, "windows", "initial_access_execution_remote_via_msiexec.toml"));
  await copyFile(
    `${FIXTURES}initial_access_execution_remote_via_msiexec.exceptions.ndjson`,
    path.join(dir, "windows", "initial_access_execution_remote_via_msiexec.exceptions.ndjson"),
  );
  // A rule referring to two shared lists and one that does not exist.
  await writeFile(
    path.join(dir, "windows", "msiexec_child_with_lists.toml"),
    ruleToml({
      rule: { rule_id: `"${LISTS_RULE_ID}"`, name: '"msiexec child"' },
      query: "'''\nprocess where process.parent.name == \"msiexec.exe\"\n'''",
      after: `\n${exceptionsList("corp-software-deployment", "endpoint_list", "not-exported")}`,
    }),
  );
  // A rule whose own file has a broken record and an unsupported item.
  await writeFile(path.join(dir, "linux", "shell_rule.toml"), ruleToml({ rule: { rule_id: `"${LINUX_RULE_ID}"` } }));
  await writeFile(
    path.join(dir, "linux", "shell_rule.exceptions.json"),
    [
      JSON.stringify({ item_id: "ok", list_id: "linux-own", entries: [{ field: "user.name", operator: "included", type: "match", value: "ansible" }] }),
      "{oops",
      JSON.stringify({ item_id: "value-list", list_id: "linux-own", entries: [{ field: "source.ip", operator: "included", type: "list", list: { id: "bad-ips", type: "ip" } }] }),
    ].join("\n"),
  );
  // Shared lists in the rules folder.
  await copyFile(`${FIXTURES}corp-software-deployment.exceptions.json`, path.join(dir, "corp-software-deployment.exceptions.json"));
  await copyFile(`${FIXTURES}endpoint_list.exceptions.ndjson`, path.join(dir, "endpoint_list.exceptions.ndjson"));
  // A second copy of one shared item: reported as a duplicate.
  await writeFile(
    path.join(dir, "zz-duplicate.exceptions.ndjson"),
    `${JSON.stringify({ item_id: "ccmexec-installs", list_id: "corp-software-deployment", entries: [{ field: "user.name", operator: "included", type: "exists" }] })}\n`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadExceptionsForRules", () => {
  it("loads sidecar files and referenced shared lists, reporting what it skipped", async () => {
    const rules = await load([dir]);
    const { byRuleId, errors } = await loadExceptionsForRules(rules);
    const rel = (f: string) => path.relative(dir, f);

    expect(byRuleId.get(SEED_ID)?.items.map((r) => r.itemId)).toEqual([
      "pdq-deploy-runner",
      "ivanti-agent-updates",
      "sccm-service-accounts",
      "erp-migration-temporary",
    ]);
    expect(byRuleId.get(LISTS_RULE_ID)?.items.map((r) => [r.listId, r.itemId])).toEqual([
      ["corp-software-deployment", "ccmexec-installs"],
      ["corp-software-deployment", "chocolatey-packages"],
      ["corp-software-deployment", "linux-config-mgmt"],
      ["endpoint_list", "backup-agent-signed"],
      ["endpoint_list", "macos-mdm-hash"],
    ]);
    expect(byRuleId.get(LINUX_RULE_ID)?.items.map((r) => r.itemId)).toEqual(["ok"]);

    expect(errors.map((e) => [e.kind, rel(e.file), e.message.slice(e.file.length)])).toEqual([
      [
        "duplicate",
        "zz-duplicate.exceptions.ndjson",
        `:1:1: item "ccmexec-installs": duplicate item_id in list "corp-software-deployment" (already defined in ${path.join(dir, "corp-software-deployment.exceptions.json")} record 2); this copy is left out of the list`,
      ],
      ["json", "linux/shell_rule.exceptions.json", expect.stringMatching(/^:2:2: invalid JSON: \S/)],
      [
        "unsupported",
        "linux/shell_rule.exceptions.json",
        ':3:1: item "value-list": entries[0].type: value lists (type "list", list "bad-ips") are not supported: they live in Kibana\'s list indices; use match_any',
      ],
      [
        "missing_list",
        "windows/msiexec_child_with_lists.toml",
        ': list "not-exported": rule.exceptions_list: rule refers to exception list "not-exported", which no *.exceptions.json or *.exceptions.ndjson file defines; the rule runs without it',
      ],
    ]);
    expect(errors.find((e) => e.kind === "missing_list")?.ruleId).toBe(LISTS_RULE_ID);
  });

  it("the loaded predicates except events", async () => {
    const { byRuleId } = await loadExceptionsForRules(await load([dir]));
    const seed = byRuleId.get(SEED_ID)!;
    const attack = seedAttack();
    expect(attack.map((e) => seed.match(e, NOW))).toEqual([null, null, null]);
    const pdq = seedAttack({
      child: {
        executable: "C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\PDQDeployRunner-1.exe",
        code_signature: { subject_name: "PDQ.com Corporation", trusted: true },
      },
    })[2]!;
    expect(seed.match(pdq, NOW)).toBe("pdq-deploy-runner");

    const lists = byRuleId.get(LISTS_RULE_ID)!;
    const ccm = {
      host: { os: { type: "windows" } },
      user: { id: "S-1-5-18" },
      process: { name: "setup.exe", parent: { executable: "C:\\Windows\\CCM\\CcmExec.exe", name: "msiexec.exe" } },
    };
    expect(lists.match(ccm, NOW)).toBe("ccmexec-installs");
    expect(lists.match({ ...ccm, host: { os: { type: "linux" } } }, NOW)).toBe(null);
    const choco = {
      host: { os: { type: "windows" } },
      process: { executable: "C:\\ProgramData\\Chocolatey\\lib\\7zip\\tools\\install.exe", code_signature: { subject_name: "Igor Pavlov" } },
    };
    expect(lists.match(choco, NOW)).toBe("chocolatey-packages");
    expect(lists.match({ ...choco, process: { ...choco.process, code_signature: {} } }, NOW)).toBe(null);
  });

  it("searches extra folders given as options, and is empty without rules", async () => {
    const windowsOnly = await load([path.join(dir, "windows")]);
    // All rules in windows/: the shared lists one level up are found only through `folders`.
    const without = await loadExceptionsForRules(windowsOnly);
    expect(without.byRuleId.get(LISTS_RULE_ID)).toBeUndefined();
    expect(without.errors.filter((e) => e.kind === "missing_list").map((e) => e.listId)).toEqual(["corp-software-deployment", "endpoint_list", "not-exported"]);
    const withFolders = await loadExceptionsForRules(windowsOnly, { folders: [dir] });
    expect(withFolders.byRuleId.get(LISTS_RULE_ID)?.items).toHaveLength(5);
    const none = await loadExceptionsForRules([]);
    expect(none.byRuleId.size).toBe(0);
    expect(none.errors).toEqual([]);
  });

  it("reports an unreadable exceptions file and keeps going", async () => {
    const sub = await mkdtemp(path.join(tmpdir(), "exceptions-io-"));
    try {
      await writeFile(path.join(sub, "r.toml"), ruleToml({ rule: { rule_id: '"00000000-0000-4000-8000-0000000000b1"' } }));
      await mkdir(path.join(sub, "r.exceptions.json")); // a folder where a file should be
      await writeFile(
        path.join(sub, "r.exceptions.ndjson"),
        `${JSON.stringify({ item_id: "x", list_id: "r", entries: [{ field: "user.name", operator: "included", type: "match", value: "a" }] })}\n`,
      );
      const { byRuleId, errors } = await loadExceptionsForRules(await load([sub]));
      expect(errors.map((e) => [e.kind, path.basename(e.file), e.reason])).toEqual([["io", "r.exceptions.json", "is a directory"]]);
      expect(byRuleId.get("00000000-0000-4000-8000-0000000000b1")?.items.map((r) => r.itemId)).toEqual(["x"]);
    } finally {
      await rm(sub, { recursive: true, force: true });
    }
  });
});

describe("helpers", () => {
  it("ruleExceptionFiles: X.toml -> X.exceptions.json, X.exceptions.ndjson", () => {
    expect(ruleExceptionFiles(path.join("rules", "windows", "a_b.toml"))).toEqual([
      path.join("rules", "windows", "a_b.exceptions.json"),
      path.join("rules", "windows", "a_b.exceptions.ndjson"),
    ]);
  });

  it("sharedDirs: the rule folders and their parents up to the common folder", () => {
    const root = path.resolve("/r");
    expect(sharedDirs(["/r/a/x.toml", "/r/b/c/y.toml"])).toEqual([root, path.join(root, "a"), path.join(root, "b"), path.join(root, "b", "c")].sort());
    expect(sharedDirs(["/r/a/x.toml"])).toEqual([path.join(root, "a")]);
    expect(sharedDirs([])).toEqual([]);
  });

  it("referencedLists reads list_id, falls back to id, ignores junk", async () => {
    const [rule] = await load([SEED]);
    const withRefs = {
      ...rule!,
      rule: { ...rule!.rule, exceptions_list: [{ id: "a", list_id: "b" }, { id: "c" }, { list_id: "" }, "junk", { list_id: "b" }] },
    } as unknown as LoadedRule;
    expect(referencedLists(withRefs)).toEqual(["b", "c"]);
    expect(referencedLists(rule!)).toEqual([]);
  });
});
