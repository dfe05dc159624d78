/**
 * The Elastic detection rule model: a zod 4 schema of the TOML files of elastic/detection-rules
 * and the types inferred from it.
 *
 * Choices:
 * - Required are the fields that Elastic's own rule schema requires of every rule and that all
 *   2,192 corpus files carry: `[metadata]` creation_date, updated_date, maturity, and `[rule]`
 *   rule_id, name, description, type, severity, risk_score, author, license. Everything else is
 *   optional, because rule types differ (a machine_learning rule has no query or language, an
 *   ES|QL rule no index).
 * - What a rule type needs is checked per type (`rule.type` is the discriminator): an eql rule
 *   must have `language = "eql"` and a non-empty query, a threshold rule a `threshold` table, ...
 * - Every table is a "loose" object: known keys are typed and validated, unknown keys are kept
 *   as they are (Elastic adds fields between releases; we must not lose or reject them).
 * - Optional lists that downstream code iterates (`threat`, `tags`, `references`,
 *   `false_positives`) default to `[]`; optional scalars stay `undefined` when absent, because
 *   absence means something (no `interval` = Kibana's 5m default, no `timestamp_override` = use
 *   `@timestamp`), and defaults belong to the code that applies them.
 * - `from` and `interval` are validated as the forms the whole corpus uses (`now-9m`, `5m`),
 *   since the streaming engine turns them into windows.
 * - The schemas are built on first use, and a rule file is validated against its own type's
 *   schema: building all of them took 10-20 ms of every cold start, and a detect container only
 *   ever meets EQL rules. `ruleSchemas()` builds and returns them all.
 */
import * as z from "zod";

export const RULE_TYPES = ["eql", "query", "threshold", "esql", "machine_learning", "new_terms", "threat_match"] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Maturity levels of elastic/detection-rules. */
export const MATURITIES = ["development", "experimental", "beta", "production", "deprecated"] as const;
export type Maturity = (typeof MATURITIES)[number];

export const ALERT_SUPPRESSION_UNITS = ["s", "m", "h"] as const;

/** A value built on its first use. */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

const common = once(() => {
  const text = z.string().min(1, "expected a non-empty string");
  const strings = z.array(z.string());
  const datePattern = /^\d{4}\/\d{2}\/\d{2}$/;
  const date = z.string().regex(datePattern, 'expected a date like "2023/09/28"');

  // [metadata]
  const RuleMetadataSchema = z.looseObject({
    creation_date: date,
    updated_date: date,
    maturity: z.enum(MATURITIES),
    /** Integration package(s) the rule needs, e.g. `["endpoint"]`; a single string in a few files. */
    integration: z.union([z.string(), strings]).optional(),
    min_stack_version: z.string().optional(),
    min_stack_comments: z.string().optional(),
    deprecation_date: date.optional(),
  });

  // MITRE ATT&CK mapping ([[rule.threat]])
  const mitreEntry = { id: text, name: text, reference: z.string() };
  const ThreatSubtechniqueSchema = z.looseObject(mitreEntry);
  const ThreatTechniqueSchema = z.looseObject({
    ...mitreEntry,
    subtechnique: z.array(ThreatSubtechniqueSchema).optional(),
  });
  const ThreatTacticSchema = z.looseObject(mitreEntry);
  const ThreatSchema = z.looseObject({
    framework: text,
    tactic: ThreatTacticSchema,
    technique: z.array(ThreatTechniqueSchema).optional(),
  });

  // Alert suppression and other [rule.*] tables
  const AlertSuppressionSchema = z.looseObject({
    group_by: z.array(text).min(1, "expected at least one field"),
    /** Absent: suppress per rule execution (in a stream: per `interval`, default 5m). */
    duration: z
      .looseObject({ value: z.number().int().positive(), unit: z.enum(ALERT_SUPPRESSION_UNITS) })
      .optional(),
    missing_fields_strategy: z.enum(["suppress", "doNotSuppress"]).optional(),
  });
  const InvestigationFieldsSchema = z.looseObject({ field_names: z.array(text) });
  const anyTable = z.looseObject({});

  // [rule]: what every type has
  const RuleBaseSchema = z.looseObject({
    rule_id: text,
    name: text,
    description: text,
    severity: z.enum(SEVERITIES),
    risk_score: z.number().int().min(0).max(100),
    author: strings,
    license: text,
    index: z.array(text).optional(),
    /** Look-back of each run, `now-<n><s|m|h|d>`. */
    from: z.string().regex(/^now-\d+[smhd]$/, 'expected a look-back like "now-9m"').optional(),
    /** Schedule, `<n><s|m|h|d>`; Kibana's default is 5m. */
    interval: z.string().regex(/^\d+[smhd]$/, 'expected an interval like "5m"').optional(),
    max_signals: z.number().int().positive().optional(),
    threat: z.array(ThreatSchema).default([]),
    note: z.string().optional(),
    setup: z.string().optional(),
    timestamp_override: text.optional(),
    event_category_override: text.optional(),
    alert_suppression: AlertSuppressionSchema.optional(),
    /** `"default"` on building-block rules, whose alerts are stored but not delivered. */
    building_block_type: text.optional(),
    tags: strings.default([]),
    references: strings.default([]),
    false_positives: strings.default([]),
    investigation_fields: InvestigationFieldsSchema.optional(),
    rule_name_override: text.optional(),
    timeline_id: z.string().optional(),
    timeline_title: z.string().optional(),
    enabled: z.boolean().optional(),
    severity_mapping: z.array(anyTable).optional(),
    risk_score_mapping: z.array(anyTable).optional(),
    exceptions_list: z.array(anyTable).optional(),
    filters: z.array(anyTable).optional(),
  });
  const kueryOrLucene = z.enum(["kuery", "lucene"]);

  // [transform]: Kibana markdown plugins that a note refers to as $investigate_N / $osquery_N
  const InvestigateProviderSchema = z.looseObject({
    field: text,
    excluded: z.boolean(),
    queryType: text,
    /** May contain `{{field.name}}` templates filled from the alert. */
    value: z.string(),
    valueType: text,
  });
  const InvestigateTransformSchema = z.looseObject({
    label: z.string(),
    description: z.string().optional(),
    /** OR of AND-groups of field conditions. */
    providers: z.array(z.array(InvestigateProviderSchema)),
    relativeFrom: z.string().optional(),
    relativeTo: z.string().optional(),
  });
  const OsqueryTransformSchema = z.looseObject({
    label: z.string(),
    /** osquery SQL; may contain `{{field.name}}` templates. */
    query: text,
    ecs_mapping: z.record(z.string(), z.unknown()).optional(),
  });
  const RuleTransformSchema = z.looseObject({
    investigate: z.array(InvestigateTransformSchema).optional(),
    osquery: z.array(OsqueryTransformSchema).optional(),
  });

  return {
    text, anyTable, kueryOrLucene, RuleMetadataSchema, ThreatSubtechniqueSchema, ThreatTechniqueSchema, ThreatTacticSchema,
    ThreatSchema, AlertSuppressionSchema, InvestigationFieldsSchema, RuleBaseSchema, InvestigateProviderSchema,
    InvestigateTransformSchema, OsqueryTransformSchema, RuleTransformSchema,
  };
});

