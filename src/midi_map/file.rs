//! The mapping file: a MIDI map as TOML, versioned, for export, import and the plugin state.
//!
//! ```toml
//! version = 1
//!
//! [[binding]]
//! command = "record"   # or param = "<parameter id>", e.g. "loop_gain", "track_mute_2"
//! note = 47            # or cc = 64
//! channel = 1          # 1-16; leave out (or "omni") for any channel
//! ```
//!
//! A malformed file is refused whole with an error naming its line; the caller keeps its map.

use std::fmt::{self, Write as _};

use serde::Deserialize;

use super::{Binding, Control, MidiMap, Target};
use crate::engine::command::{Command, PadTarget, Select, TrackControl, selected, strike};
use crate::engine::dub::DubKind;

/// The file format version this build writes and reads.
pub const VERSION: i64 = 1;

/// The stable file names of the mappable commands.
pub const COMMAND_IDS: [(&str, Command); 46] = [
    ("record", Command::RecordToggle),
    ("capture", Command::Capture),
    ("undo", Command::Undo),
    ("redo", Command::Redo),
    ("clear", Command::Clear),
    ("mute_at_cycle_end", Command::MuteMixAtCycleEnd),
    ("mute_mix", Command::ToggleMixMute),
    ("record_next_cycle", Command::RecordNextCycle),
    ("restart", Command::Restart),
    ("last_track_gain_up", Command::LastTrackGainUp),
    ("last_track_gain_down", Command::LastTrackGainDown),
    ("last_track_delay", Command::ToggleLastTrackDelay),
    ("reset_last_track", Command::ResetLastTrack),
    ("select_previous", Command::Select(Select::Previous)),
    ("select_next", Command::Select(Select::Next)),
    ("select_newest", Command::Select(Select::Newest)),
    ("select_loop_1", Command::Select(Select::Loop(0))),
    ("select_loop_2", Command::Select(Select::Loop(1))),
    ("select_loop_3", Command::Select(Select::Loop(2))),
    ("select_loop_4", Command::Select(Select::Loop(3))),
    ("select_loop_5", Command::Select(Select::Loop(4))),
    ("select_loop_6", Command::Select(Select::Loop(5))),
    ("select_loop_7", Command::Select(Select::Loop(6))),
    ("select_loop_8", Command::Select(Select::Loop(7))),
    ("mute_selected", selected(TrackControl::ToggleMute)),
    (
        "mute_selected_at_loop_end",
        selected(TrackControl::ToggleMuteAtLoopEnd),
    ),
    ("solo_selected", selected(TrackControl::ToggleSolo)),
    ("restart_selected", selected(TrackControl::Restart)),
    ("reverse_selected", selected(TrackControl::ToggleReverse)),
    ("half_speed_selected", selected(TrackControl::HalveSpeed)),
    ("double_speed_selected", selected(TrackControl::DoubleSpeed)),
    ("clear_selected", selected(TrackControl::Remove)),
    ("overdub", Command::Dub(DubKind::Overdub)),
    ("multiply", Command::Dub(DubKind::Multiply)),
    ("replace", Command::Dub(DubKind::Replace)),
    (
        "capture_one_shot",
        Command::CaptureOneShot(PadTarget::NextFree),
    ),
    (
        "clear_last_one_shot",
        Command::ClearOneShot(PadTarget::LastCaptured),
    ),
    ("clear_one_shots", Command::ClearOneShots),
    ("strike_pad_1", strike(0)),
    ("strike_pad_2", strike(1)),
    ("strike_pad_3", strike(2)),
    ("strike_pad_4", strike(3)),
    ("strike_pad_5", strike(4)),
    ("strike_pad_6", strike(5)),
    ("strike_pad_7", strike(6)),
    ("strike_pad_8", strike(7)),
];

/// The file name of `command`, if it is mappable.
pub fn command_id(command: Command) -> Option<&'static str> {
    COMMAND_IDS
        .iter()
        .find(|(_, c)| *c == command)
        .map(|(id, _)| *id)
}

