//! Commands scheduled at an absolute sample: latency-corrected MIDI, quantized record starts and
//! stops, and triggers that fire at the next cycle boundary. The engine splits its blocks at these
//! times, so a scheduled command acts at exactly its sample whatever the host's block size.
//!
//! Realtime: a fixed-capacity sorted array allocated up front; nothing allocates afterwards.

/// A command waiting for its time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scheduled<A> {
    /// Absolute time (samples since activation) at which it acts.
    pub at_samples: u64,
    /// Among actions due at the same sample, lower priorities run first.
    pub priority: u8,
    /// What to do.
    pub action: A,
}

/// The queue was full; the action was not scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleFull;

/// Time-ordered queue; actions due at the same sample run by priority, then in the order they
/// were scheduled. Priorities make the order independent of when an action was queued (in this
/// block or an earlier one), which keeps the engine's output independent of the block size.
#[derive(Debug)]
pub struct Schedule<A> {
    /// Sorted by time and priority, stable; never grows past its initial capacity.
    items: Vec<Scheduled<A>>,
}

impl<A: Copy> Schedule<A> {
    /// A queue holding at most `capacity` actions. Not realtime-safe (allocates).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            items: Vec::with_capacity(capacity),
        }
    }

    /// Schedules `action` at `at_samples`, after anything due at that time with the same or a
    /// lower priority.
    pub fn push(&mut self, at_samples: u64, priority: u8, action: A) -> Result<(), ScheduleFull> {
        if self.items.len() == self.items.capacity() {
            return Err(ScheduleFull);
        }
        let index = self
            .items
            .partition_point(|item| (item.at_samples, item.priority) <= (at_samples, priority));
        self.items.insert(
            index,
            Scheduled {
                at_samples,
                priority,
                action,
            },
        );
        Ok(())
    }

    /// Time of the earliest scheduled action.
    pub fn next_time(&self) -> Option<u64> {
        self.items.first().map(|item| item.at_samples)
    }

    /// Removes and returns the earliest action if it is due at or before `now_samples`.
    pub fn pop_due(&mut self, now_samples: u64) -> Option<A> {
        if self.next_time()? <= now_samples {
            Some(self.items.remove(0).action)
        } else {
            None
        }
    }

    /// Removes every action matching `pred`; returns how many were removed.
    pub fn cancel(&mut self, mut pred: impl FnMut(&A) -> bool) -> usize {
        let before = self.items.len();
        self.items.retain(|item| !pred(&item.action));
        before - self.items.len()
    }

    /// The pending actions, earliest first.
    pub fn iter(&self) -> impl Iterator<Item = &Scheduled<A>> {
        self.items.iter()
    }

    /// Drops everything pending.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_fifo_and_refuses_when_full() {
        let mut schedule = Schedule::with_capacity(5);
        schedule.push(10, 1, 'a').unwrap();
        schedule.push(5, 0, 'b').unwrap();
        schedule.push(10, 1, 'c').unwrap();
        schedule.push(7, 0, 'd').unwrap();
        schedule.push(10, 0, 'f').unwrap();
        assert_eq!(schedule.push(1, 0, 'e'), Err(ScheduleFull));
        assert_eq!(schedule.pop_due(4), None);
        assert_eq!(schedule.pop_due(9), Some('b'));
        assert_eq!(schedule.pop_due(9), Some('d'));
        assert_eq!(schedule.next_time(), Some(10));
        assert_eq!(schedule.pop_due(10), Some('f'), "lower priority first");
        assert_eq!(schedule.cancel(|a| *a == 'a'), 1);
        assert_eq!(schedule.pop_due(10), Some('c'));
        assert_eq!(schedule.pop_due(u64::MAX), None);
    }
}
