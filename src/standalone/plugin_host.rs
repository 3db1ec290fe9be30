//! The plugin as the standalone hosts it: the same [`Loopmate`] a DAW loads, activated at the
//! backend's rate and period, with the editor's parameter changes queued to the audio thread
//! (as a DAW does) and its window opened on the main thread.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nice_plug::context::PluginApi;
use nice_plug::context::gui::{AsyncExecutor, GuiContext, GuiContextInner};
use nice_plug::editor::{EditorHandle, SpawnedEditor};
use nice_plug::params::internals::ParamPtr;
use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::*;
use parking_lot::Mutex;

use super::processor::{ParamChange, Processor};
use crate::Loopmate;

/// Parameter changes the editor can queue between two blocks.
const PARAM_QUEUE_CAPACITY: usize = 1024;

/// The plugin before its audio thread starts, and the editor's ends of its links.
pub struct PluginHost {
    /// The plugin, until [`PluginHost::processor`] hands it to the audio thread.
    plugin: Loopmate,
    /// The editor, if the plugin has one.
    editor: Option<<Loopmate as Plugin>::Editor>,
    /// The editor's context: parameter changes to the audio thread.
    gui: Arc<StandaloneGui>,
    /// The audio thread's end of the parameter queue.
    param_changes: rtrb::Consumer<ParamChange>,
    /// Set to close the editor window (Ctrl-C, SIGTERM).
    close_requested: Arc<AtomicBool>,
    /// Sample rate in hertz.
    sample_rate_hz: f32,
    /// Channels recorded.
    input_channels: usize,
    /// Longest period, in frames.
    max_frames: usize,
}

impl PluginHost {
    /// A new plugin, activated for `sample_rate_hz` and periods up to `max_frames`, recording
    /// one or two channels. `before_activate` runs on the plugin before it activates (loading a
    /// performance or a MIDI map). Not realtime.
    pub fn new(
        sample_rate_hz: f32,
        max_frames: u32,
        input_channels: usize,
        before_activate: impl FnOnce(&Loopmate) -> Result<(), String>,
    ) -> Result<Self, String> {
        let mut plugin = Loopmate::default();
        let params = plugin.params();
        let param_map = params.param_map();
        for (_, param, _) in &param_map {
            // SAFETY: the pointers come from the plugin's own live parameters.
            unsafe { param._internal_update_smoother(sample_rate_hz, true) };
        }
        before_activate(&plugin)?;
        let layout = Loopmate::AUDIO_IO_LAYOUTS
            .iter()
            .find(|layout| {
                layout.main_input_channels.map(|c| c.get() as usize) == Some(input_channels)
            })
            .ok_or_else(|| format!("no layout records {input_channels} input channels"))?;
        let buffer_config = BufferConfig {
            sample_rate: sample_rate_hz,
            min_buffer_size: None,
            max_buffer_size: max_frames,
            process_mode: ProcessMode::Realtime,
        };
        if !plugin.activate(layout, &buffer_config, &mut ActivateCx) {
            return Err("the looper could not start (see the messages above)".to_owned());
        }
        plugin.reset();
        let (producer, param_changes) = rtrb::RingBuffer::new(PARAM_QUEUE_CAPACITY);
        let gui = Arc::new(StandaloneGui {
            params,
            param_map: param_map
                .into_iter()
                .map(|(id, ptr, _)| (id, ptr))
                .collect(),
            changes: Mutex::new(producer),
        });
        let noop = || Arc::new(|_: ()| {}) as Arc<dyn Fn(()) + Send + Sync>;
        let editor = plugin.editor(AsyncExecutor::new(noop(), noop()));
        Ok(Self {
            close_requested: plugin.close_request_flag(),
            plugin,
            editor,
            gui,
            param_changes,
            sample_rate_hz,
            input_channels,
            max_frames: max_frames as usize,
        })
    }

    /// Sets parameters as the editor does, from another thread (calibration, the configuration).
    pub fn param_writer(&self) -> ParamWriter {
        ParamWriter(self.gui.clone())
    }

    /// The editor's *Calibrate latency* button.
    pub fn calibration_control(&self) -> Arc<crate::calibrate::control::CalibrationControl> {
        self.plugin.calibration_control()
    }

    /// The flag that closes the editor window and ends [`PluginHost::run_editor`].
    pub fn close_requested(&self) -> Arc<AtomicBool> {
        self.close_requested.clone()
    }

