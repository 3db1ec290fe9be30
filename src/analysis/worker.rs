//! The analysis thread: it drains the feed, runs the online analysis, answers on-demand tempo
//! requests from the stored novelty of the history, and publishes a snapshot after every batch.
//!
//! [`analysis_channel`] makes both ends; the engine holds the [`AnalysisLink`], the plugin
//! spawns the [`AnalysisWorker`] (tests drive it with [`AnalysisWorker::run_pending`] instead, so
//! that their results do not depend on thread timing).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::AnalysisConfig;
use super::feed::{AnalysisFeed, FEED_CHUNK_FRAMES, FeedChunk, wait_offline};
use super::offline::tempo_of;
use super::online::OnlineAnalyzer;
use super::snapshot::{AnalysisSnapshot, TempoAnswer, TimedOnset};
use super::tempo::{TEMPOGRAM_SECS, Tempogram};

/// Audio the ring holds before the worker must have caught up, in seconds.
const FEED_RING_SECS: f32 = 4.0;
/// On-demand requests that can wait at once.
const REQUEST_CAPACITY: usize = 16;
/// Envelope frames per displayed envelope value.
pub const ENVELOPE_DECIMATION: u64 = 4;
/// How long the thread sleeps when there is nothing to do.
const IDLE_SLEEP: Duration = Duration::from_millis(2);

/// An on-demand tempo request: the tempo of `[start_samples, end_samples)` of the history. It is
/// answered once the worker has analysed up to `end_samples`, so the answer never depends on how
/// far behind the worker was when the request came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempoRequest {
    /// Identifies the answer.
    pub id: u64,
    /// Absolute start time in samples.
    pub start_samples: u64,
    /// Absolute end time in samples.
    pub end_samples: u64,
}

/// The engine's end: the feed, the snapshot and the request queue. Realtime-safe to use.
pub struct AnalysisLink {
    /// Mono input to the worker.
    pub feed: AnalysisFeed,
    /// The worker's latest results.
    pub snapshot: triple_buffer::Output<AnalysisSnapshot>,
    /// On-demand tempo requests.
    pub requests: rtrb::Producer<TempoRequest>,
    /// Time from an attack until its onset is final, in samples.
    pub detection_latency_samples: u64,
}

impl AnalysisLink {
    /// Offline rendering (`true`): the feed waits for room rather than dropping, and
    /// [`wait_for_snapshot`](Self::wait_for_snapshot) may be used. Realtime (`false`, the
    /// default): nothing ever waits.
    pub fn set_offline(&mut self, offline: bool) {
        self.feed.set_offline(offline);
    }

    /// Offline rendering only (it sleeps): the latest snapshot once `ready` holds for it, or
    /// `None` when the worker is gone or makes no progress for `OFFLINE_STALL_LIMIT`.
    /// Allocation-free.
    pub fn wait_for_snapshot(
        &mut self,
        ready: impl Fn(&AnalysisSnapshot) -> bool,
    ) -> Option<AnalysisSnapshot> {
        let (snapshot, feed) = (&mut self.snapshot, &self.feed);
        let poll = || {
            let latest = snapshot.read();
            let progress = (
                latest.analysed_until_samples,
                latest.tempo_answer.map(|a| a.id),
            );
            (ready(latest), progress)
        };
        let ready = wait_offline(poll, || feed.worker_gone());
        ready.then(|| *snapshot.read())
    }
}

/// The worker's end. Not realtime: it allocates when it resynchronises after a loss and when it
/// answers requests.
pub struct AnalysisWorker {
    /// Frame sizes.
    config: AnalysisConfig,
    /// Audio from the engine.
    chunks: rtrb::Consumer<FeedChunk>,
    /// Requests from the engine.
    requests: rtrb::Consumer<TempoRequest>,
    /// The latest request, until the analysis reaches its end (the engine waits for no other).
    pending_request: Option<TempoRequest>,
    /// Published results.
    out: triple_buffer::Input<AnalysisSnapshot>,
    /// The same snapshots for the editor, once one asked for them.
    display: Option<triple_buffer::Input<AnalysisSnapshot>>,
    /// The results being built.
    snapshot: AnalysisSnapshot,
    /// The online analysis of the current gap-free segment.
    analyzer: OnlineAnalyzer,
    /// Absolute time of the segment's first sample.
    base_samples: u64,
    /// Absolute time the next chunk should start at (a different one means samples were lost).
    expected_samples: u64,
    /// The live tempogram of the novelty.
    tempogram: Tempogram,
    /// Tempo novelty of the segment's latest frames (ring), for on-demand requests.
    novelty: Box<[f32]>,
    /// Frames of the segment so far.
    frames: u64,
    /// Samples the feed dropped (shared with it).
    dropped_samples: Arc<AtomicU64>,
}

/// Makes the engine's and the worker's ends for input at `sample_rate_hz`, keeping the novelty
/// of the last `history_secs` for on-demand requests. Allocates.
pub fn analysis_channel(sample_rate_hz: f32, history_secs: f32) -> (AnalysisLink, AnalysisWorker) {
    let config = AnalysisConfig::new(sample_rate_hz);
    let chunks = (FEED_RING_SECS * config.sample_rate_hz / FEED_CHUNK_FRAMES as f32) as usize;
    let (chunk_tx, chunk_rx) = rtrb::RingBuffer::new(chunks.max(4));
    let (request_tx, request_rx) = rtrb::RingBuffer::new(REQUEST_CAPACITY);
    let (snapshot_in, snapshot_out) = triple_buffer::triple_buffer(&AnalysisSnapshot::default());
    let dropped_samples = Arc::new(AtomicU64::new(0));
    let analyzer = OnlineAnalyzer::new(config);
    let latency = analyzer.detection_latency_samples().ceil() as u64;
    let novelty_frames = (f64::from(history_secs.max(1.0)) * config.frame_rate_hz()) as usize;
    let link = AnalysisLink {
        feed: AnalysisFeed::new(chunk_tx, dropped_samples.clone()),
        snapshot: snapshot_out,
        requests: request_tx,
        detection_latency_samples: latency,
    };
    let worker = AnalysisWorker {
        config,
        chunks: chunk_rx,
        requests: request_rx,
        pending_request: None,
        out: snapshot_in,
        display: None,
        snapshot: AnalysisSnapshot::default(),
        analyzer,
        tempogram: Tempogram::new(config.frame_rate_hz()),
        base_samples: 0,
        expected_samples: 0,
        novelty: vec![0.0; novelty_frames].into_boxed_slice(),
        frames: 0,
        dropped_samples,
    };
    (link, worker)
}

