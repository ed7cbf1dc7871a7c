import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { setTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { PitwallOptions, PitwallQuery } from './types';

const settings = {
  id: 1,
  uid: 'pitwall-live',
  type: 'pitwall-live-datasource',
  name: 'Pitwall Live',
  access: 'proxy',
  jsonData: { brokers: 'broker:9092' },
  meta: {},
  readOnly: false,
} as unknown as DataSourceInstanceSettings<PitwallOptions>;

// A template service with $car = car07 and the multi-value $channels =
// speed + rpm, formatted as Grafana does for the 'csv' format.
const vars: Record<string, string[]> = { car: ['car07'], channels: ['speed', 'rpm'], one: ['throttle'] };
const templateSrv = {
  replace: (target = '', _scoped?: ScopedVars, format?: string) =>
    target.replace(/\$\{?(\w+)\}?/g, (m, name: string) => (vars[name] ? vars[name].join(format === 'csv' ? ',' : ' ') : m)),
  getVariables: () => [],
  containsTemplate: (t?: string) => !!t && t.includes('$'),
  updateTimeRange: () => {},
} as unknown as TemplateSrv;

describe('DataSource', () => {
  beforeAll(() => setTemplateSrv(templateSrv));
  const ds = new DataSource(settings);

  it('starts a new target streaming the last 30 s', () => {
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({ channels: [], windowSeconds: 30, stream: true });
  });

  it('substitutes $car and expands a multi-value channel variable', () => {
    const q: PitwallQuery = { refId: 'A', car: '$car', channels: ['$channels', 'throttle', 'rpm', '${one}'], windowSeconds: 10, stream: true };
    expect(ds.applyTemplateVariables(q, {})).toEqual({
      refId: 'A',
      car: 'car07',
      channels: ['speed', 'rpm', 'throttle'],
      windowSeconds: 10,
      stream: true,
    });
  });

  it('leaves a literal target as it is, with the JSON the backend reads', () => {
    const q: PitwallQuery = { refId: 'B', car: 'car01', channels: ['speed'], windowSeconds: 30, stream: false };
    const out = ds.applyTemplateVariables(q, {});
    expect(out).toEqual(q);
    expect(Object.keys(out).sort()).toEqual(['car', 'channels', 'refId', 'stream', 'windowSeconds']);
  });

  it('sends only targets with a car and channels', () => {
    expect(ds.filterQuery({ refId: 'A', car: 'car01', channels: ['speed'] })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', car: '$car', channels: ['$channels'] })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', car: '', channels: ['speed'] })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', car: 'car01', channels: [] })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', car: 'car01' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', car: 'car01', channels: ['speed'], hide: true })).toBe(false);
  });

  it('sends a live target as it is, its car substituted; no car is every car', () => {
    const q: PitwallQuery = { refId: 'C', kind: 'live', car: '$car', fields: ['delta_best_s', 'lap'], windowSeconds: 60, stream: true };
    expect(ds.applyTemplateVariables(q, {})).toEqual({ ...q, car: 'car07' });
    expect(ds.filterQuery({ refId: 'C', kind: 'live' })).toBe(true);
    expect(ds.filterQuery({ refId: 'C', kind: 'live', hide: true })).toBe(false);
  });
});
