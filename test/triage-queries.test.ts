// $investigate_N / $osquery_N placeholders resolved from the rules' real [[transform.*]] tables
// (test/fixtures/guides), with {{field}} templates filled from alert events: KQL and osquery SQL
// text, missing fields, hostile values, out-of-range and repeated placeholders.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseGuide, type Guide, type GuideBlock, type Inline, type RuleTransform } from "../lib/rules/index.js";
import { resolveGuideQueries } from "../lib/triage/queries.js";

interface FixtureRule {
  readonly path: string;
  readonly note: string;
  readonly transform: RuleTransform | null;
}

const fixture = JSON.parse(
  gunzipSync(readFileSync(new URL("./fixtures/guides/guides.json.gz", import.meta.url))).toString("utf8"),
) as { readonly rules: readonly FixtureRule[] };

function rule(path: string): FixtureRule {
  const found = fixture.rules.find((r) => r.path === path);
  if (found === undefined) throw new Error(`${path} is not in the fixture`);
  return found;
}

/** Every inline of a guide, in document order. */
function inlinesOf(guide: Guide): Inline[] {
  const out: Inline[] = [];
  const walk = (xs: readonly Inline[]): void => {
    for (const x of xs) {
      out.push(x);
      if (x.type === "emphasis" || x.type === "strong" || x.type === "link") walk(x.children);
    }
  };
  const blocks = (bs: readonly GuideBlock[]): void => {
    for (const b of bs) {
      if (b.type === "paragraph") walk(b.inline);
      else if (b.type === "list") for (const i of b.items) {
        walk(i.inline);
        blocks(i.children);
      }
    }
  };
  for (const s of guide.sections) blocks(s.blocks);
  return out;
}

const refsOf = (guide: Guide): number[] => inlinesOf(guide).flatMap((i) => (i.type === "query" ? [i.ref] : []));
const textOf = (guide: Guide): string => inlinesOf(guide).map((i) => (i.type === "text" ? i.value : "")).join(" ");

/** A guide of one paragraph per line, for synthetic transforms. */
const guideOf = (...lines: string[]): Guide => parseGuide(`## Possible investigation steps\n\n${lines.join("\n\n")}`);

const investigate = (...providers: { field: string; value: string; queryType?: string; excluded?: boolean }[][]): RuleTransform => ({
  investigate: [{
    label: "L",
    description: "D",
    providers: providers.map((g) => g.map((p) => ({ excluded: p.excluded ?? false, queryType: p.queryType ?? "phrase", valueType: "string", ...p }))),
  }],
});

const kql = (transform: RuleTransform, events: readonly Record<string, unknown>[]): { query: string; unresolved: readonly string[] } => {
  const { queries } = resolveGuideQueries(guideOf("$investigate_0"), transform, events);
  const [q] = queries;
  if (q === undefined) throw new Error("no query");
  return { query: q.query, unresolved: q.unresolved };
};

const sql = (query: string, events: readonly Record<string, unknown>[]): { query: string; unresolved: readonly string[] } => {
  const { queries } = resolveGuideQueries(guideOf("$osquery_0"), { osquery: [{ label: "Q", query }] }, events);
  const [q] = queries;
  if (q === undefined) throw new Error("no query");
  return { query: q.query, unresolved: q.unresolved };
};

// Independent literal strippers: what remains is the query text outside quoted values.
const outsideKqlStrings = (q: string): string => q.replace(/"(?:\\.|[^"\\])*"/g, '""');
const outsideSqlStrings = (q: string): string => q.replace(/'(?:''|[^'])*'/g, "''");

// ---------------------------------------------------------------------------------------------

