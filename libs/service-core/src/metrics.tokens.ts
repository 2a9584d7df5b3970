/** The process's one ProvwatchMetrics (libs/observability): /metrics renders it, the worker counts into it. */
export const METRICS = Symbol('METRICS');