impl AnalysisWorker {
    /// The snapshots for the editor (a second triple buffer, so the editor never competes with
    /// the audio thread for the first). Not realtime-safe: call before spawning the worker.
    pub fn display(&mut self) -> triple_buffer::Output<AnalysisSnapshot> {
        let (input, output) = triple_buffer::triple_buffer(&self.snapshot);
        self.display = Some(input);
        output
    }

    /// Analyses everything queued, answers requests and publishes a snapshot; returns whether
    /// there was anything to do.
    pub fn run_pending(&mut self) -> bool {
        let mut worked = false;
        while let Ok(chunk) = self.chunks.pop() {
            worked = true;
            if chunk.start_samples != self.expected_samples {
                // Samples were lost: start a new segment at the chunk's time.
                self.analyzer = OnlineAnalyzer::new(self.config);
                self.tempogram = Tempogram::new(self.config.frame_rate_hz());
                self.base_samples = chunk.start_samples;
                self.frames = 0;
            }
            self.expected_samples = chunk.start_samples + chunk.frames as u64;
            let (base, novelty, frames, snapshot, tempogram) = (
                self.base_samples,
                &mut self.novelty,
                &mut self.frames,
                &mut self.snapshot,
                &mut self.tempogram,
            );
            self.analyzer.push(&chunk.samples[..chunk.frames], |out| {
                let len = novelty.len() as u64;
                novelty[(out.frame % len) as usize] = out.novelty;
                *frames = out.frame + 1;
                tempogram.push(out.novelty);
                if let Some(onset) = out.onset {
                    snapshot.push_onset(TimedOnset::from_onset(base, onset));
                }
                if out.frame.is_multiple_of(ENVELOPE_DECIMATION) {
                    snapshot.push_envelope(out.envelope);
                }
            });
        }
        while let Ok(request) = self.requests.pop() {
            self.pending_request = Some(request);
        }
        if let Some(request) = self.pending_request
            && self.frames >= self.frame_of(request.end_samples)
        {
            worked = true;
            self.pending_request = None;
            // A stretch without a tempo of its own takes the tempo heard up to its end (the
            // live tempogram's window), computed here so that it does not depend on timing.
            let heard_from = request
                .end_samples
                .saturating_sub(self.config.secs_to_samples(TEMPOGRAM_SECS).round() as u64);
            let bpm = self
                .tempo_between(request.start_samples, request.end_samples)
                .or_else(|| self.tempo_between(heard_from, request.end_samples));
            self.snapshot.tempo_answer = Some(TempoAnswer {
                id: request.id,
                bpm: bpm.map(|bpm| bpm as f32),
            });
        }
        if worked {
            let analysed = self.base_samples + self.analyzer.samples();
            // Finality only advances (a new segment's start is no earlier than the old end).
            let final_until = self.base_samples + self.analyzer.final_until_samples() as u64;
            self.snapshot.analysed_until_samples = analysed;
            self.snapshot.final_until_samples = self.snapshot.final_until_samples.max(final_until);
            self.snapshot.bpm = self.tempogram.bpm().map(|bpm| bpm as f32);
            self.snapshot.dropped_samples = self.dropped_samples.load(Ordering::Relaxed);
            self.out.write(self.snapshot);
            if let Some(display) = &mut self.display {
                display.write(self.snapshot);
            }
        }
        worked
    }

    /// The segment's frame at absolute time `t_samples` (0 before the segment).
    fn frame_of(&self, t_samples: u64) -> u64 {
        t_samples.saturating_sub(self.base_samples) / self.config.hop_samples as u64
    }

    /// The tempo of the stored novelty between two absolute times (clipped to what is stored).
    fn tempo_between(&self, start_samples: u64, end_samples: u64) -> Option<f64> {
        let len = self.novelty.len() as u64;
        let oldest = self.frames.saturating_sub(len);
        let first = self.frame_of(start_samples).max(oldest);
        let last = self.frame_of(end_samples).min(self.frames);
        if last <= first {
            return None;
        }
        let stretch: Vec<f32> = (first..last)
            .map(|f| self.novelty[(f % len) as usize])
            .collect();
        tempo_of(&stretch, self.config)
    }

    /// Runs the worker on its own thread until the returned handle is dropped.
    pub fn spawn(mut self) -> std::io::Result<WorkerThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("loopmate-analysis".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    if !self.run_pending() {
                        std::thread::sleep(IDLE_SLEEP);
                    }
                }
            })?;
        Ok(WorkerThread {
            stop,
            handle: Some(handle),
        })
    }
}

/// The running analysis thread; dropping it stops and joins the thread.
pub struct WorkerThread {
    /// Asks the thread to end.
    stop: Arc<AtomicBool>,
    /// The thread.
    handle: Option<JoinHandle<()>>,
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