describe("resolveGuideQueries with real transforms", () => {
  const AUDIO = rule("rules/windows/collection_posh_audio_capture.toml");
  const event = {
    "@timestamp": "2026-11-20T09:12:00.000Z",
    host: { id: "host-1", name: "WIN-1" },
    powershell: { file: { script_block_id: "sb-42" } },
    process: { pid: 4242 },
    user: { id: "S-1-5-21-1001" },
  };

  it("turns $investigate_N into Timeline KQL with the alert's values, in the order the guide uses them", () => {
    const { guide, queries, unmatched } = resolveGuideQueries(parseGuide(AUDIO.note), AUDIO.transform ?? undefined, [event]);
    expect(unmatched).toEqual([]);
    expect(queries).toEqual([
      {
        placeholder: "$investigate_0", language: "kql", label: "Script block fragments for the same script", description: null,
        query: 'powershell.file.script_block_id : "sb-42" and host.id : "host-1"', unresolved: [], timeRange: { from: "now-1h", to: "now" },
      },
      {
        placeholder: "$investigate_1", language: "kql", label: "Process events for the PowerShell instance", description: null,
        query: 'process.pid : "4242" and host.id : "host-1" and event.category : "process"', unresolved: [], timeRange: { from: "now-1h", to: "now" },
      },
      {
        placeholder: "$investigate_2", language: "kql", label: "Alerts associated with the user", description: null,
        query: 'event.kind : "signal" and user.id : "S-1-5-21-1001"', unresolved: [], timeRange: { from: "now-48h/h", to: "now" },
      },
      {
        placeholder: "$investigate_3", language: "kql", label: "Alerts associated with the host", description: null,
        query: 'event.kind : "signal" and host.id : "host-1"', unresolved: [], timeRange: { from: "now-48h/h", to: "now" },
      },
    ]);
    expect(refsOf(guide)).toEqual([0, 1, 2, 3]);
    expect(textOf(guide)).not.toContain("$investigate_");
    // The placeholder ends a step's text: "... activity. $investigate_2".
    const step = inlinesOf(guide).findIndex((i) => i.type === "query" && i.ref === 2);
    expect(inlinesOf(guide)[step - 1]).toEqual({ type: "text", value: " to find repeated collection, execution, or defense-evasion activity. " });
  });

  it("leaves a template without a value as {{field}} and lists it", () => {
    const { queries } = resolveGuideQueries(parseGuide(AUDIO.note), AUDIO.transform ?? undefined, [{ host: { id: "host-1" } }]);
    expect(queries.map((q) => [q.query, q.unresolved])).toEqual([
      ['powershell.file.script_block_id : "{{powershell.file.script_block_id}}" and host.id : "host-1"', ["powershell.file.script_block_id"]],
      ['process.pid : "{{process.pid}}" and host.id : "host-1" and event.category : "process"', ["process.pid"]],
      ['event.kind : "signal" and user.id : "{{user.id}}"', ["user.id"]],
      ['event.kind : "signal" and host.id : "host-1"', []],
    ]);
  });

  it("writes several provider groups as an OR of parenthesized AND groups, with the description", () => {
    const rmm = rule("rules/windows/command_and_control_new_terms_rmm_signer.toml");
    const { queries } = resolveGuideQueries(parseGuide(rmm.note), rmm.transform ?? undefined, [
      { process: { code_signature: { subject_name: "AnyDesk Software GmbH" }, hash: { sha256: "ab12" } } },
    ]);
    const spread = queries.find((q) => q.placeholder === "$investigate_4");
    expect(spread?.query).toBe(
      '(process.code_signature.subject_name : "AnyDesk Software GmbH" and event.category : "process" and event.type : "start") or ' +
        '(process.hash.sha256 : "ab12" and event.category : "process" and event.type : "start")',
    );
    expect(spread?.description).toBe("Search the 24-hour investigation window for process starts that share the matched signer or executable hash. Widen the Timeline range to look further back.");
  });

  it("turns $osquery_N into osquery SQL: bare templates become quoted literals, templates in literals are escaped", () => {
    const insmod = rule("rules/linux/persistence_insmod_kernel_module_load.toml");
    const { guide, queries, unmatched } = resolveGuideQueries(parseGuide(insmod.note), insmod.transform ?? undefined, [{ user: { name: "o'brien" } }]);
    // The note numbers its six queries 1..6; N is 0-based, so $osquery_6 has no entry.
    expect(unmatched).toEqual(["$osquery_6"]);
    expect(textOf(guide)).toContain("$osquery_6");
    expect(queries.map((q) => [q.placeholder, q.language, q.query])).toEqual([
      ["$osquery_1", "osquery", "SELECT pid, username, name FROM processes p JOIN users u ON u.uid = p.uid ORDER BY username"],
      ["$osquery_2", "osquery", "SELECT pid, address, port, socket, protocol, path FROM listening_ports"],
      ["$osquery_3", "osquery", "SELECT pid, family, remote_address, remote_port, socket, state FROM process_open_sockets"],
      ["$osquery_4", "osquery", "SELECT * FROM users WHERE username = 'o''brien'"],
      ["$osquery_5", "osquery", "SELECT * FROM logged_in_users WHERE user = 'o''brien'"],
    ]);
    expect(queries.every((q) => q.description === null && q.timeRange === undefined)).toBe(true);

    const systemd = rule("rules/linux/persistence_systemd_service_creation.toml");
    const listing = resolveGuideQueries(parseGuide(systemd.note), systemd.transform ?? undefined, [{ "user.name": "o'brien" }])
      .queries.find((q) => q.placeholder === "$osquery_1");
    expect(listing?.query).toContain("path LIKE\n'/home/o''brien/.config/systemd/user/%' OR path LIKE '/home/o''brien/.local/share/systemd/user/%'");
    expect(listing?.query.endsWith("'/usr/lib/systemd/user/%')")).toBe(true);
    expect(listing?.unresolved).toEqual([]);

    // A JSON number stands bare; the same id as a string is a quoted literal (SQLite compares it numerically).
    const web = rule("rules/linux/persistence_webserver_suspicious_child_execution.toml");
    const uid = (v: unknown): string | undefined => resolveGuideQueries(parseGuide(web.note), web.transform ?? undefined, [{ process: { user: { id: v } } }])
      .queries.find((q) => q.placeholder === "$osquery_3")?.query;
    expect(uid(33)).toBe("SELECT name, cmdline, parent, path, uid FROM processes WHERE uid = 33");
    expect(uid("33")).toBe("SELECT name, cmdline, parent, path, uid FROM processes WHERE uid = '33'");
    expect(uid(null)).toBe("SELECT name, cmdline, parent, path, uid FROM processes WHERE uid = {{process.user.id}}");
  });

  it("refers to one query from a placeholder used twice, and leaves an unknown one as text", () => {
    const dns = rule("rules/windows/command_and_control_dns_susp_tld.toml");
    const { guide, queries } = resolveGuideQueries(parseGuide(dns.note), dns.transform ?? undefined, []);
    expect(queries.map((q) => q.placeholder)).toEqual(["$investigate_2", "$investigate_0", "$investigate_1"]);
    expect(refsOf(guide)).toEqual([0, 0, 1, 2]);

    const pbpaste = rule("rules/macos/credential_access_high_volume_of_pbpaste.toml");
    const res = resolveGuideQueries(parseGuide(pbpaste.note), pbpaste.transform ?? undefined, []);
    // Two entries, and the note uses $investigate_1 and $investigate_2 (numbered from 1).
    expect(res.unmatched).toEqual(["$investigate_2"]);
    expect(res.queries.map((q) => q.placeholder)).toEqual(["$investigate_1"]);
    expect(textOf(res.guide)).toContain("$investigate_2");
  });

  it("changes nothing for a rule without transforms", () => {
    const seed = rule("rules/windows/initial_access_execution_remote_via_msiexec.toml");
    const guide = parseGuide(seed.note);
    expect(seed.transform).toBeNull();
    expect(resolveGuideQueries(guide, undefined, [event])).toEqual({ guide, queries: [], unmatched: [] });
  });
});

