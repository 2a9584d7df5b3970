export * from './metrics/status-snapshot';
export * from './metrics/provwatch-metrics';
export * from './metrics/verdict-exposition';
export * from './alerts/verdict-alerts';
export * from './alerts/alertmanager.client';
export * from './logging';
export * from './metrics/verdict-series-cache';
export * from './event-loop';
