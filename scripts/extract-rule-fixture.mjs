#!/usr/bin/env node
// Regenerates test/fixtures/detection-rules/ from a copy of elastic/detection-rules:
//   eql-rules.json   every non-deprecated EQL rule (the fields the engine tests need)
//   LICENSE.txt, NOTICE.txt   the corpus licence files, which must travel with the data
//   toml/...         a few whole rule files, for the loader tests
//   eql-rule-files.json.gz   the whole TOML text of every rule in eql-rules.json ({path, text}),
//                    for the benchmark's compile-versus-TOML-parse figure on the real files
//
//   node scripts/extract-rule-fixture.mjs [CORPUS_DIR]
//
// CORPUS_DIR defaults to ../shared/corpus/detection-rules (relative to the repository root), a
// data-only copy of the repository at commit 14cf530f0d2177023092449cd9d9348b4a8884c2 with
// rules/, rules_building_block/, LICENSE.txt and NOTICE.txt. Output is deterministic (sorted by
// path), so rerunning on the same corpus gives no diff.
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parse } from "smol-toml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = path.resolve(process.argv[2] ?? path.join(root, "..", "shared", "corpus", "detection-rules"));
const outDir = path.join(root, "test", "fixtures", "detection-rules");
const COMMIT = "14cf530f0d2177023092449cd9d9348b4a8884c2";

/** Whole TOML files copied for the loader tests, and what each one covers. */
const SAMPLES = {
  "rules/windows/initial_access_execution_remote_via_msiexec.toml": "the seed rule: 3-stage sequence, per-stage by",
  "rules/cross-platform/execution_suspicious_java_netcon_childproc.toml": "sequence by host.id plus per-stage by",
  "rules/linux/credential_access_potential_successful_linux_ssh_bruteforce.toml": "a stage `with runs=`",
  "rules/integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml": "`until`, event_category_override",
  "rules/linux/execution_shell_via_meterpreter_linux.toml": "`sample by`",
  "rules/integrations/aws/persistence_rds_db_instance_password_modified.toml": "event_category_override = event.type",
  "rules/cross-platform/command_and_control_wget_activity_llm_triage.toml": "esql with alert_suppression and duration",
  "rules/cross-platform/execution_aws_ssm_sendcommand_with_command_parameters.toml": "new_terms with investigation_fields",
  "rules_building_block/command_and_control_certutil_network_connection.toml": "building block with [[transform.investigate]] and [[transform.osquery]]",
  "rules/integrations/gcp/ml_gcp_rare_method_by_city.toml": "machine_learning: no query, no language",
  "rules/network/discovery_potential_syn_port_scan_detected.toml": "threshold",
};

async function walk(dir) {
  const out = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (e.name.endsWith(".toml")) out.push(full);
  }
  return out;
}

const files = [...(await walk(path.join(corpus, "rules"))), ...(await walk(path.join(corpus, "rules_building_block")))]
  .map((f) => path.relative(corpus, f).split(path.sep).join("/"))
  .sort();

const typeCounts = { all: {}, non_deprecated: {} };
const rules = [];
const texts = [];
for (const rel of files) {
  const text = await readFile(path.join(corpus, rel), "utf8");
  const doc = parse(text);
  const { rule, metadata } = doc;
  const deprecated = metadata?.maturity === "deprecated" || rel.startsWith("rules/_deprecated/");
  typeCounts.all[rule.type] = (typeCounts.all[rule.type] ?? 0) + 1;
  if (deprecated) continue;
  typeCounts.non_deprecated[rule.type] = (typeCounts.non_deprecated[rule.type] ?? 0) + 1;
  if (rule.type !== "eql") continue;
  texts.push({ path: rel, text });
  rules.push({
    path: rel,
    rule_id: rule.rule_id,
    name: rule.name,
    type: rule.type,
    language: rule.language,
    query: rule.query,
    index: rule.index ?? null,
    event_category_override: rule.event_category_override ?? null,
    timestamp_override: rule.timestamp_override ?? null,
    building_block_type: rule.building_block_type ?? null,
  });
}

const sortObject = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
const fixture = {
  source: {
    repository: "https://github.com/elastic/detection-rules",
    commit: COMMIT,
    license: "Elastic License 2.0 (LICENSE.txt); MIT notices in NOTICE.txt",
    selection: "type = eql, maturity != deprecated, not under rules/_deprecated/",
  },
  counts: {
    files: files.length,
    eql_rules: rules.length,
    eql_rules_in_rules: rules.filter((r) => r.path.startsWith("rules/")).length,
    eql_rules_in_rules_building_block: rules.filter((r) => r.path.startsWith("rules_building_block/")).length,
    types_all: sortObject(typeCounts.all),
    types_non_deprecated: sortObject(typeCounts.non_deprecated),
  },
  rules,
};

await mkdir(outDir, { recursive: true });
await writeFile(path.join(outDir, "eql-rules.json"), `${JSON.stringify(fixture, null, 1)}\n`);
await writeFile(path.join(outDir, "eql-rule-files.json.gz"), gzipSync(JSON.stringify(texts), { level: 9 }));
await copyFile(path.join(corpus, "LICENSE.txt"), path.join(outDir, "LICENSE.txt"));
await copyFile(path.join(corpus, "NOTICE.txt"), path.join(outDir, "NOTICE.txt"));

const tomlDir = path.join(outDir, "toml");
await rm(tomlDir, { recursive: true, force: true });
for (const rel of Object.keys(SAMPLES)) {
  await mkdir(path.dirname(path.join(tomlDir, rel)), { recursive: true });
  await copyFile(path.join(corpus, rel), path.join(tomlDir, rel));
}

console.log(
  `extract-rule-fixture: ${rules.length} EQL rules (${fixture.counts.eql_rules_in_rules} in rules/, ` +
    `${fixture.counts.eql_rules_in_rules_building_block} in rules_building_block/) of ${files.length} files; ` +
    `${Object.keys(SAMPLES).length} sample TOML files`,
);
if (rules.length !== 1024) console.warn(`extract-rule-fixture: expected 1024 EQL rules at commit ${COMMIT}, got ${rules.length}`);
