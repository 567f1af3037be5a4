/**
 * The two exposition content types, spelled as prom-client spells them
 * (its Registry.PROMETHEUS_CONTENT_TYPE and OPENMETRICS_CONTENT_TYPE), and
 * their types, equal to prom-client's `PrometheusContentType`,
 * `OpenMetricsContentType` and `RegistryContentType`. Our own copies, so that
 * the library never loads prom-client at run time.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type PrometheusContentType = typeof PROMETHEUS_CONTENT_TYPE;
export type OpenMetricsContentType = typeof OPENMETRICS_CONTENT_TYPE;
export type RegistryContentType = PrometheusContentType | OpenMetricsContentType;
