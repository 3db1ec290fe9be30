//! The state code's one way to spread work over threads: the codec's channels and the halves of
//! the base64 text. Runs on the host's main thread (saving and loading), never on the audio
//! thread.

/// Threads that work in parallel (the machines have two cores).
const THREADS: usize = 2;

/// Runs `f` over `items` on up to [`THREADS`] threads (each takes the next item when done),
/// the results in `items`' order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<&mut Option<R>>> =
        results.iter_mut().map(std::sync::Mutex::new).collect();
    std::thread::scope(|scope| {
        for _ in 0..THREADS.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    if let Ok(mut slot) = slots[i].lock() {
                        **slot = Some(result);
                    }
                }
            });
        }
    });
    drop(slots);
    results.into_iter().flatten().collect()
}

/// [`parallel_map`] over mutable items.
pub fn parallel_map_mut<T: Send, R: Send>(
    items: &mut [T],
    f: impl Fn(&mut T) -> R + Sync,
) -> Vec<R> {
    let cells: Vec<std::sync::Mutex<&mut T>> =
        items.iter_mut().map(std::sync::Mutex::new).collect();
    parallel_map(&cells, |cell| match cell.lock() {
        Ok(mut item) => f(&mut item),
        Err(poisoned) => f(&mut poisoned.into_inner()),
    })
}