/// Why a mapping file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapFileError {
    /// 1-based line of the problem, when it has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MapFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MapFileError {}

/// The document as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: toml::Spanned<i64>,
    #[serde(default)]
    binding: Vec<toml::Spanned<FileBinding>>,
}

/// One `[[binding]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBinding {
    command: Option<String>,
    param: Option<String>,
    note: Option<i64>,
    cc: Option<i64>,
    channel: Option<FileChannel>,
}

/// A channel as written: 1-16 or "omni".
#[derive(Deserialize)]
#[serde(untagged)]
enum FileChannel {
    Number(i64),
    Name(String),
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads a mapping file; `param_ids` are the mappable parameters' ids (a `param` binding names
/// one, and becomes its index).
pub fn parse(text: &str, param_ids: &[String]) -> Result<MidiMap, MapFileError> {
    let document: Document = toml::from_str(text).map_err(|error| MapFileError {
        line: error.span().map(|span| line_of(text, span.start)),
        message: error.message().trim().to_owned(),
    })?;
    let error_at = |span: std::ops::Range<usize>, message: String| MapFileError {
        line: Some(line_of(text, span.start)),
        message,
    };
    if *document.version.get_ref() != VERSION {
        return Err(error_at(
            document.version.span(),
            format!(
                "unsupported version {} (this Loopmate reads version {VERSION})",
                document.version.get_ref()
            ),
        ));
    }
    let mut map = MidiMap::empty();
    for entry in &document.binding {
        let span = entry.span();
        let binding = entry.get_ref();
        let target = match (&binding.command, &binding.param) {
            (Some(name), None) => match COMMAND_IDS.iter().find(|(id, _)| id == name) {
                Some((_, command)) => Target::Command(*command),
                None => {
                    let known: Vec<&str> = COMMAND_IDS.iter().map(|(id, _)| *id).collect();
                    return Err(error_at(
                        span,
                        format!("unknown command \"{name}\" (known: {})", known.join(", ")),
                    ));
                }
            },
            (None, Some(name)) => match param_ids.iter().position(|id| id == name) {
                Some(index) => Target::Param(index as u16),
                None => {
                    return Err(error_at(span, format!("unknown parameter \"{name}\"")));
                }
            },
            _ => {
                return Err(error_at(
                    span,
                    "a binding needs exactly one of `command` or `param`".to_owned(),
                ));
            }
        };
        let number = |value: i64, what: &str| {
            u8::try_from(value)
                .ok()
                .filter(|n| *n < 128)
                .ok_or_else(|| error_at(span.clone(), format!("{what} {value} is not 0-127")))
        };
        let control = match (binding.note, binding.cc) {
            (Some(note), None) => Control::Note(number(note, "note")?),
            (None, Some(cc)) => Control::Cc(number(cc, "cc")?),
            _ => {
                return Err(error_at(
                    span,
                    "a binding needs exactly one of `note` or `cc`".to_owned(),
                ));
            }
        };
        let channel = match &binding.channel {
            None => None,
            Some(FileChannel::Name(name)) if name.eq_ignore_ascii_case("omni") => None,
            Some(FileChannel::Number(n)) if (1..=16).contains(n) => Some((*n - 1) as u8),
            Some(_) => {
                return Err(error_at(
                    span,
                    "channel must be 1-16 or \"omni\"".to_owned(),
                ));
            }
        };
        map.bind(Binding { channel, control }, target);
    }
    Ok(map)
}

/// Writes `map` as a mapping file (bindings grouped by target, in the order of the command list
/// and then the parameters).
pub fn export(map: &MidiMap, param_ids: &[String]) -> String {
    let mut text = String::from(
        "# Loopmate MIDI map. Each [[binding]] maps a note-on or a CC, on a channel (1-16) or on\n\
         # any channel (no `channel`), to a command or a parameter (by its id).\n",
    );
    let _ = writeln!(text, "version = {VERSION}");
    let mut bindings: Vec<(Binding, Target)> = map.bindings().collect();
    let order = |target: &Target| match target {
        Target::Command(command) => COMMAND_IDS
            .iter()
            .position(|(_, c)| c == command)
            .unwrap_or(usize::MAX),
        Target::Param(index) => COMMAND_IDS.len() + usize::from(*index),
    };
    bindings.sort_by_key(|(binding, target)| (order(target), *binding));
    for (binding, target) in bindings {
        text.push_str("\n[[binding]]\n");
        match target {
            Target::Command(command) => match command_id(command) {
                Some(id) => {
                    let _ = writeln!(text, "command = \"{id}\"");
                }
                None => continue,
            },
            Target::Param(index) => match param_ids.get(usize::from(index)) {
                Some(id) => {
                    let _ = writeln!(text, "param = \"{id}\"");
                }
                None => continue,
            },
        }
        let _ = match binding.control {
            Control::Note(n) => writeln!(text, "note = {n}"),
            Control::Cc(n) => writeln!(text, "cc = {n}"),
        };
        if let Some(channel) = binding.channel {
            let _ = writeln!(text, "channel = {}", channel + 1);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        ["loop_gain", "track_mute_2"].map(String::from).to_vec()
    }

    #[test]
    fn export_then_import_gives_the_same_map() {
        let mut map = MidiMap::default();
        map.bind(
            Binding {
                channel: Some(3),
                control: Control::Cc(64),
            },
            Target::Command(Command::Capture),
        );
        map.bind(
            Binding {
                channel: None,
                control: Control::Cc(7),
            },
            Target::Param(0),
        );
        map.bind(
            Binding {
                channel: Some(15),
                control: Control::Note(0),
            },
            Target::Param(1),
        );
        let text = export(&map, &ids());
        assert_eq!(parse(&text, &ids()), Ok(map));
        assert!(text.contains("param = \"track_mute_2\"\nnote = 0\nchannel = 16\n"));
    }

    // The parameter ids are the plugin's: without it the framework-free build has none.
    #[cfg(feature = "plugin")]
    #[test]
    #[cfg(feature = "plugin")] // The parameter ids are the plugin's.
    fn the_shipped_default_map_file_is_the_default_map() {
        let text = include_str!("../../assets/default-midi-map.toml");
        let ids = crate::params::mappable_param_ids();
        assert_eq!(parse(text, ids), Ok(MidiMap::default()));
        assert_eq!(export(&MidiMap::default(), ids), text, "what Export writes");
    }

    #[test]
    fn a_malformed_file_names_the_line() {
        let cases = [
            (
                "version = 1\n\n[[binding]]\ncommand = \"recrod\"\nnote = 47\n",
                3,
                "recrod",
            ),
            (
                "version = 1\n[[binding]]\ncommand = \"record\"\nnote = 128\n",
                2,
                "not 0-127",
            ),
            (
                "version = 1\n[[binding]]\ncommand = \"record\"\nnote = = 4\n",
                4,
                "",
            ),
            ("version = 2\n", 1, "unsupported version 2"),
            (
                "version = 1\n[[binding]]\nparam = \"nope\"\ncc = 1\n",
                2,
                "unknown parameter",
            ),
            (
                "version = 1\n[[binding]]\ncommand = \"undo\"\nnote = 1\ncc = 2\n",
                2,
                "exactly one of `note` or `cc`",
            ),
            (
                "version = 1\n[[binding]]\ncommand = \"undo\"\nnote = 1\nchannel = 17\n",
                2,
                "channel",
            ),
            (
                "version = 1\n[[binding]]\ncommand = \"undo\"\nkey = 1\n",
                4,
                "unknown field",
            ),
        ];
        for (text, line, message) in cases {
            let error = parse(text, &ids()).expect_err(text);
            assert_eq!(error.line, Some(line), "{text:?}: {error}");
            assert!(error.message.contains(message), "{text:?}: {error}");
            assert!(error.to_string().starts_with(&format!("line {line}: ")));
        }
        assert!(parse("", &ids()).is_err(), "the version is required");
    }
}
