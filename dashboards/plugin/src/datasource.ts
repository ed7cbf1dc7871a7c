import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, isLive, parseChannels, PitwallOptions, PitwallQuery } from './types';

// DataSource sends panel targets to the Go backend (QueryData). A frame
// the backend answers with names a Grafana Live channel when the target
// asked to stream, and DataSourceWithBackend then subscribes to it, so
// live panels are pushed (RunStream), not polled.
export class DataSource extends DataSourceWithBackend<PitwallQuery, PitwallOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<PitwallOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_: CoreApp): Partial<PitwallQuery> {
    return DEFAULT_QUERY;
  }

  // applyTemplateVariables substitutes dashboard variables before the
  // target leaves the browser: $car, and channels, where a multi-value
  // variable ($channels = speed + rpm) becomes one channel per value.
  applyTemplateVariables(query: PitwallQuery, scopedVars: ScopedVars): PitwallQuery {
    const srv = getTemplateSrv();
    if (isLive(query)) {
      return { ...query, car: srv.replace(query.car ?? '', scopedVars).trim() };
    }
    const channels: string[] = [];
    for (const c of query.channels ?? []) {
      for (const name of parseChannels(srv.replace(c, scopedVars, 'csv'))) {
        if (!channels.includes(name)) {
          channels.push(name);
        }
      }
    }
    return { ...query, car: srv.replace(query.car ?? '', scopedVars).trim(), channels };
  }

  // filterQuery keeps a half-filled target in the editor from reaching
  // the backend, which would answer it with an error. A live target
  // needs nothing: no car is every car, no fields all of them.
  filterQuery(query: PitwallQuery): boolean {
    if (query.hide) {
      return false;
    }
    return isLive(query) || (!!query.car && (query.channels?.length ?? 0) > 0);
  }
}
