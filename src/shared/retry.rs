//! Bounded retries: the loop and the wait between attempts. Each caller keeps
//! its own policy (which outcomes are worth another attempt, how many, how
//! long to wait, what to say) in the classification it returns per attempt.

use std::future::Future;
use std::time::Duration;

/// What one attempt came to.
#[derive(Debug)]
pub enum Step<T, E> {
    /// Finished: the result to return.
    Done(T),
    /// Try again after waiting this long.
    RetryAfter(Duration),
    /// Failed for good: the error to return.
    GiveUp(E),
}

/// Runs `attempt(1)`, `attempt(2)`, … until one is [`Step::Done`] or
/// [`Step::GiveUp`], sleeping as each [`Step::RetryAfter`] asks. The bound on
/// attempts is the caller's: `attempt` gets its number and gives up.
pub async fn retry<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Step<T, E>>,
{
    let mut n = 1;
    loop {
        match attempt(n).await {
            Step::Done(t) => return Ok(t),
            Step::GiveUp(e) => return Err(e),
            Step::RetryAfter(wait) => tokio::time::sleep(wait).await,
        }
        n += 1;
    }
}

/// A `Retry-After` value as a wait: seconds, or an HTTP date (a date
/// already past is no wait).
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Exponential backoff: `first` before retry 1 (after attempt 1), doubling
/// for each later one, and no more than 2^16 times `first`.
pub fn doubling(first: Duration, retry: u32) -> Duration {
    first * (1u32 << retry.saturating_sub(1).min(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&later).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(retry_after("soon"), None);
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn attempts_run_until_done_or_given_up() {
        let mut seen = Vec::new();
        let r: Result<u32, String> = block(retry(|n| {
            seen.push(n);
            async move {
                if n < 3 {
                    Step::RetryAfter(Duration::ZERO)
                } else {
                    Step::Done(n * 10)
                }
            }
        }));
        assert_eq!(r, Ok(30));
        assert_eq!(seen, [1, 2, 3]);
        let r: Result<(), String> = block(retry(|n| async move {
            if n == 2 {
                Step::GiveUp(format!("gave up at {n}"))
            } else {
                Step::RetryAfter(Duration::ZERO)
            }
        }));
        assert_eq!(r, Err("gave up at 2".into()));
    }

    #[test]
    fn backoff_doubles_from_the_first_wait() {
        let first = Duration::from_millis(500);
        assert_eq!(doubling(first, 1), first);
        assert_eq!(doubling(first, 2), first * 2);
        assert_eq!(doubling(first, 3), first * 4);
        assert_eq!(doubling(first, 40), first * (1 << 16));
    }
}
