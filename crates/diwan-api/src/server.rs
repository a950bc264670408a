//! Binding and running the HTTP server.

use std::net::SocketAddr;
use std::sync::mpsc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use diwan_app::Services;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct Listen {
    /// `host:port`; port 0 picks a free port.
    pub bind: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

/// A running server, as seen from another thread.
#[derive(Debug, Clone)]
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
}

/// Runs the server on the current thread until it is stopped (SIGINT/SIGTERM or its handle).
/// `on_bound` is told the address once the port is bound.
pub fn run(
    listen: &Listen,
    services: Services,
    on_bound: impl FnOnce(&Running),
) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let workers = match listen.workers {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(access_log))
                .configure(crate::configure(services.clone()))
        })
        .workers(workers)
        .bind(&listen.bind)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("the server has no address"))?;
        let server = server.run();
        on_bound(&Running {
            addr,
            handle: server.handle(),
        });
        server.await
    })
}

/// Starts the server on a thread of its own and returns once it listens.
pub fn spawn(listen: Listen, services: Services) -> std::io::Result<Running> {
    let (tx, rx) = mpsc::channel();
    let failed = tx.clone();
    std::thread::Builder::new()
        .name("diwan-http".into())
        .spawn(move || {
            if let Err(e) = run(&listen, services, |r| {
                let _ = tx.send(Ok(r.clone()));
            }) {
                let _ = failed.send(Err(e));
            }
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the server thread stopped before listening"))?
}

/// Logs every request (debug level) and counts it for `GET /metrics`.
async fn access_log(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let metrics = req
        .app_data::<actix_web::web::Data<Services>>()
        .map(|s| s.metrics.clone())
        .filter(diwan_app::metrics::Metrics::is_on);
    let res = next.call(req).await;
    if let Some(m) = metrics {
        // Asked after routing, actix finds the pattern from the resource matched (no second
        // match). An error that left no response (none of Diwan's handlers do) has none.
        let (route, status) = match &res {
            Ok(r) => (r.request().match_pattern(), r.status()),
            Err(e) => (None, e.as_response_error().status_code()),
        };
        let route = route.unwrap_or_else(|| crate::metrics::UNMATCHED.to_owned());
        crate::metrics::request(&m, route, &method, status, started.elapsed());
    }
    let res = res?;
    tracing::debug!(
        %method,
        %path,
        status = res.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    Ok(res)
}
