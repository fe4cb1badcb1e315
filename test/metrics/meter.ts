import type { Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

/** A reader that exports nothing: the test calls `collect()` when it wants to look. */
class OnDemandReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One point of a collected metric: its attributes and its value (a number, or a histogram's count and sum). */
export interface Point {
  readonly attributes: Attributes;
  readonly value: number;
  readonly count?: number;
  readonly sum?: number;
}

/** What one collection saw, by instrument name. */
export class Collected {
  readonly #metrics: Map<string, MetricData>;

  constructor(metrics: readonly MetricData[]) {
    this.#metrics = new Map(metrics.map((metric) => [metric.descriptor.name, metric]));
  }

  names(): string[] {
    return [...this.#metrics.keys()].sort();
  }

  metric(name: string): MetricData | undefined {
    return this.#metrics.get(name);
  }

  points(name: string): Point[] {
    const metric = this.#metrics.get(name);
    if (metric === undefined) return [];
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      return (metric as HistogramMetricData).dataPoints.map((point) => ({
        attributes: point.attributes,
        value: point.value.count,
        count: point.value.count,
        sum: point.value.sum ?? 0,
      }));
    }
    return metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value as number }));
  }

  /** The sum of the values (a histogram's: counts) of the points whose attributes include `match`. */
  total(name: string, match: Attributes = {}): number {
    return this.points(name)
      .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
      .reduce((sum, point) => sum + point.value, 0);
  }
}

/** A real SDK MeterProvider with a reader the test collects from on demand. */
export function createTestMeter(): {
  readonly provider: MeterProvider;
  readonly meter: ReturnType<MeterProvider['getMeter']>;
  collect(): Promise<Collected>;
} {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    meter: provider.getMeter('s3-sqs-sync-test'),
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
      return new Collected(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics));
    },
  };
}
