//! The session store: the mirror's model, its link to the running engine, and the last message
//! about saving or loading. Lives as long as the plugin; only non-audio threads lock it (the
//! host's main thread to save and load, the pool keeper thread to catch up with events), and
//! the editor only ever tries to (it must keep drawing whatever a save does).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::format::{self, EncodeCache, StateError};
use super::mirror::SessionModel;
use crate::engine::fx::delay::delay_memory_frames;
use crate::engine::session::SessionFeed;
use crate::wav::{self, WavError};

/// How long a save waits for a capture to complete while the engine processes no block.
pub const SAVE_STALL_SECS: f64 = 1.0;
/// How often a waiting save looks at the engine, in milliseconds.
const SAVE_POLL_MS: u64 = 2;

/// The store. See the module documentation.
pub struct SessionStore {
    inner: Mutex<StoreInner>,
}

struct StoreInner {
    /// The performance as it will be saved.
    model: SessionModel,
    /// Each track's encoded audio from the last save (a save re-encodes only new tracks).
    cache: EncodeCache,
    /// The running engine's link, once activated.
    feed: Option<SessionFeed>,
    /// The running engine's sample rate in Hz.
    engine_rate_hz: Option<f32>,
    /// The last generation handed out.
    generation: u64,
    /// The last message for the player, and a counter that changes with each.
    message: Option<String>,
    /// Increments with every message.
    message_serial: u64,
}

impl Default for SessionStore {
    fn default() -> Self {
        Self {
            inner: Mutex::new(StoreInner {
                model: SessionModel::empty(48_000.0),
                cache: EncodeCache::default(),
                feed: None,
                engine_rate_hz: None,
                generation: 0,
                message: None,
                message_serial: 0,
            }),
        }
    }
}

impl SessionStore {
    /// A newly activated engine connected `feed`: the performance (loaded before, or what the
    /// previous engine played) is handed to it, continuing from where it was.
    pub fn attach(&self, feed: SessionFeed, sample_rate_hz: f32) {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if let Some(old) = &mut inner.feed {
            inner.model.catch_up(old);
        }
        let now = inner.model.now_samples(inner.feed.as_ref());
        inner.model.freeze_at(now);
        if inner.model.tracks.is_empty() {
            inner.model.sample_rate_hz = sample_rate_hz;
        }
        inner.feed = Some(feed);
        inner.engine_rate_hz = Some(sample_rate_hz);
        inner.install();
    }

    /// The performance as saved now (the format's bytes). See [`SessionStore::save_reporting`].
    pub fn save(&self) -> Vec<u8> {
        self.save_reporting().0
    }

    /// The performance as saved now, and what was left out of it, in words. A capture still
    /// copying from the history (at `FILL_SPEED` times real time: 4 s for a 2-minute capture)
    /// is waited for, so that the save holds it, as long as the engine keeps processing; after
    /// [`SAVE_STALL_SECS`] without a processed block the save goes ahead without it and leaves
    /// a message. A take still recording is not in the save (it is in the next one).
    ///
    /// The store is not held while the save waits (the keeper keeps catching up, the editor
    /// keeps reading); the last look at the captures and the encoding happen under one lock,
    /// so the save is the whole performance at one moment.
    pub fn save_reporting(&self) -> (Vec<u8>, Option<String>) {
        let mut clock = EngineClock::default();
        loop {
            let mut inner = self.inner.lock();
            if let CaptureCheck::Ready(left_out) = inner.check_captures(&mut clock) {
                let inner = &mut *inner;
                if let Some(why) = &left_out {
                    inner.message = Some(format!("Warning: {why}."));
                    inner.message_serial += 1;
                }
                let now = inner.model.now_samples(inner.feed.as_ref());
                let bytes = format::encode_cached(&inner.model, now, &mut inner.cache);
                return (bytes, left_out);
            }
            drop(inner);
            std::thread::sleep(Duration::from_millis(SAVE_POLL_MS));
        }
    }

