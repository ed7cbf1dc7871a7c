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
