import { FieldType, StreamingDataFrame } from '@grafana/data';

import packets from '../testdata/live-all-packets.json';
import { LIVE_FIELDS } from './types';

// The every-car live stream as the Go backend sends it through Grafana
// Live (testdata/live-all-packets.json, held to the backend by
// TestLiveFramesGolden): a long frame whose first field, "labels", names
// the car of each row. Grafana's own StreamingDataFrame, which every
// panel's stream goes through, must make a series per car of it, with
// each car's numbers where they belong and nulls before a best lap.
describe('every-car live stream in Grafana Live', () => {
  it('becomes a time field and a set of fields per car', () => {
    const frame = StreamingDataFrame.fromDataFrameJSON(packets[0] as any, { maxLength: 100 });
    frame.push(packets[1] as any);
    const names = frame.fields.map((f) => f.name);
    expect(names[0]).toBe('time');
    expect(frame.fields[0].type).toBe(FieldType.time);
    const delta = frame.fields.filter((f) => f.name === 'delta_best_s');
    expect(delta.map((f) => f.labels)).toEqual([{ car: 'car01' }, { car: 'car02' }]);
    expect(frame.length).toBe(8); // eight distinct times: the cars' rows are 40 ms apart
    const at = (car: string, name: string) =>
      frame.fields.find((f) => f.name === name && f.labels?.car === car)!.values.filter((v: unknown) => v !== undefined && v !== null);
    expect(at('car01', 'delta_best_s')).toEqual([-0.25, -0.24, -0.23, -0.22]);
    expect(at('car02', 'delta_best_s')).toEqual([0.25, 0.375]); // no best lap before
    expect(at('car01', 'lap')).toEqual([3, 3, 3, 3]);
    expect(at('car02', 'distance_m')).toEqual([300, 304, 308, 312]);
    expect(at('car01', 'in_pit')).toEqual([false, false, false, true]);
  });

  it('carries only fields the frontend knows', () => {
    const schema = (packets[0] as any).schema.fields.map((f: { name: string }) => f.name);
    expect(schema.slice(0, 2)).toEqual(['labels', 'time']);
    for (const name of schema.slice(2)) {
      expect(LIVE_FIELDS).toContain(name);
    }
  });
});
