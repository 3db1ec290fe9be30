//! The main player settings as host parameters (sync, quantize, lenience, blend, capture
//! cycles), changed through the host like any automation, so the project and the host's
//! automation lanes see every change.

use nice_plug::prelude::{Param, ParamSetter};
use nice_plug_egui::widgets::ParamSlider;

use crate::params::LoopmateParams;

/// Draws one row per setting with the host's slider for it; without a connection to the host
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
    });
}

fn row<P: Param>(ui: &mut egui::Ui, param: &P, setter: Option<&ParamSetter>) {
    ui.label(param.name());
    match setter {
        Some(setter) => {
            ui.add(ParamSlider::for_param(param, setter).with_width(220.0));
        }
        None => {
            ui.label(param.to_string());
        }
    }
    ui.end_row();
}