describe("resolveGuideQueries over every guide with placeholders", () => {
  const withPlaceholders = fixture.rules.filter((r) => /\$(?:investigate|osquery)_\d/.test(r.note));
  const templateFields = new Set<string>();
  for (const r of withPlaceholders) {
    const texts = [
      ...(r.transform?.investigate ?? []).flatMap((i) => i.providers.flat().map((p) => p.value)),
      ...(r.transform?.osquery ?? []).map((o) => o.query),
    ];
    for (const t of texts) for (const m of t.matchAll(/\{\{([^}]+)\}\}/g)) templateFields.add(m[1]!.trim());
  }

  it("resolves every in-range placeholder of the corpus; only two are out of range", () => {
    // 169 notes with $investigate_N and 91 with $osquery_N, 6 with both.
    expect(withPlaceholders).toHaveLength(254);
    const unmatched: string[] = [];
    let queries = 0;
    for (const r of withPlaceholders) {
      const res = resolveGuideQueries(parseGuide(r.note), r.transform ?? undefined, []);
      unmatched.push(...res.unmatched.map((u) => `${r.path} ${u}`));
      queries += res.queries.length;
      const refs = refsOf(res.guide);
      expect(refs.every((ref) => ref >= 0 && ref < res.queries.length)).toBe(true);
      expect(new Set(refs).size).toBe(res.queries.length);
      // No events: every template stays and is reported.
      for (const q of res.queries) {
        const left = [...q.query.matchAll(/\{\{([^}]+)\}\}/g)].map((m) => m[1]!.trim());
        expect(new Set(q.unresolved)).toEqual(new Set(left));
      }
    }
    expect(unmatched).toEqual([
      "rules/linux/persistence_insmod_kernel_module_load.toml $osquery_6",
      "rules/macos/credential_access_high_volume_of_pbpaste.toml $investigate_2",
    ]);
    expect(queries).toBeGreaterThan(600);
  });

  it("keeps hostile values inside their literals in every query of the corpus", () => {
    const hostile = `x\\" or 1=1 or "' OR 1=1; DROP TABLE users; --\\`;
    // Literal dotted keys, which the lookup reads like nested objects.
    const events = [Object.fromEntries([...templateFields].map((f) => [f, hostile]))];
    let checked = 0;
    for (const r of withPlaceholders) {
      const { queries } = resolveGuideQueries(parseGuide(r.note), r.transform ?? undefined, events);
      for (const q of queries) {
        expect(q.unresolved).toEqual([]);
        const outside = q.language === "kql" ? outsideKqlStrings(q.query) : outsideSqlStrings(q.query);
        expect(outside, `${r.path} ${q.placeholder}: ${q.query}`).not.toMatch(/1=1|DROP/);
        if (q.query !== outside) checked++;
      }
    }
    expect(checked).toBeGreaterThan(400);
  });
});