const thresholdSchema = once(() => z.looseObject({
  field: z.union([z.string(), z.array(z.string())]),
  value: z.number().int().min(1),
  cardinality: z.array(z.looseObject({ field: common().text, value: z.number().int() })).optional(),
}));

const newTermsSchema = once(() => z.looseObject({
  field: common().text,
  value: z.array(common().text).min(1, "expected at least one field"),
  history_window_start: z.array(z.looseObject({ field: common().text, value: common().text })).optional(),
}));

/** [rule], one schema per type. */
const typeSchemas = {
  eql: once(() => common().RuleBaseSchema.extend({
    type: z.literal("eql"),
    language: z.literal("eql"),
    query: common().text,
  })),
  query: once(() => common().RuleBaseSchema.extend({
    type: z.literal("query"),
    language: common().kueryOrLucene,
    query: z.string(),
  })),
  threshold: once(() => common().RuleBaseSchema.extend({
    type: z.literal("threshold"),
    language: common().kueryOrLucene,
    query: z.string(),
    threshold: thresholdSchema(),
  })),
  esql: once(() => common().RuleBaseSchema.extend({
    type: z.literal("esql"),
    language: z.literal("esql"),
    query: common().text,
  })),
  machine_learning: once(() => common().RuleBaseSchema.extend({
    type: z.literal("machine_learning"),
    machine_learning_job_id: z.union([common().text, z.array(common().text).min(1)]),
    anomaly_threshold: z.number().min(0).max(100),
  })),
  new_terms: once(() => common().RuleBaseSchema.extend({
    type: z.literal("new_terms"),
    language: common().kueryOrLucene,
    query: z.string(),
    new_terms: newTermsSchema(),
  })),
  threat_match: once(() => {
    const { text, anyTable, kueryOrLucene } = common();
    return common().RuleBaseSchema.extend({
      type: z.literal("threat_match"),
      language: kueryOrLucene,
      query: z.string(),
      threat_index: z.array(text).min(1),
      threat_mapping: z.array(z.looseObject({ entries: z.array(anyTable) })).min(1),
      threat_query: z.string().optional(),
      threat_language: kueryOrLucene.optional(),
      threat_indicator_path: z.string().optional(),
      threat_filters: z.array(anyTable).optional(),
    });
  }),
} satisfies Record<RuleType, () => z.ZodType>;

