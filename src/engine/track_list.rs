//! The track list: every track, oldest (the anchor) first: playing ones, ones kept (silent)
//! while the undo history can bring them back (undone, removed, cleared), and ones no longer
//! wanted fading out until they are handed back to the keeper. It numbers tracks, grows by
//! taking a larger list from the keeper, keeps mute and solo audibility, and hands
//! finished-with tracks back. It keeps the selected loop, the one the per-loop commands act
//! on: every loop joining the mix (a take, a capture, an import, a redo) selects itself, and
//! while the selected loop is out of the mix (undone, removed, cleared) the newest playing loop
//! is the selected one.
//!
//! Realtime: runs on the audio thread; it never allocates (larger lists come from the keeper).

use std::ops::{Deref, DerefMut};

use super::command::Select;
use super::pool::{Garbage, TrackPool};
use super::session::SessionOut;
use super::session_event::SessionEvent;
use super::track::{Track, TrackState};

/// The tracks, the id the next one gets and the selected loop.
pub struct TrackList {
    /// Every track, in the order they joined.
    tracks: Vec<Track>,
    /// The id the next track gets (ids increase in the order tracks join).
    next_id: u64,
    /// The id of the loop last selected (by the player or by joining the mix). It is the
    /// selected loop while it plays; otherwise the newest playing loop is (see
    /// [`TrackList::selected_index`]), so no way out of the mix can leave a stale selection.
    selected_id: Option<u64>,
}

impl Deref for TrackList {
    type Target = [Track];

    fn deref(&self) -> &[Track] {
        &self.tracks
    }
}

impl DerefMut for TrackList {
    fn deref_mut(&mut self) -> &mut [Track] {
        &mut self.tracks
    }
}

impl<'a> IntoIterator for &'a TrackList {
    type Item = &'a Track;
    type IntoIter = std::slice::Iter<'a, Track>;

    fn into_iter(self) -> Self::IntoIter {
        self.tracks.iter()
    }
}

impl<'a> IntoIterator for &'a mut TrackList {
    type Item = &'a mut Track;
    type IntoIter = std::slice::IterMut<'a, Track>;

    fn into_iter(self) -> Self::IntoIter {
        self.tracks.iter_mut()
    }
}

impl TrackList {
    /// An empty list with room for `slots` tracks. Not realtime-safe (it allocates).
    pub fn with_capacity(slots: usize) -> Self {
        Self {
            tracks: Vec::with_capacity(slots),
            next_id: 0,
            selected_id: None,
        }
    }

    /// Tracks in the mix (not undone or cleared), oldest first.
    pub fn playing(&self) -> impl Iterator<Item = &Track> {
        self.tracks
            .iter()
            .filter(|track| track.state == TrackState::Playing)
    }

    /// The selected loop's place among the playing tracks (0: the oldest): the loop last
    /// selected while it plays, else the newest playing loop; `None` with nothing playing.
    pub fn selected_index(&self) -> Option<usize> {
        let mut newest = None;
        for (n, track) in self.playing().enumerate() {
            if Some(track.id) == self.selected_id {
                return Some(n);
            }
            newest = Some(n);
        }
        newest
    }

    /// The id of the loop last selected, whether it plays or not (what a saved state keeps).
    pub fn selected_id(&self) -> Option<u64> {
        self.selected_id
    }

    /// Selects the track `id` and tells the session mirror.
    pub fn select_id(&mut self, id: u64, session: &mut SessionOut) {
        self.selected_id = Some(id);
        session.tell(SessionEvent::Selected { id });
    }

    /// Moves the selection as `select` says; next and previous wrap around. Nothing changes
    /// with nothing playing, or for a loop number past the newest.
    pub fn select(&mut self, select: Select, session: &mut SessionOut) {
        let (Some(current), count) = (self.selected_index(), self.playing().count()) else {
            return;
        };
        let n = match select {
            Select::Next => (current + 1) % count,
            Select::Previous => (current + count - 1) % count,
            Select::Newest => count - 1,
            Select::Loop(n) => n as usize,
        };
        let id = self.playing().nth(n).map(|track| track.id);
        if let Some(id) = id {
            self.select_id(id, session);
        }
    }

    /// Adds a track with the next id and tells the session mirror; returns the id. Refuses
    /// (handing its storage back) when no slot is free yet, until the keeper's larger list comes.
    pub fn push(
        &mut self,
        mut track: Track,
        pool: &mut TrackPool,
        session: &mut SessionOut,
    ) -> Option<u64> {
        self.adopt_larger(pool);
        if self.tracks.len() == self.tracks.capacity() {
            pool.retire_buffer(track.buffer);
            return None;
        }
        let id = self.next_id;
        track.id = id;
        // Saturating: a crafted state can restore ids up to u64::MAX.
        self.next_id = self.next_id.saturating_add(1);
        session.track_added(&track);
        let id = track.id;
        self.tracks.push(track);
        self.select_id(id, session);
        self.request_larger_if_half_full(pool);
        Some(id)
    }

    /// Asks the keeper for a larger list once this one is half full.
    fn request_larger_if_half_full(&self, pool: &TrackPool) {
        if self.tracks.len() * 2 >= self.tracks.capacity() {
            pool.request_list(self.tracks.capacity() * 2);
        }
    }

    /// Moves the tracks into a larger list from the keeper, if one came. Moving is a copy of the
    /// small track headers; the audio stays where it is.
    pub fn adopt_larger(&mut self, pool: &mut TrackPool) {
        if let Some(mut list) = pool.take_list() {
            if list.capacity() > self.tracks.capacity() {
                list.append(&mut self.tracks);
                std::mem::swap(&mut self.tracks, &mut list);
            }
            pool.retire(Garbage::List(list));
        }
    }

    /// Ramps every track to audible or silent from its mute and the solos over `ramp_samples`.
    pub fn set_audibility(&mut self, ramp_samples: u32) {
        let any_solo = self.playing().any(|track| track.soloed);
        for track in &mut self.tracks {
            let audible = !track.muted && (!any_solo || track.soloed);
            let target = if audible { 1.0 } else { 0.0 };
            if track.audibility.target() != target {
                track.audibility.ramp_to(target, ramp_samples);
            }
        }
    }

    /// Hands tracks no longer wanted (discarding) whose fade-out has finished back to the keeper.
    pub fn hand_back_faded(&mut self, pool: &mut TrackPool) {
        // One pass, no allocation: `extract_if` moves the matching tracks out in place.
        let silent =
            |track: &mut Track| track.state == TrackState::Discarding && track.is_faded_out();
        for mut track in self.tracks.extract_if(.., silent) {
            if let Some(audio) = track.take_spent_audio() {
                pool.retire(Garbage::Audio(audio));
            }
            pool.retire_buffer(track.buffer);
        }
    }

    /// Hands the versions ended crossfades read to the pool (after every action and block).
    pub fn retire_spent_audio(&mut self, pool: &mut TrackPool) {
        for track in self.tracks.iter_mut() {
            if let Some(audio) = track.take_spent_audio() {
                pool.retire(Garbage::Audio(audio));
            }
        }
    }

    /// Installs a restored session's `tracks` (swapped in: the old tracks are left in `tracks`
    /// to be handed back) with its selection (`None`: the newest loop), and numbers new tracks
    /// from `next_id` on.
    pub fn install(
        &mut self,
        tracks: &mut Vec<Track>,
        selected_id: Option<u64>,
        next_id: u64,
        pool: &TrackPool,
    ) {
        std::mem::swap(&mut self.tracks, tracks);
        self.selected_id = selected_id;
        self.next_id = next_id;
        self.request_larger_if_half_full(pool);
    }
}