// ---------------------------------------------------------------------------------------------

describe("KQL from providers", () => {
  it("supports exists, excluded, phrases, range and treats unknown types as phrase", () => {
    expect(kql(investigate([
      { field: "process.parent.name", value: "", queryType: "exists" },
      { field: "user.name", value: "SYSTEM", excluded: true },
      { field: "event.code", value: '["4624", 4625]', queryType: "phrases" },
      { field: "event.duration", value: '{"gte": 10, "lt": "20"}', queryType: "range", excluded: true },
      { field: "host.os.type", value: "windows", queryType: "match_phrase_prefix" },
    ]), []).query).toBe(
      'process.parent.name : * and not user.name : "SYSTEM" and event.code : ("4624" or "4625") and ' +
        'not (event.duration >= "10" and event.duration < "20") and host.os.type : "windows"',
    );
    // Unparseable JSON falls back to a phrase of the raw value.
    expect(kql(investigate([{ field: "a", value: "[oops", queryType: "phrases" }]), []).query).toBe('a : "[oops"');
    expect(kql(investigate([{ field: "a", value: "nope", queryType: "range" }]), []).query).toBe('a : "nope"');
    // One-condition groups need no parentheses; empty groups are ignored.
    expect(kql(investigate([{ field: "a", value: "1" }], [], [{ field: "b", value: "2" }, { field: "c", value: "3" }]), []).query)
      .toBe('a : "1" or (b : "2" and c : "3")');
    expect(kql(investigate(), []).query).toBe("");
  });

  it("fills templates inside a value and escapes the whole value", () => {
    const t = investigate([{ field: "process.command_line", value: 'pre {{process.name}} "{{process.args}}" {{ host.name }}' }]);
    const r = kql(t, [{ process: { name: 'a\\b"c', args: ["first", "second"] }, host: { name: "tab\there\nnl" } }]);
    expect(r.query).toBe('process.command_line : "pre a\\\\b\\"c \\"first\\" tab\\there\\nnl"');
    expect(r.unresolved).toEqual([]);
  });

  it("escapes field names and keeps a hostile value inside its quotes", () => {
    const hostile = 'x" or host.id : * or "';
    const r = kql(investigate([{ field: "weird field:(x)", value: "{{host.id}}" }]), [{ host: { id: hostile } }]);
    expect(r.query).toBe('weird\\ field\\:\\(x\\) : "x\\" or host.id : * or \\""');
    expect(outsideKqlStrings(r.query)).toBe('weird\\ field\\:\\(x\\) : ""');
    const slash = kql(investigate([{ field: "a", value: "{{v}}" }]), [{ v: "ends with backslash\\" }]);
    expect(slash.query).toBe('a : "ends with backslash\\\\"');
    expect(outsideKqlStrings(slash.query)).toBe('a : ""');
  });
});

