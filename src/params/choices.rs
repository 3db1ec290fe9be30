//! The engine settings' choices as host-visible enums: input channels, quantization, capture
//! length; and a loop's speed.

use nice_plug::prelude::*;

use crate::engine::speed::Speed;

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

/// A loop's playback speed (varispeed: the pitch follows).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeedChoice {
    /// A quarter.
    #[id = "quarter"]
    #[name = "x1/4"]
    Quarter,
    /// Half.
    #[id = "half"]
    #[name = "x1/2"]
    Half,
    /// Normal.
    #[id = "normal"]
    #[name = "x1"]
    Normal,
    /// Double.
    #[id = "double"]
    #[name = "x2"]
    Double,
    /// Four times.
    #[id = "quadruple"]
    #[name = "x4"]
    Quadruple,
}

impl SpeedChoice {
    /// The speed.
    pub fn speed(self) -> Speed {
        let octaves = match self {
            SpeedChoice::Quarter => -2,
            SpeedChoice::Half => -1,
            SpeedChoice::Normal => 0,
            SpeedChoice::Double => 1,
            SpeedChoice::Quadruple => 2,
        };
        Speed::from_octaves(octaves).unwrap_or(Speed::NORMAL)
    }
}
