package telemetry

// Names of the standard channels. The simulator emits them, the DBC it ships
// names its CAN signals after them, and processors look channels up by these
// names in a car's ChannelCatalog (ids differ from car to car). Units are in
// the comments; angles are degrees, temperatures degC, pressures bar.
const (
	ChanSpeed      = "speed"       // km/h, from the gearbox
	ChanRPM        = "rpm"         // 1/min
	ChanGear       = "gear"        // 0 = neutral
	ChanThrottle   = "throttle"    // %
	ChanBrakeFront = "brake_front" // bar, front brake line pressure
	ChanBrakeRear  = "brake_rear"  // bar
	ChanSteering   = "steering"    // deg at the wheel, positive = left
	ChanGLat       = "g_lat"       // g, positive = car turning left
	ChanGLong      = "g_long"      // g, positive = accelerating
	ChanGVert      = "g_vert"      // g, 1 at rest
	ChanFuel       = "fuel_level"  // l
	ChanOilTemp    = "oil_temp"    // degC
	ChanOilPress   = "oil_press"   // bar
	ChanWaterTemp  = "water_temp"  // degC
	ChanBattery    = "battery"     // V
	ChanGPSLat     = "gps_lat"     // deg WGS84
	ChanGPSLon     = "gps_lon"     // deg WGS84
	ChanGPSSpeed   = "gps_speed"   // km/h
	ChanGPSHeading = "gps_heading" // deg, 0 = north, clockwise
	ChanPitLimiter = "pit_limiter" // 1 while the pit speed limiter is on

	// ChanPosX and ChanPosZ are a position in a game's world, in metres
	// on its horizontal plane (the game's x and z; y is up): racing games
	// give no latitude and longitude, so their tracks are planar
	// (track.Timing.Planar) and lap detection reads these instead of
	// gps_lat and gps_lon.
	ChanPosX = "pos_x" // m
	ChanPosZ = "pos_z" // m
	// ChanDeviceLap is the source device's own lap marker (a logger's
	// beacon or GPS line, a game's lap counter, an imported log's lap
	// column): one sample, at the very time the device timed a
	// start/finish crossing, whose value is the device's number of the lap
	// that starts there. Every sample is a crossing; send none between
	// crossings. The lap processor pairs these with its own crossings and
	// puts the device's lap time on the Lap (Lap.DeviceNs), so its laps
	// can be compared with the device's.
	ChanDeviceLap = "device_lap"
)

// Wheels in the order of the per-wheel channel names: front left, front
// right, rear left, rear right. Per-wheel channels are named
// <base>_<wheel>, e.g. wheel_speed_fl, tyre_press_rr, brake_temp_fr, and
// tyre temperatures <base>_<wheel>_<inner|mid|outer>, e.g. tyre_temp_fl_mid.
var Wheels = [4]string{"fl", "fr", "rl", "rr"}

// Bases of the per-wheel channel names.
const (
	ChanWheelSpeed = "wheel_speed" // km/h
	ChanTyreTemp   = "tyre_temp"   // degC, with _inner, _mid, _outer
	ChanTyrePress  = "tyre_press"  // bar
	ChanBrakeTemp  = "brake_temp"  // degC, disc
	ChanDamper     = "damper"      // mm of suspension travel
)
