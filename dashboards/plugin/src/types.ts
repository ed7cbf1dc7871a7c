import { DataQuery, DataSourceJsonData } from '@grafana/data';

// The kinds of query (query.go): a car's channels from the frames topic,
// or the cars' laps in progress (live delta, lap, sector, ...) from the
// lap processor's telemetry.live, the numbers the pit wall page shows.
export type QueryKind = 'frames' | 'live';
export const KIND_FRAMES: QueryKind = 'frames';
export const KIND_LIVE: QueryKind = 'live';

// PitwallQuery is a panel target, exactly as the Go backend reads it
// (query.go, Query): the kind, the car (for live: empty is every car),
// its channels (frames) or fields (live), how far back QueryData reads,
// and whether Grafana then subscribes to the Live stream.
export interface PitwallQuery extends DataQuery {
  kind?: QueryKind;
  car?: string;
  channels?: string[];
  fields?: string[];
  windowSeconds?: number;
  stream?: boolean;
}

// The fields of a live query, in the backend's order (live.go,
// LiveFields); none chosen means all of them.
export const LIVE_FIELDS = [
  'delta_best_s',
  'delta_session_s',
  'lap',
  'lap_time_s',
  'sector',
  'distance_m',
  'speed',
  'throttle',
  'brake',
  'gear',
  'rpm',
  'in_pit',
  'x',
  'y',
];

export function isLive(q: Partial<PitwallQuery>): boolean {
  return q.kind === KIND_LIVE;
}

// PitwallOptions is the datasource's jsonData (datasource.go, Settings).
// An empty field means the backend's default.
export interface PitwallOptions extends DataSourceJsonData {
  brokers?: string;
  topic?: string;
  channelsTopic?: string;
  liveTopic?: string;
  // TLS and SASL to the brokers (package kafkasec): tlsCa, tlsCert and
  // tlsKey are files on the Grafana server.
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  saslMechanism?: string;
  saslUser?: string;
}

// PitwallSecureOptions is the secure JSON data: stored encrypted by
// Grafana, never sent back to the browser (datasource.go).
export interface PitwallSecureOptions {
  saslPassword?: string;
}

// The SASL mechanisms the backend speaks, by Kafka's names.
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

// The backend's defaults and limits (datasource.go, query.go).
export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const DEFAULT_TOPIC = 'telemetry';
export const DEFAULT_CHANNELS_TOPIC = 'telemetry.channels';
export const DEFAULT_LIVE_TOPIC = 'telemetry.live';
export const DEFAULT_WINDOW_SECONDS = 30;
export const MAX_WINDOW_SECONDS = 600;
export const MAX_CHANNELS = 64;

// A new panel target streams the last 30 s and then live.
export const DEFAULT_QUERY: Partial<PitwallQuery> = {
  channels: [],
  windowSeconds: DEFAULT_WINDOW_SECONDS,
  stream: true,
};

// Car ids and channel names as package telemetry accepts them (ValidCar,
// ValidName); a dashboard variable ($car) is checked after substitution.
const CAR = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME = /^[A-Za-z0-9_.]{1,64}$/;

export function hasVariable(s: string): boolean {
  return s.includes('$');
}

export function validCar(car: string): boolean {
  return hasVariable(car) || CAR.test(car);
}

export function validChannel(name: string): boolean {
  return hasVariable(name) || NAME.test(name);
}

export function validLiveField(name: string): boolean {
  return LIVE_FIELDS.includes(name);
}

// parseFields keeps the live fields in the backend's order, each once.
export function parseFields(names: string[]): string[] {
  return LIVE_FIELDS.filter((f) => names.includes(f));
}

// parseChannels splits what a user typed ("speed, rpm throttle") into
// channel names, in order, without blanks or repeats.
export function parseChannels(text: string): string[] {
  const out: string[] = [];
  for (const s of text.split(/[\s,]+/)) {
    if (s !== '' && !out.includes(s)) {
      out.push(s);
    }
  }
  return out;
}

// parseWindow reads the window in seconds: a whole number from 1 to
// MAX_WINDOW_SECONDS, clamped; anything else is the default.
export function parseWindow(text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) {
    return DEFAULT_WINDOW_SECONDS;
  }
  return Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.round(n)));
}
