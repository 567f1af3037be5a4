/**
 * The exposition content types, spelled as prom-client spells them (its
 * Registry.PROMETHEUS_CONTENT_TYPE and OPENMETRICS_CONTENT_TYPE; the
 * protobuf one as prometheus/client_js PR #856 and client_golang's expfmt
 * spell it), and their types, equal to prom-client's
 * `PrometheusContentType`, `OpenMetricsContentType` and
 * `RegistryContentType`. Our own copies, so that the library never loads
 * prom-client at run time.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
/** Length-delimited io.prometheus.client.MetricFamily messages: what Prometheus asks for first when native histograms are on. */
export const PROMETHEUS_PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

export type PrometheusContentType = typeof PROMETHEUS_CONTENT_TYPE;
export type OpenMetricsContentType = typeof OPENMETRICS_CONTENT_TYPE;
export type PrometheusProtobufContentType = typeof PROMETHEUS_PROTOBUF_CONTENT_TYPE;
/** The text content types, as prom-client 15 has them: a registry bound to one of them resolves metrics() with a string. */
export type RegistryContentType = PrometheusContentType | OpenMetricsContentType;
/** Every content type a registry serves, protobuf included. */
export type ExpositionContentType = RegistryContentType | PrometheusProtobufContentType;
/** What metrics() resolves with for a content type (PR #856's RegistryMetrics): bytes for protobuf, text otherwise. */
export type RegistryMetrics<T extends ExpositionContentType> = T extends PrometheusProtobufContentType ? Buffer : string;
