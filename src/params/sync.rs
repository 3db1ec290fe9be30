//! Host-sync parameters (see `engine::sync`).

use nice_plug::prelude::*;

use crate::engine::sync::{BarCount, SyncMode, SyncSettings, TransportStop};
use crate::param_overrides::ParamOverrides;

/// Host-sync parameters (see `engine::sync`).
#[derive(Params)]
pub struct SyncParams {
    /// Free (the anchor defines the tempo) or host (loops follow the host transport's bars).
    #[id = "sync_mode"]
    pub mode: EnumParam<SyncModeChoice>,
    /// Bars of a host-synced anchor: auto (1, 2, 4, 8... by the recorded length) or fixed.
    #[id = "bars"]
    pub bars: EnumParam<BarsChoice>,
    /// What the loops do when the host transport stops (host mode).
    #[id = "transport_stop"]
    pub transport_stop: EnumParam<TransportStopChoice>,
}

/// Where the loops take their tempo from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncModeChoice {
    /// The anchor loop defines the tempo.
    #[id = "free"]
    Free,
    /// Follow the host transport.
    #[id = "host"]
    Host,
}

/// Bars of a host-synced anchor.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarsChoice {
    /// By the recorded length, rounded to 1, 2, 4, 8... bars.
    #[id = "auto"]
    Auto,
    /// One bar.
    #[id = "1"]
    #[name = "1 bar"]
    One,
    /// Two bars.
    #[id = "2"]
    #[name = "2 bars"]
    Two,
    /// Four bars.
    #[id = "4"]
    #[name = "4 bars"]
    Four,
    /// Eight bars.
    #[id = "8"]
    #[name = "8 bars"]
    Eight,
    /// Sixteen bars.
    #[id = "16"]
    #[name = "16 bars"]
    Sixteen,
}

/// What the loops do when the transport stops.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportStopChoice {
    /// Loops run on (free) from where they are.
    #[id = "keep_running"]
    #[name = "Keep running"]
    KeepRunning,
    /// Loops fade out and resume aligned when the transport plays again.
    #[id = "stop_loops"]
    #[name = "Stop loops"]
    StopLoops,
}

impl Default for SyncParams {
    fn default() -> Self {
        Self {
            mode: EnumParam::new("Sync", SyncModeChoice::Free),
            bars: EnumParam::new("Bars", BarsChoice::Auto),
            transport_stop: EnumParam::new("Transport stop", TransportStopChoice::KeepRunning),
        }
    }
}

impl SyncParams {
    /// The engine's host-sync settings (a mapped CC's value wins over the host's).
    pub fn settings(&self, v: &ParamOverrides) -> SyncSettings {
        SyncSettings {
            mode: match v.get(&self.mode) {
                SyncModeChoice::Free => SyncMode::Free,
                SyncModeChoice::Host => SyncMode::Host,
            },
            bars: match v.get(&self.bars) {
                BarsChoice::Auto => BarCount::Auto,
                BarsChoice::One => BarCount::Fixed(1),
                BarsChoice::Two => BarCount::Fixed(2),
                BarsChoice::Four => BarCount::Fixed(4),
                BarsChoice::Eight => BarCount::Fixed(8),
                BarsChoice::Sixteen => BarCount::Fixed(16),
            },
            on_stop: match v.get(&self.transport_stop) {
                TransportStopChoice::KeepRunning => TransportStop::KeepRunning,
                TransportStopChoice::StopLoops => TransportStop::StopLoops,
            },
        }
    }
}