type Out<F extends () => z.ZodType> = z.output<ReturnType<F>>;

export type RuleMetadata = z.output<ReturnType<typeof common>["RuleMetadataSchema"]>;
export type Threat = z.output<ReturnType<typeof common>["ThreatSchema"]>;
export type ThreatTactic = z.output<ReturnType<typeof common>["ThreatTacticSchema"]>;
export type ThreatTechnique = z.output<ReturnType<typeof common>["ThreatTechniqueSchema"]>;
export type ThreatSubtechnique = z.output<ReturnType<typeof common>["ThreatSubtechniqueSchema"]>;
export type AlertSuppression = z.output<ReturnType<typeof common>["AlertSuppressionSchema"]>;
export type EqlRule = Out<typeof typeSchemas.eql>;
export type QueryRule = Out<typeof typeSchemas.query>;
export type ThresholdRule = Out<typeof typeSchemas.threshold>;
export type EsqlRule = Out<typeof typeSchemas.esql>;
export type MachineLearningRule = Out<typeof typeSchemas.machine_learning>;
export type NewTermsRule = Out<typeof typeSchemas.new_terms>;
export type ThreatMatchRule = Out<typeof typeSchemas.threat_match>;
export type Rule = EqlRule | QueryRule | ThresholdRule | EsqlRule | MachineLearningRule | NewTermsRule | ThreatMatchRule;
export type InvestigateProvider = z.output<ReturnType<typeof common>["InvestigateProviderSchema"]>;
export type InvestigateTransform = z.output<ReturnType<typeof common>["InvestigateTransformSchema"]>;
export type OsqueryTransform = z.output<ReturnType<typeof common>["OsqueryTransformSchema"]>;
export type RuleTransform = z.output<ReturnType<typeof common>["RuleTransformSchema"]>;

/** A whole rule file. */
export interface RuleDocument {
  readonly metadata: RuleMetadata;
  readonly rule: Rule;
  readonly transform?: RuleTransform | undefined;
}

const documentSchemas = new Map<RuleType, z.ZodType>();

/** Every schema of the model (all rule types, the discriminated union, the whole file). */
export const ruleSchemas = once(() => {
  const c = common();
  const RuleSchema = z.discriminatedUnion("type", [
    typeSchemas.eql(), typeSchemas.query(), typeSchemas.threshold(), typeSchemas.esql(),
    typeSchemas.machine_learning(), typeSchemas.new_terms(), typeSchemas.threat_match(),
  ]);
  return {
    ...c,
    ThresholdSchema: thresholdSchema(),
    NewTermsSchema: newTermsSchema(),
    EqlRuleSchema: typeSchemas.eql(),
    QueryRuleSchema: typeSchemas.query(),
    ThresholdRuleSchema: typeSchemas.threshold(),
    EsqlRuleSchema: typeSchemas.esql(),
    MachineLearningRuleSchema: typeSchemas.machine_learning(),
    NewTermsRuleSchema: typeSchemas.new_terms(),
    ThreatMatchRuleSchema: typeSchemas.threat_match(),
    RuleSchema,
    RuleDocumentSchema: documentOf(RuleSchema),
  };
});

/** A whole rule file whose `[rule]` table is `rule`. */
function documentOf<R extends z.ZodType>(rule: R) {
  const c = common();
  return z.looseObject({ metadata: c.RuleMetadataSchema, rule, transform: c.RuleTransformSchema.optional() });
}

/**
 * The schema a rule file is validated with: the file schema of its `rule.type` when that is a
 * known type (what the discriminated union would pick, with the same issues), else the whole
 * union, whose error names the expected types.
 */
export function ruleDocumentSchema(raw: unknown): z.ZodType<RuleDocument> {
  const rule = raw !== null && typeof raw === "object" ? (raw as { rule?: unknown }).rule : undefined;
  const type = rule !== null && typeof rule === "object" ? (rule as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !(RULE_TYPES as readonly string[]).includes(type)) {
    return ruleSchemas().RuleDocumentSchema as unknown as z.ZodType<RuleDocument>;
  }
  const t = type as RuleType;
  let schema = documentSchemas.get(t);
  if (!schema) {
    schema = documentOf(typeSchemas[t]());
    documentSchemas.set(t, schema);
  }
  return schema as unknown as z.ZodType<RuleDocument>;
}

export function isEqlRule(rule: Rule): rule is EqlRule {
  return rule.type === "eql";
}

/** Deprecated by maturity (the corpus also keeps deprecated rules under `rules/_deprecated/`). */
export function isDeprecated(metadata: RuleMetadata): boolean {
  return metadata.maturity === "deprecated";
}
