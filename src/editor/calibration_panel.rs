//! The *Calibrate latency* button (standalone only: a DAW has its own latency settings) and
//! what the last calibration found.

use crate::calibrate::control::CalibrationControl;

/// Draws the button and the last report; nothing where calibration isn't offered.
pub fn show(ui: &mut egui::Ui, control: &CalibrationControl) {
    if !control.is_available() {
        return;
    }
    let running = control.is_running();
    let label = if running {
        "Calibrating..."
    } else {
        "Calibrate latency"
    };
    let button = ui
        .add_enabled(!running, egui::Button::new(label))
        .on_hover_text(
            "Connect the PA's and the headphones' first outputs to input 1 with a cable (or \
             turn on the interface's loopback) first. Plays a noise burst on each for about 2 \
             seconds, muting everything else, then sets Input latency and Headphone delay and \
             saves them in the configuration file.",
        );
    if button.clicked() {
        control.request();
    }
    let message = control.message();
    if !message.is_empty() {
        ui.label(message);
    }
}
