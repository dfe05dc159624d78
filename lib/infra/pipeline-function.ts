import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { ServicePrincipal, Role } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { BUNDLE_OPTIONS, copyFolderCommands, PROJECT_ROOT, ruleCacheCommands } from "./bundling.js";

export interface PipelineFunctionProps {
  /** The handler file (exports `handler`). */
  readonly entry: string;
  /** POWERTOOLS_SERVICE_NAME: the `service` dimension of the function's metrics and the `service` key of its logs. */
  readonly serviceName: string;
  /** POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricsNamespace: string;
  /** POWERTOOLS_LOG_LEVEL. @default "INFO" */
  readonly logLevel?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Function-specific environment (lib/infra/env.ts names); never a secret value. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** Repository folders copied next to the bundle (e.g. `rules`). @default [] */
  readonly bundledFolders?: readonly string[];
  /** Log retention of the function's own log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Of the log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The folder with package-lock.json that esbuild bundles from. @default the repository root */
  readonly projectRoot?: string;
  /** @default no description */
  readonly description?: string;
}

/** The props' defaults (STYLE.md: defaults from pure functions). */
export function pipelineFunctionDefaults(): Required<Pick<PipelineFunctionProps, "logLevel" | "memorySize" | "timeout" | "bundledFolders" | "logRetention" | "removalPolicy" | "projectRoot">> {
  return {
    logLevel: "INFO",
    memorySize: 256,
    timeout: Duration.seconds(30),
    bundledFolders: [],
    logRetention: 30 as RetentionDays, // RetentionDays.ONE_MONTH
    removalPolicy: RemovalPolicy.RETAIN,
    projectRoot: PROJECT_ROOT,
  };
}

/**
 * One Lambda function of the pipeline, configured the same way for all four:
 * NodejsFunction bundled by the local esbuild (no Docker), ESM, arm64, Node 24, the AWS SDK
 * bundled, Powertools environment, its own log group, and its own role that can write to that log
 * group and nothing else until the stack grants exactly what the function needs (no
 * AWSLambdaBasicExecutionRole: its logs:CreateLogGroup on `*` is more than a function with a
 * pre-created log group needs).
 */
export class PipelineFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const d = pipelineFunctionDefaults();
    const projectRoot = props.projectRoot ?? d.projectRoot;
    const folders = props.bundledFolders ?? d.bundledFolders;

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? d.logRetention,
      removalPolicy: props.removalPolicy ?? d.removalPolicy,
    });
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.serviceName} function: logs to its own log group plus the grants the stack adds`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, "Function", {
      entry: props.entry,
      handler: "handler",
      projectRoot,
      depsLockFilePath: path.join(projectRoot, "package-lock.json"),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? d.memorySize,
      timeout: props.timeout ?? d.timeout,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description !== undefined ? { description: props.description } : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? d.logLevel,
        ...(props.environment ?? {}),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_OPTIONS.target,
        minify: BUNDLE_OPTIONS.minify,
        sourceMap: BUNDLE_OPTIONS.sourcemap,
        sourcesContent: BUNDLE_OPTIONS.sourcesContent,
        mainFields: [...BUNDLE_OPTIONS.mainFields],
        banner: BUNDLE_OPTIONS.banner,
        bundleAwsSDK: true,
        externalModules: [],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            ...copyFolderCommands(folders, inputDir, outputDir, projectRoot),
            ...(folders.includes("rules") ? ruleCacheCommands(outputDir, projectRoot) : []),
          ],
        },
      },
    });
  }
}
