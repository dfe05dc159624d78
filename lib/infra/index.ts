export { EqlStreamTriageStack, TABLE_ACTIONS, stackProblems, type EqlStreamTriageStackProps } from "./stack.js";
export { CONFIG_FILE_KEY, CONFIG_KEYS, ConfigError, ConfigSchema, configDefaults, loadConfig, type ConfigKey, type ConfigProblem, type LoadConfigOptions, type PipelineConfig } from "./config.js";
export { BUNDLE_OPTIONS, BUNDLED_FOLDERS, FUNCTION_NAMES, LAMBDA_TASK_ROOT, PROJECT_ROOT, copyFolderCommands, defaultEntry, type FunctionName } from "./bundling.js";
export { PipelineFunction, pipelineFunctionDefaults, type PipelineFunctionProps } from "./pipeline-function.js";
export { DETECT_METRICS, PipelineOperations, pipelineOperationsDefaults, type PipelineOperationsProps, type WatchedFunction, type WatchedQueue } from "./operations.js";
export { ENV, type EnvName } from "./env.js";
