//! The MIDI map shared between the GUI/main thread, the plugin state and the audio thread.
//!
//! The main side keeps the current map behind a mutex (never touched by the audio thread) and
//! publishes every replacement through a triple buffer: the audio thread reads the latest map
//! wait-free, and the map it no longer uses is dropped by the next writer, off the audio thread.
//! In the plugin state the map is stored as its mapping-file text (versioned TOML); a state whose
//! map cannot be read loads the default map and says why.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use parking_lot::Mutex;

use crate::midi_map::MidiMap;
use crate::midi_map::file::{self, MapFileError};

/// The main side of the map.
struct MainSide {
    /// The current map.
    map: MidiMap,
    /// Where replacements go to the audio thread.
    to_audio: triple_buffer::Input<MidiMap>,
    /// The last problem with a loaded map, for the editor.
    message: Option<String>,
    /// Counts replacements, so the editor copies the map only when it changed.
    serial: u64,
}

/// Shared state behind a [`SharedMidiMap`] handle.
struct Inner {
    main: Mutex<MainSide>,
    /// The audio thread's end, until the plugin takes it.
    audio: Mutex<Option<triple_buffer::Output<MidiMap>>>,
}

/// A handle to the MIDI map (clones share it). Persisted as `midi_map` in the plugin state.
#[derive(Clone)]
pub struct SharedMidiMap(Arc<Inner>);

impl Default for SharedMidiMap {
    fn default() -> Self {
        let (to_audio, audio) = triple_buffer::triple_buffer(&MidiMap::default());
        Self(Arc::new(Inner {
            main: Mutex::new(MainSide {
                map: MidiMap::default(),
                to_audio,
                message: None,
                serial: 0,
            }),
            audio: Mutex::new(Some(audio)),
        }))
    }
}

impl SharedMidiMap {
    /// A copy of the current map. Not realtime-safe.
    pub fn map(&self) -> MidiMap {
        self.0.main.lock().map.clone()
    }

    /// Makes `map` the current map, for the audio thread too. Not realtime-safe.
    pub fn replace(&self, map: MidiMap) {
        let mut main = self.0.main.lock();
        main.to_audio.write(map.clone());
        main.map = map;
        main.serial += 1;
    }

    /// How many times the map was replaced (changes whenever the map may have).
    pub fn serial(&self) -> u64 {
        self.0.main.lock().serial
    }

    /// Replaces the map with a mapping file's; a malformed file changes nothing.
    pub fn import(&self, text: &str) -> Result<(), MapFileError> {
        let map = file::parse(text, crate::params::mappable_param_ids())?;
        self.replace(map);
        Ok(())
    }

    /// The current map as a mapping file.
    pub fn export(&self) -> String {
        file::export(&self.0.main.lock().map, crate::params::mappable_param_ids())
    }

    /// The audio thread's end of the map (once; `None` afterwards).
    pub fn take_audio_end(&self) -> Option<triple_buffer::Output<MidiMap>> {
        self.0.audio.lock().take()
    }

    /// The last problem with a map loaded from the state, if any.
    pub fn message(&self) -> Option<String> {
        self.0.main.lock().message.clone()
    }
}

impl<'a> PersistentField<'a, String> for SharedMidiMap {
    fn set(&self, text: String) {
        let (map, message) = match file::parse(&text, crate::params::mappable_param_ids()) {
            Ok(map) => (map, None),
            Err(error) => {
                nice_error!(
                    "Loopmate: the saved MIDI map was refused ({error}); using the default"
                );
                (
                    MidiMap::default(),
                    Some(format!(
                        "The saved MIDI map could not be read ({error}); the default map is used."
                    )),
                )
            }
        };
        self.replace(map);
        self.0.main.lock().message = message;
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&String) -> R,
    {
        f(&self.export())
    }
}

/// Capacity of the audio -> GUI queues (messages heard while learning, CC values to mirror).
pub const REPORT_CAPACITY: usize = 256;

/// A parameter value a CC set, for the editor to mirror to the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamReport {
    /// Index in [`crate::params::mappable_param_ids`].
    pub index: u16,
    /// The value (normalized 0..=1).
    pub normalized: f32,
}

/// The audio thread's ends of the MIDI reports.
pub struct AudioReports {
    /// Set by the editor while it waits for a message to learn.
    pub learning: Arc<AtomicBool>,
    /// Messages heard while learning.
    pub heard: rtrb::Producer<crate::midi_map::MidiMessage>,
    /// Parameter values set by CCs.
    pub params: rtrb::Producer<ParamReport>,
}

/// The editor's ends of the MIDI reports.
pub struct EditorReports {
    /// Tells the audio thread to report the messages it hears.
    pub learning: Arc<AtomicBool>,
    /// Messages heard while learning.
    pub heard: rtrb::Consumer<crate::midi_map::MidiMessage>,
    /// Parameter values set by CCs.
    pub params: rtrb::Consumer<ParamReport>,
}

/// Both ends of the MIDI reports.
pub fn reports() -> (AudioReports, EditorReports) {
    let learning = Arc::new(AtomicBool::new(false));
    let (heard_tx, heard_rx) = rtrb::RingBuffer::new(REPORT_CAPACITY);
    let (params_tx, params_rx) = rtrb::RingBuffer::new(REPORT_CAPACITY);
    (
        AudioReports {
            learning: learning.clone(),
            heard: heard_tx,
            params: params_tx,
        },
        EditorReports {
            learning,
            heard: heard_rx,
            params: params_rx,
        },
    )
}

impl AudioReports {
    /// Reports `message` if the editor is learning. Realtime-safe (a full queue drops it).
    pub fn heard(&mut self, message: crate::midi_map::MidiMessage) {
        if self.learning.load(Ordering::Relaxed) {
            let _ = self.heard.push(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::command::Command;
    use crate::midi_map::{Binding, Control, Target};

    #[test]
    fn the_audio_thread_sees_every_replacement_and_a_bad_file_changes_nothing() {
        let shared = SharedMidiMap::default();
        let mut audio = shared.take_audio_end().expect("the audio end");
        assert!(shared.take_audio_end().is_none());
        assert_eq!(*audio.read(), MidiMap::default());
        let mut map = MidiMap::empty();
        map.bind(
            Binding {
                channel: Some(0),
                control: Control::Cc(64),
            },
            Target::Command(Command::RecordToggle),
        );
        shared.replace(map.clone());
        assert_eq!(*audio.read(), map);
        let error = shared
            .import("version = 1\n[[binding]]\ncommand = \"record\"\n")
            .expect_err("no note or cc");
        assert_eq!(error.line, Some(2));
        assert_eq!(shared.map(), map, "the current map is kept");
        assert_eq!(*audio.read(), map);
    }

    #[test]
    fn the_state_round_trips_and_a_corrupt_map_falls_back_to_the_default() {
        let shared = SharedMidiMap::default();
        let mut map = MidiMap::default();
        map.unbind_target(Target::Command(Command::Undo));
        shared.replace(map.clone());
        let saved = PersistentField::<String>::map(&shared, |text| text.clone());
        let loaded = SharedMidiMap::default();
        PersistentField::set(&loaded, saved);
        assert_eq!(loaded.map(), map);
        assert_eq!(loaded.message(), None);

        PersistentField::set(&loaded, "version = 1\n[[binding]\n".to_owned());
        assert_eq!(loaded.map(), MidiMap::default());
        let message = loaded.message().expect("a message");
        assert!(message.contains("line 2"), "{message}");
    }
}
