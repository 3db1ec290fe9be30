//! The loop board: every playing loop as the editor's tiles show it (length, playhead, controls,
//! selection, the trigger aimed at it), with no 16-track limit. Unlike [`EngineStatus`], which
//! is copied whole every block, the board is large (up to [`MAX_TILES`] tiles): its buffers are
//! allocated once, off the audio thread, and the audio thread rewrites one in place at most
//! every [`BOARD_INTERVAL_SECS`] of engine time, and at once when the loop list or the
//! selection changes.
//!
//! [`EngineStatus`]: super::EngineStatus

use super::Engine;
use super::action::Action;
use super::command::TriggerAction;
use super::speed::Speed;
use super::status::TrackStatus;

/// Tiles a board holds by default; loops past it are counted in [`LoopBoard::hidden_count`].
pub const MAX_TILES: usize = 256;

/// Engine time between two boards while nothing but playheads and controls change, in seconds
/// (a 100 Hz picture: smoother than the editor's 30 Hz redraw).
pub const BOARD_INTERVAL_SECS: f64 = 0.01;

/// A trigger waiting to fire on one loop, with its countdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePending {
    /// What it will do.
    pub action: TriggerAction,
    /// Samples from the board's time until it fires.
    pub in_samples: u64,
    /// Firings left, `None` for forever.
    pub remaining: Option<u32>,
}

/// One loop's tile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileStatus {
    /// Its length, playhead, gain, pan, mute, solo, speed, direction, layers and effect switches.
    pub track: TrackStatus,
    /// Whether it is the selected loop (the one per-loop commands act on).
    pub selected: bool,
    /// The trigger aimed at it, if one waits (at most one: a second one cancels the first).
    pub pending: Option<TilePending>,
}

/// What fills a board's unused tiles.
pub const BLANK_TILE: TileStatus = TileStatus {
    track: TrackStatus {
        id: 0,
        cycles: 0,
        length_samples: 0,
        speed: Speed::NORMAL,
        position_samples: 0,
        gain: 0.0,
        pan: 0.0,
        muted: false,
        soloed: false,
        filter_on: false,
        drive_on: false,
        delay_on: false,
        reversed: false,
        layers: 0,
    },
    selected: false,
    pending: None,
};

/// Every playing loop, in mix order (the anchor first), as of `now_samples`.
#[derive(Debug, Clone)]
pub struct LoopBoard {
    /// Sample rate in Hz (for the countdowns in seconds).
    pub sample_rate_hz: f32,
    /// Engine time the board shows, in samples since activation.
    pub now_samples: u64,
    /// Playing loops past the board's capacity, not listed.
    pub hidden_count: usize,
    /// The tiles; the first `count` are the loops, the rest are spare room.
    tiles: Box<[TileStatus]>,
    /// Tiles in use.
    count: usize,
    /// Scratch room for finding a tile by its loop's id: the first `count` hold `(id, place)`
    /// of the listed tiles, sorted by id, while a fill places triggers. A boxed slice as long as
    /// `tiles`, not a `Vec`: the triple buffer's clones must keep the room (a cloned `Vec` has
    /// no spare capacity, and filling it would allocate on the audio thread).
    by_id: Box<[(u64, usize)]>,
}

impl LoopBoard {
    /// An empty board with room for `capacity` tiles. Allocates: call it off the audio thread.
    pub fn with_capacity(capacity: usize, sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz,
            now_samples: 0,
            hidden_count: 0,
            tiles: vec![BLANK_TILE; capacity].into_boxed_slice(),
            count: 0,
            by_id: vec![(0, 0); capacity].into_boxed_slice(),
        }
    }

    /// A board listing `tiles` (the first `capacity` of them), as of `now_samples`: for
    /// pictures made off the audio thread (tests, benchmarks). Allocates.
    pub fn from_tiles(
        tiles: &[TileStatus],
        capacity: usize,
        sample_rate_hz: f32,
        now_samples: u64,
    ) -> Self {
        let mut board = Self::with_capacity(capacity, sample_rate_hz);
        board.now_samples = now_samples;
        for tile in tiles {
            board.push(*tile);
        }
        board
    }

    /// The loops, in mix order.
    pub fn tiles(&self) -> &[TileStatus] {
        &self.tiles[..self.count]
    }

    /// Tiles the board can hold.
    pub fn capacity(&self) -> usize {
        self.tiles.len()
    }

    /// Playing loops, listed or not.
    pub fn loop_count(&self) -> usize {
        self.count + self.hidden_count
    }

    /// The selected loop's place in the mix, if it is listed.
    pub fn selected_index(&self) -> Option<usize> {
        self.tiles().iter().position(|tile| tile.selected)
    }

    /// Sorts the listed tiles' ids into `by_id`, for [`LoopBoard::place_of`]. Realtime-safe:
    /// within the room allocated with the board, and the sort is in place.
    fn index_by_id(&mut self) {
        let listed = self.tiles[..self.count].iter().enumerate();
        for (slot, (place, tile)) in self.by_id.iter_mut().zip(listed) {
            *slot = (tile.track.id, place);
        }
        self.by_id[..self.count].sort_unstable_by_key(|&(id, _)| id);
    }

    /// The place of the loop `track_id`'s tile, once [`LoopBoard::index_by_id`] ran.
    fn place_of(&self, track_id: u64) -> Option<usize> {
        let by_id = &self.by_id[..self.count];
        let found = by_id.binary_search_by_key(&track_id, |&(id, _)| id);
        found.ok().map(|at| by_id[at].1)
    }

    /// Adds a tile, or counts it as hidden when the board is full. Realtime-safe.
    fn push(&mut self, tile: TileStatus) {
        match self.tiles.get_mut(self.count) {
            Some(slot) => {
                *slot = tile;
                self.count += 1;
            }
            None => self.hidden_count += 1,
        }
    }
}

