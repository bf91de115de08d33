//! An ordered parallel map with a bounded reorder window: workers run jobs in any order, the sink
//! receives results strictly in job order, and no worker starts a job more than `window` jobs
//! ahead of the sink. Memory is bounded by the window, not by the number of jobs.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Condvar, Mutex, MutexGuard};

/// A job's outcome: a worker's panic travels to the caller's thread and resumes there.
type Outcome<R, E> = std::thread::Result<Result<R, E>>;

struct State<R, E> {
    next: usize,
    consumed: usize,
    done: BTreeMap<usize, Outcome<R, E>>,
    stop: bool,
}

/// Runs `work` over `jobs` on `threads` workers, each with its own scratch state from `init`, and
/// feeds the results to `sink` in order. The first error (from a job or the sink) stops the rest.
pub(super) fn run_ordered<J, R, E, S>(
    jobs: &[J],
    threads: usize,
    window: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &J) -> Result<R, E> + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    J: Sync,
    R: Send,
    E: Send,
{
    let window = window.max(1);
    let state = Mutex::new(State {
        next: 0,
        consumed: 0,
        done: BTreeMap::new(),
        stop: false,
    });
    let (may_start, ready) = (Condvar::new(), Condvar::new());
    let lock = || crate::lock(&state);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                let mut scratch = init();
                loop {
                    let mut s = lock();
                    while !s.stop && s.next < jobs.len() && s.next >= s.consumed + window {
                        s = wait(&may_start, s);
                    }
                    if s.stop || s.next >= jobs.len() {
                        return;
                    }
                    let i = s.next;
                    s.next += 1;
                    drop(s);
                    let outcome = catch_unwind(AssertUnwindSafe(|| work(&mut scratch, &jobs[i])));
                    lock().done.insert(i, outcome);
                    ready.notify_all();
                }
            });
        }
        let mut outcome = Ok(Ok(()));
        for i in 0..jobs.len() {
            let mut s = lock();
            let result = loop {
                if let Some(r) = s.done.remove(&i) {
                    break r;
                }
                s = wait(&ready, s);
            };
            s.consumed = i + 1;
            drop(s);
            may_start.notify_all();
            outcome = result.map(|r| r.and_then(&mut sink));
            if !matches!(outcome, Ok(Ok(()))) {
                break;
            }
        }
        lock().stop = true;
        may_start.notify_all();
        outcome.unwrap_or_else(|panic| resume_unwind(panic))
    })
}

/// A condition wait that survives a poisoned lock (a worker's panic is reported, not repeated).
fn wait<'a, T>(condition: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condition.wait(guard).unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_arrive_in_order_and_never_beyond_the_window() {
        let jobs: Vec<usize> = (0..200).collect();
        for threads in [1, 2, 7] {
            let started = AtomicUsize::new(0);
            let consumed = AtomicUsize::new(0);
            let mut seen = Vec::new();
            run_ordered(
                &jobs,
                threads,
                3,
                || (),
                |_, &j| {
                    started.fetch_add(1, Ordering::SeqCst);
                    // The sink counts a result after taking it, so one more may be in flight.
                    assert!(j <= consumed.load(Ordering::SeqCst) + 3);
                    // Later jobs finish first more often than not.
                    std::thread::sleep(std::time::Duration::from_micros((200 - j as u64) % 7));
                    Ok::<_, io::Error>(j * 2)
                },
                |r| {
                    seen.push(r);
                    consumed.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_first_error_stops_the_run() {
        let jobs: Vec<usize> = (0..1000).collect();
        let done = AtomicUsize::new(0);
        let err = run_ordered(
            &jobs,
            2,
            4,
            || (),
            |_, &j| {
                done.fetch_add(1, Ordering::SeqCst);
                if j == 10 {
                    Err(io::Error::other("job 10"))
                } else {
                    Ok(j)
                }
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "job 10");
        assert!(done.load(Ordering::SeqCst) < 20);
        let panicked = catch_unwind(|| {
            run_ordered(
                &jobs,
                2,
                4,
                || (),
                |_, _| -> io::Result<()> { panic!("a job panics") },
                |_| Ok(()),
            )
        });
        assert!(panicked.is_err(), "a worker's panic reaches the caller");
    }
}
