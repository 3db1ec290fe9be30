//! The editor window's size and zoom, kept while the window is closed and saved with the project.

use std::sync::Arc;

use nice_plug::editor::dpi::LogicalSize;
use nice_plug::params::persist::PersistentField;
use nice_plug_egui::EguiEditorState;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The editor's default size, in logical points.
pub const DEFAULT_SIZE: (f32, f32) = (1000.0, 800.0);
/// Smallest size a saved state may ask for, in logical points.
const MIN_SIZE: (f32, f32) = (480.0, 360.0);
/// Largest size a saved state may ask for, in logical points.
const MAX_SIZE: (f32, f32) = (8192.0, 8192.0);
/// Zoom factors a saved state may ask for.
const ZOOM_RANGE: (f32, f32) = (0.5, 4.0);

/// Size and zoom as saved in the state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SavedGeometry {
    /// Width in logical points.
    pub width: f32,
    /// Height in logical points.
    pub height: f32,
    /// The player's zoom (scale) factor on top of the system's.
    pub zoom: f32,
}

impl SavedGeometry {
    /// The same geometry with absurd values (NaN, zero, gigantic) replaced by safe ones.
    fn sanitized(self) -> Self {
        let clamp = |value: f32, (low, high): (f32, f32), default: f32| {
            if value.is_finite() {
                value.clamp(low, high)
            } else {
                default
            }
        };
        Self {
            width: clamp(self.width, (MIN_SIZE.0, MAX_SIZE.0), DEFAULT_SIZE.0),
            height: clamp(self.height, (MIN_SIZE.1, MAX_SIZE.1), DEFAULT_SIZE.1),
            zoom: clamp(self.zoom, ZOOM_RANGE, 1.0),
        }
    }
}

/// The live editor state (nice-plug-egui updates its size when the host resizes the window),
/// persisted as a [`SavedGeometry`]. Touched only by the GUI and main threads.
pub struct EditorGeometry(Mutex<Arc<EguiEditorState>>);

impl Default for EditorGeometry {
    fn default() -> Self {
        Self(Mutex::new(state_of(SavedGeometry {
            width: DEFAULT_SIZE.0,
            height: DEFAULT_SIZE.1,
            zoom: 1.0,
        })))
    }
}

impl EditorGeometry {
    /// The state to open the editor with.
    pub fn state(&self) -> Arc<EguiEditorState> {
        self.0.lock().clone()
    }
}

fn state_of(geometry: SavedGeometry) -> Arc<EguiEditorState> {
    let geometry = geometry.sanitized();
    EguiEditorState::from_size(
        LogicalSize::new(geometry.width, geometry.height),
        geometry.zoom,
    )
}

impl<'a> PersistentField<'a, SavedGeometry> for EditorGeometry {
    fn set(&self, geometry: SavedGeometry) {
        *self.0.lock() = state_of(geometry);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&SavedGeometry) -> R,
    {
        let state = self.0.lock();
        let size = state.logical_size();
        f(&SavedGeometry {
            width: size.width,
            height: size.height,
            zoom: state.user_scale_factor(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(geometry: &EditorGeometry) -> SavedGeometry {
        geometry.map(|g| *g)
    }

    #[test]
    fn a_saved_size_and_zoom_come_back() {
        let geometry = EditorGeometry::default();
        assert_eq!(saved(&geometry).width, DEFAULT_SIZE.0);
        let wanted = SavedGeometry {
            width: 1400.0,
            height: 900.0,
            zoom: 1.5,
        };
        geometry.set(wanted);
        assert_eq!(saved(&geometry), wanted);
        let json = geometry
            .map(nice_plug::params::persist::serialize_field)
            .unwrap();
        let restored = EditorGeometry::default();
        restored.set(nice_plug::params::persist::deserialize_field(&json).unwrap());
        assert_eq!(saved(&restored), wanted);
    }

    #[test]
    fn absurd_saved_values_become_safe_ones() {
        let geometry = EditorGeometry::default();
        geometry.set(SavedGeometry {
            width: f32::NAN,
            height: 1e12,
            zoom: 0.0,
        });
        assert_eq!(
            saved(&geometry),
            SavedGeometry {
                width: DEFAULT_SIZE.0,
                height: MAX_SIZE.1,
                zoom: ZOOM_RANGE.0,
            }
        );
    }
}