    /// Loads a saved performance: it replaces the current one (in the engine at its next block,
    /// with a short fade). A refused one changes nothing and leaves a message. The data is kept
    /// as the encoded audio of the next save. Returns what was repaired, in words (also left as
    /// the message): NaN or infinite samples are replaced by silence, so the loops still load.
    pub fn load(&self, data: Vec<u8>) -> Result<Option<String>, StateError> {
        let mut cache = EncodeCache::default();
        let decoded = match format::decode_cached(&Arc::new(data), &mut cache) {
            Ok(decoded) => decoded,
            Err(error) => {
                self.say(format!(
                    "Saved performance refused: {error}. Nothing was loaded."
                ));
                return Err(error);
            }
        };
        let warning = decoded.warning();
        let mut inner = self.inner.lock();
        inner.model = decoded.model;
        inner.cache = cache;
        inner.message = warning.as_ref().map(|why| format!("Warning: {why}."));
        inner.message_serial += 1;
        inner.install();
        Ok(warning)
    }

    /// Catches up with the engine's events if nobody else holds the store (called every few
    /// milliseconds by the keeper thread; never blocks).
    pub fn tick(&self) {
        if let Some(mut inner) = self.inner.try_lock() {
            let inner = &mut *inner;
            if let Some(feed) = &mut inner.feed {
                inner.model.catch_up(feed);
            }
        }
    }

    /// Leaves a message for the player (shown by the editor).
    pub fn say(&self, message: String) {
        let mut inner = self.inner.lock();
        inner.message = Some(message);
        inner.message_serial += 1;
    }

    /// The last message and its serial (changes with every message); `None` while the store is
    /// busy (saving or loading), so that the editor never waits.
    pub fn try_message(&self) -> Option<(u64, Option<String>)> {
        let inner = self.inner.try_lock()?;
        Some((inner.message_serial, inner.message.clone()))
    }

    /// Runs `f` on the model, caught up with the engine, and "now" in its time (export).
    pub fn with_model<R>(&self, f: impl FnOnce(&SessionModel, u64) -> R) -> R {
        self.inner.lock().caught_up(f)
    }

    /// [`with_model`](Self::with_model), or `None` at once while the store is busy (a save
    /// encoding, a load): for the editor, which must never wait.
    pub fn try_with_model<R>(&self, f: impl FnOnce(&SessionModel, u64) -> R) -> Option<R> {
        Some(self.inner.try_lock()?.caught_up(f))
    }

    /// Exports every playing track and the mix as WAV files into `dir` (see `crate::wav`).
    pub fn export_wav(&self, dir: &Path) -> Result<Vec<PathBuf>, WavError> {
        let model = self.with_model(|model, _| model.clone());
        wav::export(&model, dir)
    }

    /// Imports a WAV file as a new track of the running engine (resampled to its rate, aligned
    /// to the cycle); returns what was imported, in words.
    pub fn import_wav(&self, path: &Path) -> Result<String, String> {
        let (rate, cycle_length) = {
            let mut inner = self.inner.lock();
            let inner = &mut *inner;
            let Some(feed) = &mut inner.feed else {
                return Err("the plugin is not running yet: start playback, then import".into());
            };
            inner.model.catch_up(feed);
            (
                inner.engine_rate_hz.unwrap_or(48_000.0),
                inner.model.cycle.map(|c| c.length_samples),
            )
        };
        let audio = wav::read(path, rate).map_err(|error| error.to_string())?;
        let frames = audio.channels[0].len();
        let track = wav::prepare_track(&audio, cycle_length, rate)
            .ok_or("not enough memory for the imported track")?;
        let mut inner = self.inner.lock();
        let feed = inner.feed.as_mut().ok_or("the plugin stopped")?;
        feed.imports
            .push(track)
            .map_err(|_| "the engine is busy (not processing?): try again")?;
        Ok(format!(
            "Imported {}: {:.2} s, {} channel(s){}{}.",
            path.display(),
            frames as f64 / f64::from(rate),
            audio.channels.len(),
            if audio.file_rate_hz as f32 != rate {
                format!(", resampled from {} Hz", audio.file_rate_hz)
            } else {
                String::new()
            },
            if cycle_length.is_some() {
                ", on the cycle"
            } else {
                ", as the anchor"
            }
        ))
    }

