-- Run by ardour7-lua for tests/ardour/test_ardour_host.py; everything comes from LM_* variables.
--
-- New session (LM_REOPEN unset): an audio track (In) with the test player (player.lua, notes and
-- a test signal) and Loopmate after it; Loopmate's main output goes to the master bus, its
-- headphone output nowhere. Tempo LM_BPM in 4/4 from the start, optionally LM_CHANGE_BPM from
-- bar LM_CHANGE_BAR (0 = the first bar); Loopmate's parameters from LM_PARAMS
-- ("Label=value;..." in the plain values Ardour shows; LM_PARAMS=off_default moves every one
-- off its default).
-- Reopen (LM_REOPEN=1): loads the saved session instead, and says how many of Loopmate's
-- parameters are at their default.
-- A new session is saved before the export. Then the master bus is exported over
-- [0, LM_EXPORT_SAMPLES) to LM_EXPORT_DIR/export.wav (24-bit), and the sample of every bar line
-- is written to LM_BARS_FILE.

local function env (name, default)
	local value = os.getenv (name)
	if value == nil or value == "" then
		assert (default ~= nil, "missing " .. name)
		return default
	end
	return value
end

local dir, name = env ("LM_SESSION_DIR"), env ("LM_SESSION_NAME")
local rate = tonumber (env ("LM_RATE", "48000"))
local export_samples = tonumber (env ("LM_EXPORT_SAMPLES"))

-- Flushed at once: Ardour may crash later, while saving or closing.
local function say (text)
	print (text)
	io.stdout:flush ()
end

assert (AudioEngine:set_backend ("None (Dummy)", "", "") ~= nil, "no dummy backend")

local function find_loopmate (route)
	local i = 0
	while true do
		local proc = route:nth_processor (i)
		if proc:isnil () then
			return nil
		end
		if proc:name () == "Loopmate" then
			return proc
		end
		i = i + 1
	end
end

-- Plain values (what Ardour's controls show) off the default: the other end of a switch, the
-- next step of a list, a value between the default and the top (or bottom) of a range.
local function off_default (desc, default)
	if desc.toggled then
		return default < 0.5 and 1 or 0
	end
	if desc.integer_step then
		return default + 1 <= desc.upper and default + 1 or default - 1
	end
	if default < desc.upper then
		return default + 0.5 * (desc.upper - default)
	end
	return default - 0.5 * (default - desc.lower)
end

local function set_params (proc, spec)
	local plugin = proc:to_insert ():plugin (0)
	local count = plugin:parameter_count ()
	if spec == "off_default" then
		local moved = 0
		for i = 0, count - 1 do
			if plugin:parameter_is_input (i) then
				local _, t = plugin:get_parameter_descriptor (i, ARDOUR.ParameterDescriptor ())
				local desc = t[2]
				local value = off_default (desc, desc.normal)
				assert (ARDOUR.LuaAPI.set_processor_param (proc, i, value))
				moved = moved + 1
			end
		end
		say ("LM moved parameters off their defaults: " .. moved)
		return
	end
	for label, value in string.gmatch (spec, "([^=;]+)=([^;]+)") do
		local index = nil
		for i = 0, count - 1 do
			if plugin:parameter_is_input (i) and plugin:parameter_label (i) == label then
				index = i
				break
			end
		end
		assert (index ~= nil, "Loopmate has no parameter " .. label)
		assert (ARDOUR.LuaAPI.set_processor_param (proc, index, tonumber (value)))
	end
end

local function build ()
	assert (create_session (dir, name, rate), "cannot create the session")
	local route = Session:new_audio_track (2, 2, nil, 1, "In",
		ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false):front ()
	local player = ARDOUR.LuaAPI.new_luaproc (Session, "Loopmate test player")
	assert (not player:isnil (), "no test player script")
	assert (route:add_processor_by_index (player, 0, nil, true) == 0)
	local loopmate = ARDOUR.LuaAPI.new_plugin (Session, "Loopmate", ARDOUR.PluginType.VST3, "")
	assert (not loopmate:isnil (), "Ardour has not scanned the Loopmate VST3")
	assert (route:add_processor_by_index (loopmate, 1, nil, true) == 0)
	set_params (loopmate, env ("LM_PARAMS", ""))

	-- Loopmate's four outputs become the track's four channels. Without a panner channel n goes
	-- to port n: ports 1-2 (main) feed the master bus, 3-4 (headphones) stay unconnected.
	route:panner_shell ():set_bypassed (true)
	local master = Session:master_out ():input ()
	route:output ():disconnect_all (nil)
	assert (route:output ():nth (0):connect (master:nth (0):name ()) == 0)
	assert (route:output ():nth (1):connect (master:nth (1):name ()) == 0)

	-- Tempo (quarters per minute, ending the same) in 4/4.
	local function tempo (bpm)
		return Temporal.Tempo (bpm, bpm, 4)
	end
	local map = Temporal.TempoMap.fetch_writable ()
	map:set_tempo (tempo (tonumber (env ("LM_BPM"))), Temporal.timepos_t (0))
	local change_bar = tonumber (env ("LM_CHANGE_BAR", "-1"))
	if change_bar >= 0 then
		map:set_tempo (tempo (tonumber (env ("LM_CHANGE_BPM"))),
			Temporal.timepos_t.from_ticks (Temporal.ticks_per_beat * 4 * change_bar))
	end
	Temporal.TempoMap.update (map)
end

if env ("LM_REOPEN", "") == "1" then
	assert (load_session (dir, name), "cannot load the session")
	local route = Session:route_by_name ("In")
	local loopmate = find_loopmate (route)
	assert (loopmate ~= nil, "no Loopmate in the reopened session")
	local plugin = loopmate:to_insert ():plugin (0)
	local at_default = 0
	for i = 0, plugin:parameter_count () - 1 do
		if plugin:parameter_is_input (i) then
			local _, t = plugin:get_parameter_descriptor (i, ARDOUR.ParameterDescriptor ())
			if ARDOUR.LuaAPI.get_processor_param (loopmate, i, true) == t[2].normal then
				at_default = at_default + 1
			end
		end
	end
	say ("LM parameters at their default: " .. at_default)
else
	build ()
	-- Saved before the export: after it, Ardour's butler is still stopping the transport
	-- (clearing automation histories) and a save meanwhile crashed Ardour 1 run in 10. The
	-- dummy backend runs meanwhile, so the parameters set above reach the plugin first.
	ARDOUR.LuaAPI.usleep (500000)
	Session:save_state ("", false, false, false, false, false)
	say ("LM saved")
end

-- The bar lines as Ardour's tempo map places them (4/4: a bar every 4 quarters).
local bars = io.open (env ("LM_BARS_FILE"), "w")
local bar = 0
while true do
	local at = Temporal.timepos_t.from_ticks (Temporal.ticks_per_beat * 4 * bar):samples ()
	if at > export_samples then
		break
	end
	bars:write (string.format ("%d\n", at))
	bar = bar + 1
end
bars:close ()

local export = Session:simple_export ()
export:set_name ("export")
export:set_folder (env ("LM_EXPORT_DIR"))
export:set_range (0, export_samples)
assert (export:set_preset (env ("LM_PRESET_ID")), "no export preset")
assert (export:run_export (), "the export failed")
say ("LM exported")

close_session ()
quit ()
