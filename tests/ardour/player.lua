ardour {
	["type"]    = "dsp",
	name        = "Loopmate test player",
	category    = "Utility",
	license     = "MIT",
	author      = "Loopmate tests",
	description = [[The test's player, placed before Loopmate on the track: plays seeded noise
keyed by the timeline sample (so any stretch of the export tells where on the timeline it was
played) and sends note-ons at fixed timeline samples to the plugin's MIDI input.]]
}

-- The test writes this file with the presses filled in: { {sample, note}, ... }.
local presses = @PRESSES@

function dsp_ioconfig ()
	return { { audio_in = 2, audio_out = 2, midi_out = 1 } }
end

-- Must match `noise` in ardour_host.py bit for bit (integer hash of the sample, then one
-- float division; the buffer stores it as f32 as numpy does).
local function noise (t, channel)
	local h = (t * 2654435761 + channel * 40503 + 12345) & 0xFFFFFFFF
	h = ((h ~ (h >> 15)) * 2246822519) & 0xFFFFFFFF
	h = ((h ~ (h >> 13)) * 3266489917) & 0xFFFFFFFF
	h = h ~ (h >> 16)
	return ((h >> 8) / 16777216.0 - 0.5) * 0.5
end

function dsp_runmap (bufs, in_map, out_map, n_samples, offset)
	-- The transport sample is the cycle's start; `offset` is where this (split) run begins.
	local rolling = Session:transport_rolling ()
	local pos = Session:transport_sample () + offset
	for c = 1, 2 do
		local b = out_map:get (ARDOUR.DataType ("audio"), c - 1)
		if b ~= ARDOUR.ChanMapping.Invalid then
			local a = bufs:get_audio (b):data (offset):array ()
			for i = 1, n_samples do
				a[i] = rolling and noise (pos + i - 1, c) or 0
			end
		end
	end
	local m = out_map:get (ARDOUR.DataType ("midi"), 0)
	if m == ARDOUR.ChanMapping.Invalid then
		return
	end
	local mb = bufs:get_midi (m)
	mb:silence (n_samples, offset)
	if not rolling then
		return
	end
	for _, press in ipairs (presses) do
		local at, note = press[1], press[2]
		if at >= pos and at < pos + n_samples then
			local bytes = C.ByteVector ()
			bytes:add ({ 0x90, note, 100 })
			-- Ardour 7's MidiBuffer::push_back (time, event type (1: MIDI), size, data).
			mb:push_back (offset + at - pos, 1, bytes:size (), bytes:to_array ())
		end
	end
end