describe("template values from the alert's events", () => {
  const t = investigate([{ field: "host.id", value: "{{host.id}}" }]);

  it("takes the first event with the field, in event order, skipping missing-event stages", () => {
    expect(kql(t, [{ missing: true, host: { id: "ghost" } }, { user: { id: "u" } }, { host: { id: "second" } }, { host: { id: "third" } }]).query)
      .toBe('host.id : "second"');
    expect(kql(t, [{ "host.id": "dotted" }]).query).toBe('host.id : "dotted"');
    expect(kql(t, [{ host: { "id": ["first", "second"] } }]).query).toBe('host.id : "first"');
    expect(kql(t, [{ host: { id: true } }]).query).toBe('host.id : "true"');
  });

  it("treats null, empty, object, non-finite and control-character values as missing", () => {
    for (const id of [null, "", {}, { nested: "x" }, [], [{}], Number.NaN, "nul\u0000byte", "esc\u001b[31m"]) {
      const r = kql(t, [{ host: { id } }]);
      expect(r, JSON.stringify(id)).toEqual({ query: 'host.id : "{{host.id}}"', unresolved: ["host.id"] });
    }
    // An unusable value in an earlier event does not hide a good one later.
    expect(kql(t, [{ host: { id: "" } }, { host: { id: "ok" } }]).query).toBe('host.id : "ok"');
  });

  it("reads own properties only: __proto__ and constructor are not values", () => {
    const p = investigate([{ field: "a", value: "{{__proto__}} {{constructor}} {{toString}}" }]);
    const event = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(kql(p, [event, {}])).toEqual({ query: 'a : "{{__proto__}} {{constructor}} {{toString}}"', unresolved: ["__proto__", "constructor", "toString"] });
  });
});

describe("osquery SQL templates", () => {
  const ev = [{ user: { name: "x' OR '1'='1" }, n: 7 }];

  it("quotes bare templates and escapes templates in literals", () => {
    expect(sql("SELECT * FROM users WHERE username = {{user.name}}", ev).query).toBe("SELECT * FROM users WHERE username = 'x'' OR ''1''=''1'");
    expect(sql("SELECT * FROM file WHERE path LIKE '/home/{{user.name}}/%'", ev).query).toBe("SELECT * FROM file WHERE path LIKE '/home/x'' OR ''1''=''1/%'");
    expect(sql("SELECT {{n}}, '{{n}}'", ev).query).toBe("SELECT 7, '7'");
    for (const q of [sql("SELECT * FROM users WHERE username = {{user.name}}", ev).query, sql("SELECT 'a''{{user.name}}'", ev).query]) {
      expect(outsideSqlStrings(q)).not.toContain("OR");
    }
  });

  it("follows quotes, escaped quotes and comments, and leaves templates in identifiers and comments alone", () => {
    const r = sql(
      "SELECT 'it''s {{user.name}}', \"col {{user.name}}\", [b {{n}}], `c {{n}}` -- {{user.name}}\nFROM t /* {{n}} */ WHERE x = {{user.name}}",
      ev,
    );
    expect(r.query).toBe(
      "SELECT 'it''s x'' OR ''1''=''1', \"col {{user.name}}\", [b {{n}}], `c {{n}}` -- {{user.name}}\nFROM t /* {{n}} */ WHERE x = 'x'' OR ''1''=''1'",
    );
    expect(r.unresolved).toEqual(["user.name", "n"]);
  });
});

describe("placeholders in guide text", () => {
  const transform: RuleTransform = { investigate: [{ label: "A", providers: [[{ field: "a", excluded: false, queryType: "phrase", value: "1", valueType: "string" }]] }] };

  it("are found inside emphasis and links, never in code, and only in canonical form", () => {
    const guide = guideOf("**see $investigate_0** and [$investigate_0](https://x.example/) but `$investigate_0`", "$investigate_00 $investigate_0x $investigate $investigate_12345678901234567890 $osquery_0.");
    const { guide: out, queries, unmatched } = resolveGuideQueries(guide, transform, []);
    expect(queries).toHaveLength(1);
    expect(out.sections[0]!.blocks).toEqual([
      {
        type: "paragraph",
        inline: [
          { type: "strong", children: [{ type: "text", value: "see " }, { type: "query", ref: 0 }] },
          { type: "text", value: " and " },
          { type: "link", url: "https://x.example/", children: [{ type: "query", ref: 0 }] },
          { type: "text", value: " but " },
          { type: "code", value: "$investigate_0" },
        ],
      },
      { type: "paragraph", inline: [{ type: "text", value: "$investigate_00 $investigate_0x $investigate $investigate_12345678901234567890 $osquery_0." }] },
    ]);
    expect(unmatched).toEqual(["$osquery_0"]);
  });

  it("does not change the guide it is given", () => {
    const guide = guideOf("step $investigate_0");
    const before = JSON.stringify(guide);
    const { guide: out } = resolveGuideQueries(guide, transform, []);
    expect(JSON.stringify(guide)).toBe(before);
    expect(out.sections[0]!.blocks[0]).toEqual({ type: "paragraph", inline: [{ type: "text", value: "step " }, { type: "query", ref: 0 }] });
  });
});
