//! The main player settings as host parameters (sync, quantize, lenience, blend, capture
//! cycles), changed through the host like any automation, so the project and the host's
//! automation lanes see every change.
//!
//! Every change is one complete host gesture (begin, values, end): a drag holds the gesture
//! open until the pointer is released, a click or a choice from a list is begin-set-end at
//! once. A gesture left open would keep the parameter "touched" in the host's automation.

use nice_plug::prelude::{Param, ParamSetter};

use crate::params::LoopmateParams;

/// Settings with at most this many values are chosen from a list; others get a slider.
const MAX_LISTED_VALUES: usize = 32;

/// Width of a slider or list, in points.
const CONTROL_WIDTH: f32 = 220.0;

/// Draws one row per setting with a control for it; without a connection to the host
/// (`setter` is `None`: the editor is drawn outside a plugin window) the values are only shown.
pub fn show(ui: &mut egui::Ui, params: &LoopmateParams, setter: Option<&ParamSetter>) {
    egui::Grid::new("settings").num_columns(2).show(ui, |ui| {
        row(ui, &params.sync.mode, setter);
        row(ui, &params.sync.bars, setter);
        row(ui, &params.sync.transport_stop, setter);
        row(ui, &params.quantize_mode, setter);
        row(ui, &params.lenience_ms, setter);
        row(ui, &params.blend_ms, setter);
        row(ui, &params.capture_cycles, setter);
        row(ui, &params.dub_feedback, setter);
        row(ui, &params.input_latency_ms, setter);
        row(ui, &params.phones_delay_ms, setter);
    });
}

fn row<P: Param>(ui: &mut egui::Ui, param: &P, setter: Option<&ParamSetter>) {
    let name = ui.label(param.name()).id;
    let value = param.to_string();
    match setter {
        Some(setter) => match param.step_count() {
            Some(steps) if steps < MAX_LISTED_VALUES => {
                list(ui, param, setter, steps, &value).labelled_by(name);
            }
            _ => {
                slider(ui, param, setter, &value).labelled_by(name);
            }
        },
        None => {
            ui.label(value);
        }
    }
    ui.end_row();
}

/// A drop-down list of the parameter's `steps + 1` values.
fn list<P: Param>(
    ui: &mut egui::Ui,
    param: &P,
    setter: &ParamSetter,
    steps: usize,
    value: &str,
) -> egui::Response {
    let current = param.unmodulated_normalized_value();
    let mut chosen = None;
    let response = egui::ComboBox::from_id_salt(param.name())
        .selected_text(value)
        .width(CONTROL_WIDTH)
        .show_ui(ui, |ui| {
            for step in 0..=steps {
                let normalized = step as f32 / steps.max(1) as f32;
                let text = param.normalized_value_to_string(normalized, true);
                let selected = (normalized - current).abs() < 0.5 / steps.max(1) as f32;
                if ui.selectable_label(selected, text).clicked() && !selected {
                    chosen = Some(normalized);
                }
            }
        })
        .response;
    if let Some(normalized) = chosen {
        setter.begin_set_parameter(param);
        setter.set_parameter_normalized(param, normalized);
        setter.end_set_parameter(param);
    }
    response
}

/// A slider over the parameter's normalized range, with its value as text beside it.
fn slider<P: Param>(
    ui: &mut egui::Ui,
    param: &P,
    setter: &ParamSetter,
    value: &str,
) -> egui::Response {
    let mut normalized = param.unmodulated_normalized_value();
    let response = ui
        .horizontal(|ui| {
            ui.spacing_mut().slider_width = CONTROL_WIDTH;
            let response = ui.add(egui::Slider::new(&mut normalized, 0.0..=1.0).show_value(false));
            ui.label(value);
            response
        })
        .inner;
    let open_id = response.id.with("gesture open");
    let open = ui.data(|data| data.get_temp::<bool>(open_id).unwrap_or(false));
    if response.changed() {
        if !open {
            setter.begin_set_parameter(param);
        }
        setter.set_parameter_normalized(param, normalized);
        if response.dragged() {
            ui.data_mut(|data| data.insert_temp(open_id, true));
        } else {
            setter.end_set_parameter(param);
            ui.data_mut(|data| data.remove::<bool>(open_id));
        }
    } else if open && !response.dragged() {
        // The drag ended (or the widget lost the pointer) without a last change.
        setter.end_set_parameter(param);
        ui.data_mut(|data| data.remove::<bool>(open_id));
    }
    response
}