    /// Splits the host: the audio thread's processor (which owns the plugin from now on) and
    /// the editor, to run on this thread.
    pub fn split(self) -> (Processor, EditorHost) {
        let processor = Processor::new(
            self.plugin,
            self.sample_rate_hz,
            self.input_channels,
            self.max_frames,
            self.param_changes,
        );
        let editor = EditorHost {
            editor: self.editor,
            gui: self.gui,
            close_requested: self.close_requested,
        };
        (processor, editor)
    }
}

/// The editor window's side of the standalone.
pub struct EditorHost {
    /// The editor, if the plugin has one.
    editor: Option<<Loopmate as Plugin>::Editor>,
    /// Its context.
    gui: Arc<StandaloneGui>,
    /// Closes the window.
    close_requested: Arc<AtomicBool>,
}

impl EditorHost {
    /// Opens the editor and blocks until it is closed, or until `close_requested` is set (then
    /// the editor closes itself). Without a window, only blocks until `close_requested`.
    pub fn run(self, with_window: bool) -> Result<(), String> {
        if let (true, Some(editor)) = (with_window, &self.editor) {
            let context = GuiContext::new(self.gui.clone());
            let SpawnedEditor { handle, window } =
                editor
                    .spawn(None, false, None, context, None)
                    .map_err(|error| format!("cannot open the editor window: {error}"))?;
            let result = <<Loopmate as Plugin>::Editor as Editor>::Handle::run_until_closed(window)
                .map_err(|error| format!("the editor window failed: {error}"));
            drop(handle);
            return result;
        }
        while !self.close_requested.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }
}

/// Sets parameters by id through the editor's queue (applied at the next period's start, and
/// shown by the editor). Not realtime.
#[derive(Clone)]
pub struct ParamWriter(Arc<StandaloneGui>);

impl ParamWriter {
    /// Sets parameter `id` to `plain` (in its own unit, clamped to its range); false if no
    /// parameter has that id.
    pub fn set_plain(&self, id: &str, plain: f32) -> bool {
        let Some((_, param)) = self.0.param_map.iter().find(|(known, _)| known == id) else {
            return false;
        };
        // SAFETY: the pointer comes from the plugin's own live parameters.
        unsafe {
            let normalized = param.preview_normalized(plain);
            self.0.raw_set_parameter_normalized(*param, normalized);
        }
        true
    }
}

/// The editor's context in the standalone: parameter changes go to the audio thread through a
/// queue, applied at the next block's start.
struct StandaloneGui {
    /// The plugin's parameters.
    params: Arc<dyn Params>,
    /// Parameter ids and pointers.
    param_map: Vec<(String, ParamPtr)>,
    /// The editor's end of the parameter queue.
    changes: Mutex<rtrb::Producer<ParamChange>>,
}

impl GuiContextInner for StandaloneGui {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Standalone
    }

    unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {}

    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        if self
            .changes
            .lock()
            .push(ParamChange { param, normalized })
            .is_err()
        {
            nice_warn!("Loopmate: the parameter queue is full, a change was dropped");
        }
    }

    unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {}

    /// The parameters (normalized) and the persisted fields, for the editor's own presets.
    fn get_state(&self) -> PluginState {
        let params = (self.param_map.iter())
            .map(|(id, param)| {
                // SAFETY: the pointers come from the plugin's own live parameters.
                let normalized = unsafe { param.unmodulated_normalized_value() };
                (id.clone(), ParamValue::F32(normalized))
            })
            .collect::<BTreeMap<_, _>>();
        PluginState {
            version: Loopmate::VERSION.to_owned(),
            params,
            fields: self.params.serialize_fields(),
        }
    }

    /// Loads what [`Self::get_state`] gave: the parameters through the queue, the fields at once
    /// (the performance field hands its loops to the engine through the session store).
    fn set_state(&self, state: PluginState) {
        for (id, param) in &self.param_map {
            if let Some(ParamValue::F32(normalized)) = state.params.get(id) {
                // SAFETY: a pointer from the plugin's own live parameters.
                unsafe { self.raw_set_parameter_normalized(*param, *normalized) };
            }
        }
        self.params.deserialize_fields(&state.fields);
    }

    fn request_restart(&self) {}
}

/// Activation in the standalone: no background tasks (Loopmate has none), no latency to report.
struct ActivateCx;

impl ActivateContext<Loopmate> for ActivateCx {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Standalone
    }

    fn execute(&self, _task: ()) {}

    fn set_latency_samples(&self, _samples: u32) {}

    fn set_current_voice_capacity(&self, _capacity: u32) {}
}