/// Boards are equal when they show the same loops at the same time (spare room aside).
impl PartialEq for LoopBoard {
    fn eq(&self, other: &Self) -> bool {
        self.sample_rate_hz == other.sample_rate_hz
            && self.now_samples == other.now_samples
            && self.hidden_count == other.hidden_count
            && self.tiles() == other.tiles()
    }
}

impl Engine {
    /// Rewrites `board` in place with every playing loop as of now. Realtime-safe: no
    /// allocation; the loops past the board's capacity are only counted.
    pub fn fill_board(&self, board: &mut LoopBoard) {
        let selected = self.shared.tracks.selected_index();
        board.sample_rate_hz = self.shared.config.sample_rate_hz;
        board.now_samples = self.shared.now_samples;
        board.count = 0;
        board.hidden_count = 0;
        for (n, track) in self.playing_tracks().enumerate() {
            board.push(TileStatus {
                track: self.track_status(track),
                selected: selected == Some(n),
                pending: None,
            });
        }
        // Triggers find their tiles through an index by id, built at the first one: triggers
        // on every one of 256 loops cost a sort and 256 searches, not 65 536 comparisons.
        let mut indexed = false;
        for scheduled in self.shared.schedule.iter() {
            let Action::Trigger {
                action, remaining, ..
            } = scheduled.action
            else {
                continue;
            };
            let Some(track_id) = action.track_id() else {
                continue;
            };
            if !indexed {
                board.index_by_id();
                indexed = true;
            }
            if let Some(place) = board.place_of(track_id) {
                board.tiles[place].pending = Some(TilePending {
                    action,
                    in_samples: scheduled.at_samples.saturating_sub(board.now_samples),
                    remaining,
                });
            }
        }
    }

    /// A digest of the playing loops' ids and the selection: it changes when a loop comes,
    /// goes or is selected (what a board must show at once). Realtime-safe.
    pub fn loop_list_digest(&self) -> u64 {
        // FNV-1a over the ids, then the selected place; a collision only delays a board by
        // `BOARD_INTERVAL_SECS`.
        let mix = |digest: u64, value: u64| (digest ^ value).wrapping_mul(0x0100_0000_01b3);
        let ids = self.playing_tracks().map(|track| track.id);
        let digest = ids.fold(0xcbf2_9ce4_8422_2325, mix);
        let selected = self
            .shared
            .tracks
            .selected_index()
            .map_or(u64::MAX, |n| n as u64);
        mix(digest, selected)
    }
}

/// The audio thread's end of the board link: decides when a board is due and writes it in
/// place into the triple buffer's back buffer.
pub struct BoardWriter {
    /// Where boards go.
    input: triple_buffer::Input<LoopBoard>,
    /// Engine time of the last board written, in samples (`None`: none yet).
    written_at_samples: Option<u64>,
    /// [`Engine::loop_list_digest`] when the last board was written.
    written_digest: u64,
}

impl BoardWriter {
    /// A link whose boards hold `capacity` tiles, and the editor's end. Allocates (the three
    /// boards): call it off the audio thread.
    pub fn new(capacity: usize, sample_rate_hz: f32) -> (Self, triple_buffer::Output<LoopBoard>) {
        let (input, output) =
            triple_buffer::triple_buffer(&LoopBoard::with_capacity(capacity, sample_rate_hz));
        let writer = Self {
            input,
            written_at_samples: None,
            written_digest: 0,
        };
        (writer, output)
    }

    /// After a block: writes and publishes a board when one is due (the loop list or the
    /// selection changed, or [`BOARD_INTERVAL_SECS`] of engine time passed). Returns whether it
    /// wrote one. Realtime-safe: runs on the audio thread, rewrites a board in place.
    pub fn update(&mut self, engine: &Engine) -> bool {
        let now = engine.now_samples();
        let interval_samples =
            (BOARD_INTERVAL_SECS * f64::from(engine.config().sample_rate_hz)).max(1.0) as u64;
        let digest = engine.loop_list_digest();
        let due = match self.written_at_samples {
            None => true,
            Some(at) => now.saturating_sub(at) >= interval_samples || digest != self.written_digest,
        };
        if due {
            engine.fill_board(self.input.input_buffer_mut());
            self.input.publish();
            self.written_at_samples = Some(now);
            self.written_digest = digest;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_is_found_by_its_loops_id_whatever_the_order_of_the_ids() {
        // Ids out of order, as after loops are re-ordered or a performance is loaded.
        let ids = [7u64, 3, 250, 0, 12, 99, 5];
        let tiles: Vec<TileStatus> = (ids.iter())
            .map(|&id| TileStatus {
                track: TrackStatus {
                    id,
                    ..BLANK_TILE.track
                },
                ..BLANK_TILE
            })
            .collect();
        let mut board = LoopBoard::from_tiles(&tiles, 16, 48_000.0, 0);
        board.index_by_id();
        for (place, id) in ids.iter().enumerate() {
            assert_eq!(board.place_of(*id), Some(place), "id {id}");
        }
        assert_eq!(board.place_of(8), None);
    }
}
