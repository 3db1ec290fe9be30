//! The engine settings' choices as host-visible enums: input channels, quantization, capture
//! length.

use nice_plug::prelude::*;

/// Which input channels are recorded (a mono choice makes pannable mono tracks).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputChannels {
    /// Both, as stereo.
    #[id = "stereo"]
    Stereo,
    /// Left only.
    #[id = "left"]
    Left,
    /// Right only.
    #[id = "right"]
    Right,
    /// Both summed to mono.
    #[id = "mono_sum"]
    #[name = "Mono sum"]
    MonoSum,
}

/// How the anchor's record boundaries are quantized.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantize {
    /// Presses act where they are.
    #[id = "off"]
    Off,
    /// Start and stop snap to the strongest onset within 250 ms.
    #[id = "onset"]
    Onset,
    /// The anchor length is a whole number of beats of the detected tempo.
    #[id = "beat"]
    Beat,
    /// Both.
    #[id = "onset_beat"]
    #[name = "Onset + beat"]
    OnsetBeat,
}

/// How many cycles a capture takes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureCycles {
    /// One cycle.
    #[id = "1"]
    #[name = "1 cycle"]
    One,
    /// Two cycles.
    #[id = "2"]
    #[name = "2 cycles"]
    Two,
    /// Four cycles.
    #[id = "4"]
    #[name = "4 cycles"]
    Four,
    /// Eight cycles.
    #[id = "8"]
    #[name = "8 cycles"]
    Eight,
}

impl CaptureCycles {
    /// The number of cycles.
    pub fn count(self) -> u32 {
        match self {
            CaptureCycles::One => 1,
            CaptureCycles::Two => 2,
            CaptureCycles::Four => 4,
            CaptureCycles::Eight => 8,
        }
    }
}
