//! `GET /metrics`: the Prometheus exporter an installation counts into, the HTTP layer's own
//! metrics (requests by route pattern, method and status; latency by route pattern and method)
//! and the handler.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::Services;
use diwan_app::metrics::{Metrics, Scraper};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::error::{ApiError, blocking};

/// Requests answered, by route pattern, method and status.
pub const REQUESTS: &str = "diwan_http_requests_total";
/// Time to the response's head, by route pattern and method.
pub const DURATION: &str = "diwan_http_request_duration_seconds";

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Histogram samples wait in the recorder until drained into their buckets: at every scrape,
/// and every this many samples, so that an installation nobody scrapes does not pile them up.
const UPKEEP_EVERY: u32 = 4096;

/// The Prometheus text exporter, without listener or push gateway: `GET /metrics` renders it.
pub struct Prometheus {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    samples: AtomicU32,
}

impl Prometheus {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // Fails only for an empty list of buckets; the latency would then be a summary.
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe);
        Self {
            recorder,
            handle,
            samples: AtomicU32::new(0),
        }
    }
}

impl Default for Prometheus {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder for Prometheus {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.recorder.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.recorder.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        // The macros register at every sample, so this counts samples.
        if self.samples.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
        self.recorder.register_histogram(key, metadata)
    }
}

impl diwan_app::metrics::Exporter for Prometheus {
    fn render(&self) -> String {
        self.handle.render()
    }
}

fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by route pattern, method and status."
    );
    metrics::describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response's head, by route pattern and method."
    );
}

/// Counts a request answered. `route` is the pattern it matched, never its path, so that the
/// number of series stays bounded.
pub(crate) fn request(
    metrics: &Metrics,
    route: String,
    method: &Method,
    status: StatusCode,
    took: Duration,
) {
    let method = method_label(method);
    metrics.record(|| {
        metrics::counter!(REQUESTS,
            "route" => route.clone(), "method" => method, "status" => status.as_u16().to_string())
        .increment(1);
        metrics::histogram!(DURATION, "route" => route, "method" => method).record(took);
    });
}

/// The method as a label: the standard ones by name, any other as `other`.
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ]
    .into_iter()
    .zip(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    .find_map(|(m, name)| (m == method).then_some(name))
    .unwrap_or("other")
}

/// `GET /metrics`: the Prometheus text exposition, to the clients `[metrics]` admits.
pub async fn scrape(req: HttpRequest, s: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    let scraper = Scraper {
        loopback: req
            .peer_addr()
            .is_some_and(|a| a.ip().to_canonical().is_loopback()),
        forwarded: [
            header::FORWARDED,
            header::X_FORWARDED_FOR,
            header::HeaderName::from_static("x-real-ip"),
        ]
        .iter()
        .any(|h| headers.contains_key(h)),
        bearer: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned().into()),
    };
    let s = s.into_inner();
    let text = blocking(move || diwan_app::metrics::scrape(&s, &scraper)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
