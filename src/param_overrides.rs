//! Parameter values set by MIDI CCs, on top of the host's values.
//!
//! nice-plug gives the audio thread no way to change a host parameter, so a CC mapped to a
//! parameter overrides the value the plugin reads instead, from the CC's sample (the host module
//! reads the parameters again there and hands the engine what they say at that sample), and the
//! editor (when open) mirrors it to the host parameter through its `GuiContext`, so the host
//! shows, saves and can record it. Last writer wins: an override ends as soon as the host's own
//! value of that parameter changes (automation, the host's controls, or the editor's
//! mirror catching up with the CC), and the host's value applies again.
//!
//! Realtime: [`ParamOverrides::set`], [`ParamOverrides::refresh`] and [`ParamOverrides::get`] run
//! on the audio thread; they never allocate (fixed capacity, built off the audio thread).

use nice_plug::prelude::{Param, ParamPtr};

/// How many parameters can be overridden at once; a further CC replaces the oldest override.
pub const MAX_OVERRIDES: usize = 64;

/// One overridden parameter.
#[derive(Debug, Clone, Copy)]
struct Override {
    /// The parameter.
    param: ParamPtr,
    /// The value the CC set (normalized 0..=1).
    normalized: f32,
    /// The host's normalized value when the CC set it; a change ends the override.
    host_normalized: f32,
}

/// The overridden parameters (fixed capacity; reads search only the active overrides).
#[derive(Debug)]
pub struct ParamOverrides {
    /// Active overrides, oldest first, in `slots[..len]`.
    slots: [Option<Override>; MAX_OVERRIDES],
    /// Number of active overrides.
    len: usize,
}

impl Default for ParamOverrides {
    fn default() -> Self {
        Self {
            slots: [None; MAX_OVERRIDES],
            len: 0,
        }
    }
}

/// The host's (unmodulated) normalized value of `param`.
fn host_normalized(param: ParamPtr) -> f32 {
    // SAFETY: every `ParamPtr` here comes from the plugin's `LoopmateParams`, which the plugin
    // keeps alive (in an `Arc`) for as long as it owns this struct.
    unsafe { param.unmodulated_normalized_value() }
}

impl ParamOverrides {
    /// Overrides `param` with `normalized` (clamped to 0..=1). Realtime-safe.
    pub fn set(&mut self, param: ParamPtr, normalized: f32) {
        let normalized = if normalized.is_finite() {
            normalized.clamp(0.0, 1.0)
        } else {
            return;
        };
        let index = match self.position(param) {
            Some(index) => index,
            None => {
                if self.len == MAX_OVERRIDES {
                    self.slots.copy_within(1.., 0);
                    self.len -= 1;
                }
                self.len += 1;
                self.len - 1
            }
        };
        self.slots[index] = Some(Override {
            param,
            normalized,
            host_normalized: host_normalized(param),
        });
    }

    /// Ends the overrides whose host value changed since their CC. Call once per block before
    /// reading. Realtime-safe.
    pub fn refresh(&mut self) {
        let mut kept = 0;
        for index in 0..self.len {
            if let Some(entry) = self.slots[index]
                && host_normalized(entry.param) == entry.host_normalized
            {
                self.slots[kept] = Some(entry);
                kept += 1;
            }
        }
        self.slots[kept..self.len].fill(None);
        self.len = kept;
    }

    /// The value the plugin uses for `param`: the override's, else the host's. Realtime-safe.
    pub fn get<P: Param>(&self, param: &P) -> P::Plain {
        match self
            .position(param.as_ptr())
            .and_then(|index| self.slots[index])
        {
            Some(entry) => param.preview_plain(entry.normalized),
            None => param.modulated_plain_value(),
        }
    }

    /// The normalized value the plugin uses for `param`. Realtime-safe.
    pub fn normalized(&self, param: ParamPtr) -> f32 {
        match self.position(param).and_then(|index| self.slots[index]) {
            Some(entry) => entry.normalized,
            None => host_normalized(param),
        }
    }

    /// Whether `param` is overridden.
    pub fn is_overridden(&self, param: ParamPtr) -> bool {
        self.position(param).is_some()
    }

    fn position(&self, param: ParamPtr) -> Option<usize> {
        self.slots[..self.len]
            .iter()
            .position(|slot| slot.is_some_and(|entry| entry.param == param))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::prelude::{BoolParam, FloatParam, FloatRange};

    #[test]
    fn an_override_holds_until_the_host_value_changes() {
        let gain = FloatParam::new("Gain", 0.5, FloatRange::Linear { min: 0.0, max: 2.0 });
        let mut overrides = ParamOverrides::default();
        assert_eq!(overrides.get(&gain), 0.5);
        overrides.set(gain.as_ptr(), 0.75);
        overrides.refresh();
        assert_eq!(overrides.get(&gain), 1.5, "0.75 of 0..2");
        // SAFETY: `gain` is alive; this is what the host wrapper does on automation.
        unsafe { gain.as_ptr()._internal_set_normalized_value(0.1) };
        overrides.refresh();
        assert!(!overrides.is_overridden(gain.as_ptr()));
        assert!((overrides.get(&gain) - 0.2).abs() < 1e-6, "the host wins");
    }

    #[test]
    fn the_oldest_override_gives_way_when_full() {
        let params: Vec<BoolParam> = (0..=MAX_OVERRIDES)
            .map(|n| BoolParam::new(format!("P{n}"), false))
            .collect();
        let mut overrides = ParamOverrides::default();
        for param in &params {
            overrides.set(param.as_ptr(), 1.0);
        }
        assert!(!overrides.is_overridden(params[0].as_ptr()));
        assert!(params[1..].iter().all(|p| overrides.get(p)));
    }
}
