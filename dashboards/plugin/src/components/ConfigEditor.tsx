import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input } from '@grafana/ui';

import { DEFAULT_BROKERS, DEFAULT_CHANNELS_TOPIC, DEFAULT_TOPIC, PitwallOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<PitwallOptions>;

type Key = 'brokers' | 'topic' | 'channelsTopic';

const FIELDS: Array<{ key: Key; label: string; placeholder: string; tooltip: string }> = [
  {
    key: 'brokers',
    label: 'Brokers',
    placeholder: DEFAULT_BROKERS,
    tooltip: 'Kafka bootstrap addresses of the Pitwall broker (or any Kafka), comma-separated',
  },
  { key: 'topic', label: 'Frames topic', placeholder: DEFAULT_TOPIC, tooltip: 'The topic the edge produces frames to' },
  {
    key: 'channelsTopic',
    label: 'Catalog topic',
    placeholder: DEFAULT_CHANNELS_TOPIC,
    tooltip: "The compacted topic of each car's channel catalog",
  },
];

// ConfigEditor edits the datasource's jsonData; an empty field is the
// backend's default, shown as the placeholder.
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const set = (key: Key) => (e: ChangeEvent<HTMLInputElement>) => {
    // The backend splits brokers on ',' and dials each piece as it is, so
    // spaces, never part of host:port, are dropped.
    const value = key === 'brokers' ? e.currentTarget.value.replace(/\s+/g, '') : e.currentTarget.value;
    const jsonData = { ...options.jsonData };
    if (value.trim() === '') {
      delete jsonData[key];
    } else {
      jsonData[key] = value;
    }
    onOptionsChange({ ...options, jsonData });
  };
  return (
    <>
      {FIELDS.map((f) => (
        <InlineField key={f.key} label={f.label} labelWidth={16} tooltip={f.tooltip}>
          <Input
            id={`pitwall-${f.key}`}
            width={40}
            placeholder={f.placeholder}
            value={options.jsonData[f.key] ?? ''}
            onChange={set(f.key)}
          />
        </InlineField>
      ))}
    </>
  );
}
