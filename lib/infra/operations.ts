import { Duration } from "aws-cdk-lib";
import {
  Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TextWidget, TreatMissingData, type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/**
 * The pipeline metrics the functions emit (Powertools EMF), in the namespace from the
 * configuration with Powertools' default `service` dimension (POWERTOOLS_SERVICE_NAME, set per
 * function by the stack). Per-rule figures are in logs, not here (DESIGN.md "Metrics").
 */
export const DETECT_METRICS = [
  "EventsIn", "Rejected", "Candidates", "Alerts", "Suppressed", "Capped", "LateEvents", "PartitionOverflows", "AlertLagMs",
] as const;

export interface WatchedFunction {
  readonly label: string;
  readonly fn: IFunction;
  /** The function's POWERTOOLS_SERVICE_NAME. */
  readonly serviceName: string;
}

export interface WatchedQueue {
  readonly label: string;
  readonly queue: IQueue;
}

export interface PipelineOperationsProps {
  /** The dashboard's name. */
  readonly dashboardName: string;
  readonly metricsNamespace: string;
  readonly functions: readonly WatchedFunction[];
  /** Queues where a message means something failed (DLQs, the triage on-failure queue): alarm when any is not empty. */
  readonly failureQueues: readonly WatchedQueue[];
  readonly eventsQueue: IQueue;
  readonly rejectedQueue: IQueue;
  /** The function on the table's stream (its IteratorAge is the triage backlog). */
  readonly streamConsumer: IFunction;
  /** The detect function's service name (the `service` dimension of the pipeline metrics). */
  readonly detectServiceName: string;
  /** Other services that raise alerts (the sweep, for missing-event sequences). @default none */
  readonly otherAlertServices?: readonly string[];
  /** @default 100 */
  readonly rejectedAlarmThreshold?: number;
  /** @default Duration.minutes(5) */
  readonly eventsAgeAlarm?: Duration;
  /** @default Duration.minutes(2) */
  readonly iteratorAgeAlarm?: Duration;
  /** Alarm actions notify this topic. @default no actions */
  readonly alarmTopic?: ITopic;
}

export function pipelineOperationsDefaults(): Required<Pick<PipelineOperationsProps, "rejectedAlarmThreshold" | "eventsAgeAlarm" | "iteratorAgeAlarm">> {
  return { rejectedAlarmThreshold: 100, eventsAgeAlarm: Duration.minutes(5), iteratorAgeAlarm: Duration.minutes(2) };
}

/**
 * Alarms and the dashboard. Every alarm treats missing data as not breaching: an idle pipeline
 * (no invocations, empty queues publish no datapoints for some metrics) is healthy.
 */
export class PipelineOperations extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: PipelineOperationsProps) {
    super(scope, id);
    const d = pipelineOperationsDefaults();
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);

    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD): Alarm => {
      const a = new Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: comparison,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) a.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(a);
      return a;
    };

    // Something failed and is parked: a DLQ or the on-failure queue has a message.
    for (const q of props.failureQueues) {
      alarm(`${q.label}NotEmpty`, `${q.label} has messages: something failed and is waiting for inspection or redrive (docs/deploy.md "Redrive").`,
        q.queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: "Maximum" }), 1);
    }
    for (const f of props.functions) {
      alarm(`${f.label}Errors`, `${f.label} function errors (invocations that failed as a whole).`, f.fn.metricErrors({ period: fiveMinutes, statistic: "Sum" }), 1);
      alarm(`${f.label}Throttles`, `${f.label} function throttled (account or function concurrency exhausted).`, f.fn.metricThrottles({ period: fiveMinutes, statistic: "Sum" }), 1);
    }
    alarm("EventsQueueBacklog", "The oldest message on the events queue is getting old: detect is falling behind or failing.",
      props.eventsQueue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: "Maximum" }),
      (props.eventsAgeAlarm ?? d.eventsAgeAlarm).toSeconds());
    alarm("TriageIteratorAge", "Triage is behind on the table's stream: alerts wait for triage.",
      props.streamConsumer.metric("IteratorAge", { period: minute, statistic: "Maximum" }),
      (props.iteratorAgeAlarm ?? d.iteratorAgeAlarm).toMilliseconds());
    // Counted where rejections land (AWS/SQS), so the alarm does not depend on the handler's metrics.
    alarm("RejectedEvents", "Many events were rejected (undecodable, invalid, timestamp in the future): a forwarder or its format changed.",
      props.rejectedQueue.metricNumberOfMessagesSent({ period: fiveMinutes, statistic: "Sum" }),
      props.rejectedAlarmThreshold ?? d.rejectedAlarmThreshold, ComparisonOperator.GREATER_THAN_THRESHOLD);

    // ---- dashboard ----
    const pipeline = (name: string, statistic = "Sum", label?: string, service = props.detectServiceName): Metric =>
      new Metric({
        namespace: props.metricsNamespace, metricName: name, dimensionsMap: { service },
        statistic, period: fiveMinutes, ...(label !== undefined ? { label } : {}),
      });
    // One line per rejection reason (a closed set of codes, emitted as the Reason dimension).
    const rejectedByReason = new MathExpression({
      expression: `SEARCH('{${props.metricsNamespace},Reason,service} MetricName="RejectedByReason"', 'Sum', 300)`,
      label: "",
      period: fiveMinutes,
    });
    const perFunction = (f: (fn: IFunction) => IMetric): IMetric[] => props.functions.map((w) => withLabel(f(w.fn), w.label));

    this.dashboard = new Dashboard(this, "Dashboard", { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: "**EQL stream triage**: events queue -> detect -> alerts table -> triage (stream) -> Slack / ticket queue. " +
          "Pipeline metrics are from the detect function (namespace `" + props.metricsNamespace + "`); per-rule counts are in the logs.",
        width: 24, height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: "Events in / rejected / late", width: 8, left: [pipeline("EventsIn"), pipeline("Rejected"), pipeline("LateEvents")] }),
      new GraphWidget({
        title: "Candidates and alerts", width: 8, left: [pipeline("Candidates")],
        right: [
          pipeline("Alerts", "Sum", "Alerts (detect)"),
          ...(props.otherAlertServices ?? []).map((svc) => pipeline("Alerts", "Sum", `Alerts (${svc})`, svc)),
          pipeline("Suppressed"), pipeline("Capped"),
        ],
      }),
      new GraphWidget({
        title: "Alert lag (last event -> alert, ms)", width: 8,
        left: [pipeline("AlertLagMs", "p50", "p50"), pipeline("AlertLagMs", "p99", "p99"), pipeline("AlertLagMs", "Maximum", "max")],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Events queue", width: 8,
        left: [props.eventsQueue.metricApproximateNumberOfMessagesVisible({ period: minute }), props.eventsQueue.metricNumberOfMessagesReceived({ period: minute })],
        right: [props.eventsQueue.metricApproximateAgeOfOldestMessage({ period: minute })],
      }),
      new GraphWidget({
        title: "Failure queues (messages visible)", width: 8,
        left: props.failureQueues.map((q) => withLabel(q.queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: "Maximum" }), q.label)),
      }),
      new GraphWidget({ title: "Rejected events by reason", width: 8, left: [rejectedByReason] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Partition overflows / triage iterator age", width: 8,
        left: [pipeline("PartitionOverflows")],
        right: [withLabel(props.streamConsumer.metric("IteratorAge", { period: minute, statistic: "Maximum" }), "triage iterator age (ms)")],
      }),
      new GraphWidget({ title: "Invocations", width: 4, left: perFunction((fn) => fn.metricInvocations({ period: fiveMinutes })) }),
      new GraphWidget({ title: "Errors", width: 4, left: perFunction((fn) => fn.metricErrors({ period: fiveMinutes })) }),
      new GraphWidget({ title: "Throttles", width: 4, left: perFunction((fn) => fn.metricThrottles({ period: fiveMinutes })) }),
      new GraphWidget({ title: "Duration p99 (ms)", width: 4, left: perFunction((fn) => fn.metricDuration({ period: fiveMinutes, statistic: "p99" })) }),
    );
  }
}

function withLabel(metric: IMetric, label: string): IMetric {
  return metric instanceof Metric ? metric.with({ label }) : metric;
}
