//! The analysis gate: at most `ANALYSIS_THREADS` frames (one a core by default) are decoded and
//! analysed at once, whichever sessions they belong to, and the others wait their turn in the
//! order they arrived.
//!
//! Every session has a thread of its own, so without the gate fifty sessions would analyse up
//! to fifty frames at once on two cores: the scheduler shares the cores between them, every
//! frame takes as long as the slowest, and the caches hold none of them. Through the gate a frame
//! runs alone on its core and is answered in about its own CPU time plus its wait in line, so
//! the median round trip stays near one frame's cost until the cores are nearly full.

use std::sync::{Condvar, Mutex};

/// A first-come, first-served counting gate (a ticket per frame).
#[derive(Debug)]
pub struct AnalysisGate {
    state: Mutex<GateState>,
    turn: Condvar,
    width: usize,
}

#[derive(Debug)]
struct GateState {
    /// The next ticket to hand out.
    next_ticket: u64,
    /// Tickets let through so far: the ticket `admitted` is the first in line.
    admitted: u64,
    /// Places free in the gate.
    free: usize,
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
        AnalysisGate {
            state: Mutex::new(GateState { next_ticket: 0, admitted: 0, free: width }),
            turn: Condvar::new(),
            width,
        }
    }

    /// Waits for this frame's turn (blocking: called on a session's thread).
    pub fn enter(&self) -> GatePass<'_> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        while state.admitted != ticket || state.free == 0 {
            state = self.turn.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.admitted += 1;
        state.free -= 1;
        // The next in line may find a place free too.
        self.turn.notify_all();
        GatePass { gate: self }
    }

    /// Frames waiting for their turn.
    pub fn waiting(&self) -> u64 {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.next_ticket - state.admitted
    }

    /// Frames being analysed.
    pub fn busy(&self) -> usize {
        self.width - self.state.lock().unwrap_or_else(|p| p.into_inner()).free
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        state.free += 1;
        self.gate.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

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
