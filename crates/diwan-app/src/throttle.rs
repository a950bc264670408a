//! Rate limits on the public forms, per client address and per form, in fixed one-minute
//! windows, kept in memory and shared by every HTTP worker of the process (behind a load
//! balancer each node counts its own).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A form that is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// Asking for an e-mail code.
    Code,
    /// Posting a deposit (each checks a code).
    Deposit,
    /// Looking up a letter with its tracking code.
    Track,
    /// Uploading a receipt to verify.
    Verify,
    /// Logging in to the back office.
    Login,
}

impl Form {
    /// Requests allowed per client per minute.
    fn per_minute(self) -> u32 {
        match self {
            Form::Code => 6,
            Form::Deposit => 10,
            Form::Track => 20,
            Form::Verify => 30,
            Form::Login => 20,
        }
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many tracked clients, windows that have ended are dropped.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Default)]
pub struct RateLimits {
    windows: Mutex<HashMap<(IpAddr, Form), (Instant, u32)>>,
}

impl RateLimits {
    /// Counts a request; false when the client is over the limit for this minute.
    pub fn allow(&self, client: Option<IpAddr>, form: Form) -> bool {
        let Some(ip) = client else { return true };
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry((ip, form)).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= form.per_minute()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_client_and_form() {
        let limits = RateLimits::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..Form::Code.per_minute() {
            assert!(limits.allow(Some(a), Form::Code));
        }
        assert!(!limits.allow(Some(a), Form::Code));
        assert!(limits.allow(Some(b), Form::Code));
        assert!(limits.allow(Some(a), Form::Track));
    }
}
