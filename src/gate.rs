//! The analysis gate: at most `ANALYSIS_THREADS` analyses (two a core by default) run at once,
//! LPProto frames and REST requests alike, whichever sessions or clients they belong to, and the
//! others wait their turn in the order they arrived. A REST request holds its place for all of
//! its images; it waits at most a bound for one ([`AnalysisGate::enter_within`]).
//!
//! Every session has a thread of its own, so without the gate fifty sessions would analyse up
//! to fifty frames at once on two cores: the scheduler shares the cores between them, every
//! frame takes as long as the slowest, and the caches hold none of them. Through the gate a frame
//! shares its core with one other at most and is answered in about its own CPU time plus its
//! wait in line, so the median round trip stays near one frame's cost until the cores are nearly
//! full. Two a core rather than one, because a frame spends part of its turn off the CPU (handed
//! from its session's thread to its pipeline's and back, waiting for a model session).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// A first-come, first-served counting gate. A place given back goes straight to the first
/// frame in line, and only that frame's thread is woken: a release costs one wake-up however
/// many wait.
#[derive(Debug)]
pub struct AnalysisGate {
    state: Mutex<GateState>,
    width: usize,
}

#[derive(Debug)]
struct GateState {
    /// Places free in the gate (never more than zero while someone waits).
    free: usize,
    /// The frames waiting, first in line first.
    line: VecDeque<Arc<Waiter>>,
}

/// A thread waiting in line, and whether it has been given a place.
#[derive(Debug)]
struct Waiter {
    thread: Thread,
    admitted: AtomicBool,
}

/// One frame's place in the gate, given back when dropped.
#[derive(Debug)]
pub struct GatePass<'a> {
    gate: &'a AnalysisGate,
}

impl AnalysisGate {
    /// A gate that lets `width` frames through at once (at least one).
    pub fn new(width: usize) -> AnalysisGate {
        let width = width.max(1);
        AnalysisGate { state: Mutex::new(GateState { free: width, line: VecDeque::new() }), width }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this frame's turn (blocking: called on a session's thread).
    pub fn enter(&self) -> GatePass<'_> {
        let waiter = {
            let mut state = self.state();
            if state.free > 0 {
                state.free -= 1;
                return GatePass { gate: self };
            }
            let waiter = Arc::new(Waiter { thread: std::thread::current(), admitted: AtomicBool::new(false) });
            state.line.push_back(waiter.clone());
            waiter
        };
        // `park` may return spuriously: the flag, set before the unpark, is the word.
        while !waiter.admitted.load(Ordering::Acquire) {
            std::thread::park();
        }
        GatePass { gate: self }
    }

    /// Waits at most `limit` for a place (blocking); None when none came in time, and the
    /// caller has left the line.
    pub fn enter_within(&self, limit: Duration) -> Option<GatePass<'_>> {
        let deadline = Instant::now() + limit;
        let waiter = {
            let mut state = self.state();
            if state.free > 0 {
                state.free -= 1;
                return Some(GatePass { gate: self });
            }
            let waiter = Arc::new(Waiter { thread: std::thread::current(), admitted: AtomicBool::new(false) });
            state.line.push_back(waiter.clone());
            waiter
        };
        loop {
            if waiter.admitted.load(Ordering::Acquire) {
                return Some(GatePass { gate: self });
            }
            let now = Instant::now();
            if now >= deadline {
                // A place is handed over under the lock: checked under it, the flag is final.
                let mut state = self.state();
                if waiter.admitted.load(Ordering::Acquire) {
                    return Some(GatePass { gate: self });
                }
                state.line.retain(|w| !Arc::ptr_eq(w, &waiter));
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// Frames waiting for their turn.
    pub fn waiting(&self) -> u64 {
        self.state().line.len() as u64
    }

    /// Frames being analysed.
    pub fn busy(&self) -> usize {
        self.width - self.state().free
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        let mut state = self.gate.state();
        match state.line.pop_front() {
            // The place passes to the first in line.
            Some(next) => {
                next.admitted.store(true, Ordering::Release);
                next.thread.unpark();
            }
            None => state.free += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_than_its_width_pass_at_once() {
        let gate = Arc::new(AnalysisGate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _pass = gate.enter();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a gate thread panicked");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!((gate.busy(), gate.waiting()), (0, 0));
    }

    #[test]
    fn a_wait_with_a_bound_gives_up_and_leaves_the_line() {
        let gate = Arc::new(AnalysisGate::new(1));
        let held = gate.enter();
        assert!(gate.enter_within(Duration::from_millis(30)).is_none(), "the only place is taken");
        assert_eq!(gate.waiting(), 0, "the one that gave up is no longer in line");
        // A place given back while one waits with a bound goes to it.
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter_within(Duration::from_secs(30)).map(|_pass| ()).is_some())
        };
        while gate.waiting() == 0 {
            std::thread::yield_now();
        }
        drop(held);
        assert!(waiter.join().expect("the waiting thread"), "admitted once the place was free");
        assert_eq!((gate.busy(), gate.waiting()), (0, 0));
        assert!(gate.enter_within(Duration::ZERO).is_some(), "a free place is taken at once");
    }

    #[test]
    fn frames_pass_in_the_order_they_arrived() {
        let gate = Arc::new(AnalysisGate::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.enter();
        let mut threads = Vec::new();
        for i in 0..5 {
            let (line, order) = (gate.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _pass = line.enter();
                order.lock().expect("order lock").push(i);
            }));
            // Each waits in line before the next arrives.
            while gate.waiting() < i as u64 + 1 {
                std::thread::yield_now();
            }
        }
        assert_eq!(gate.busy(), 1);
        drop(first);
        for thread in threads {
            thread.join().expect("a gate thread panicked");
        }
        assert_eq!(*order.lock().expect("order lock"), vec![0, 1, 2, 3, 4]);
    }
}