    /// Events the engine could not queue since activation (each caused a full re-send).
    pub fn overflows(&self) -> u64 {
        let inner = self.inner.lock();
        inner
            .feed
            .as_ref()
            .map_or(0, |feed| feed.shared.overflows.load(Ordering::Relaxed))
    }
}

/// The engine's clock as a waiting save last saw it move.
struct EngineClock {
    /// The engine's time at the last look, in samples (`None` before the first).
    now_samples: Option<u64>,
    /// When it last moved.
    moved_at: Instant,
}

impl Default for EngineClock {
    fn default() -> Self {
        Self {
            now_samples: None,
            moved_at: Instant::now(),
        }
    }
}

/// Whether a save can be written now.
enum CaptureCheck {
    /// A capture is still copying in a running engine: look again shortly.
    Copying,
    /// Save now; what that leaves out, in words.
    Ready(Option<String>),
}

impl StoreInner {
    /// Catches up with the engine: ready when no capture is still copying, or when the engine
    /// (per `clock`) has not processed a block for [`SAVE_STALL_SECS`], saying what that
    /// leaves out.
    fn check_captures(&mut self, clock: &mut EngineClock) -> CaptureCheck {
        let Some(feed) = self.feed.as_mut() else {
            return CaptureCheck::Ready(None);
        };
        self.model.catch_up(feed);
        let filling = self.model.filling.len();
        if filling == 0 {
            return CaptureCheck::Ready(None);
        }
        let now_samples = feed.shared.now_samples.load(Ordering::Acquire);
        if clock.now_samples != Some(now_samples) {
            clock.now_samples = Some(now_samples);
            clock.moved_at = Instant::now();
        } else if clock.moved_at.elapsed().as_secs_f64() >= SAVE_STALL_SECS {
            return CaptureCheck::Ready(Some(format!(
                "{filling} capture(s) still copying were not saved: the host stopped \
                 processing audio before they were complete (save again once it plays)"
            )));
        }
        CaptureCheck::Copying
    }

    /// Runs `f` on the model, caught up with the engine, and "now" in its time.
    fn caught_up<R>(&mut self, f: impl FnOnce(&SessionModel, u64) -> R) -> R {
        if let Some(feed) = &mut self.feed {
            self.model.catch_up(feed);
        }
        let now = self.model.now_samples(self.feed.as_ref());
        f(&self.model, now)
    }

    /// Hands the (frozen) model to the running engine, if there is one and it can play it.
    fn install(&mut self) {
        let (Some(feed), Some(rate)) = (&mut self.feed, self.engine_rate_hz) else {
            return;
        };
        // A new generation: from here on the mirror ignores events about what the engine played
        // before, whether or not it installs this model.
        self.generation += 1;
        self.model.generation = self.generation;
        if !self.model.tracks.is_empty() && self.model.sample_rate_hz != rate {
            self.message = Some(format!(
                "The saved loops are at {} Hz but the host runs at {rate} Hz: they were not \
                 loaded (they stay in the project; run the host at {} Hz to play them).",
                self.model.sample_rate_hz, self.model.sample_rate_hz
            ));
            self.message_serial += 1;
            return;
        }
        let Some(session) = self.model.to_restore(delay_memory_frames(rate)) else {
            self.message = Some("Not enough memory to install the saved loops.".to_owned());
            self.message_serial += 1;
            return;
        };
        if feed.restores.push(session).is_err() {
            self.message =
                Some("The engine is not processing; the loops will not load until it does.".into());
            self.message_serial += 1;
        }
    }
}
