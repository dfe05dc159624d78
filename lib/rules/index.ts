/** Public API of lib/rules: rule TOML loading, the rule model, and compiling a rule's EQL query. */
export {
  ALERT_SUPPRESSION_UNITS, isDeprecated, isEqlRule, MATURITIES, RULE_TYPES, ruleDocumentSchema, ruleSchemas, SEVERITIES,
  type AlertSuppression, type EqlRule, type EsqlRule, type InvestigateProvider, type InvestigateTransform,
  type MachineLearningRule, type Maturity, type NewTermsRule, type OsqueryTransform, type QueryRule, type Rule,
  type RuleDocument, type RuleMetadata, type RuleTransform, type RuleType, type Severity, type Threat,
  type ThreatMatchRule, type ThreatSubtechnique, type ThreatTactic, type ThreatTechnique, type ThresholdRule,
} from "./model.js";
export { findRuleFiles, loadRuleFile, loadRules, parseRule, type LoadedRule, type RuleCacheLookup, type RuleLoadResult } from "./load.js";
export { buildRuleCacheSync, readRuleCache, ruleTextDigest, RULES_CACHE_FILE, type CachedRule, type RuleParseCache } from "./parse-cache.js";
export {
  classifyHeading, GUIDE_LIMITS, normalizeHeading, parseGuide, type Guide, type GuideBlock, type GuideListItem, type GuideSection,
  type GuideSectionKind, type Inline,
} from "./guide.js";
export {
  checkRule, compileRule, locateQueryError, type EqlRuleQuery, type LoadedEqlRule, type RuleCheck,
} from "./compile.js";
export { decodeTomlString, locateQuery, type QueryLocation, type TomlStringStyle } from "./positions.js";
export {
  formatFieldPath, RuleError, RuleLoadError, RuleQueryError, type FieldPath, type RuleLoadErrorKind,
} from "./errors.js";
export {
  combineExceptions, compileEsWildcard, compileExceptionItem, compileExceptions, EXCEPTION_OPERATORS, exceptionSchemas,
  ExceptionLoadError, parseExceptionFile, type CompiledExceptionItem,
  type CompiledExceptions, type ExceptionEntry, type ExceptionItem, type ExceptionItemRef, type ExceptionList,
  type ExceptionLoadErrorKind, type ExceptionSchemas, type ExceptionSource, type LoadedExceptionItem, type LoadedExceptionList,
  type ParsedExceptionFile,
} from "./exceptions.js";
export {
  EXCEPTION_FILE_SUFFIXES, loadExceptionsForRules, referencedLists, ruleExceptionFiles, sharedDirs, type ExceptionsLoadOptions,
  type ExceptionsLoadResult,
} from "./exceptions-load.js";
