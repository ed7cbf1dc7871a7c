import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { PitwallOptions, PitwallQuery } from './types';

// Grafana loads this module (dist/module.js) and the Go backend
// (gpx_pitwall_live) beside it; the two share the query and settings
// JSON of types.ts.
export const plugin = new DataSourcePlugin<DataSource, PitwallQuery, PitwallOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
