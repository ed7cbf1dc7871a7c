import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, InlineSwitch, Input, SecretInput } from '@grafana/ui';

import {
  DEFAULT_BROKERS,
  DEFAULT_CHANNELS_TOPIC,
  DEFAULT_LIVE_TOPIC,
  DEFAULT_TOPIC,
  PitwallOptions,
  PitwallSecureOptions,
  SASL_MECHANISMS,
} from '../types';

type Props = DataSourcePluginOptionsEditorProps<PitwallOptions, PitwallSecureOptions>;

type Key = 'brokers' | 'topic' | 'channelsTopic' | 'liveTopic' | 'tlsCa' | 'tlsCert' | 'tlsKey' | 'saslMechanism' | 'saslUser';

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
  {
    key: 'liveTopic',
    label: 'Live topic',
    placeholder: DEFAULT_LIVE_TOPIC,
    tooltip: "The lap processor's live records: each car's lap in progress, live delta",
  },
  {
    key: 'tlsCa',
    label: 'TLS CA file',
    placeholder: "system's CAs",
    tooltip: "PEM file on the Grafana server of the CAs the brokers' certificates chain to (turns TLS on)",
  },
  {
    key: 'tlsCert',
    label: 'TLS client cert',
    placeholder: 'none',
    tooltip: 'PEM file on the Grafana server: client certificate for mutual TLS',
  },
  { key: 'tlsKey', label: 'TLS client key', placeholder: 'none', tooltip: 'PEM file on the Grafana server: its key' },
  {
    key: 'saslMechanism',
    label: 'SASL mechanism',
    placeholder: 'none',
    tooltip: `SASL mechanism: ${SASL_MECHANISMS.join(', ')} (empty: no SASL)`,
  },
  { key: 'saslUser', label: 'SASL user', placeholder: 'none', tooltip: 'SASL user name' },
];

// ConfigEditor edits the datasource's jsonData; an empty field is the
// backend's default, shown as the placeholder. The SASL password goes to
// the secure JSON data: once saved the browser never sees it again, only
// that it is set.
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const set = (key: Key) => (e: ChangeEvent<HTMLInputElement>) => {
    // The backend splits brokers on ',' and dials each piece as it is, so
    // spaces, never part of host:port, are dropped; mechanisms are Kafka's
    // upper-case names.
    let value = e.currentTarget.value;
    if (key === 'brokers') {
      value = value.replace(/\s+/g, '');
    } else if (key === 'saslMechanism') {
      value = value.trim().toUpperCase();
    }
    const jsonData = { ...options.jsonData };
    if (value.trim() === '') {
      delete jsonData[key];
    } else {
      jsonData[key] = value;
    }
    onOptionsChange({ ...options, jsonData });
  };
  const setTLS = (e: React.FormEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, jsonData: { ...options.jsonData, tls: e.currentTarget.checked } });
  };
  const setPassword = (e: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, saslPassword: e.currentTarget.value } });
  };
  const resetPassword = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...options.secureJsonFields, saslPassword: false },
      secureJsonData: { ...options.secureJsonData, saslPassword: '' },
    });
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
      <InlineField label="TLS" labelWidth={16} tooltip="TLS to the brokers (implied by a CA or client certificate file)">
        <InlineSwitch id="pitwall-tls" value={options.jsonData.tls ?? false} onChange={setTLS} />
      </InlineField>
      <InlineField label="SASL password" labelWidth={16} tooltip="Stored encrypted; never shown again once saved">
        <SecretInput
          id="pitwall-saslPassword"
          width={40}
          placeholder="SASL password"
          isConfigured={options.secureJsonFields?.saslPassword ?? false}
          value={options.secureJsonData?.saslPassword ?? ''}
          onChange={setPassword}
          onReset={resetPassword}
        />
      </InlineField>
    </>
  );
}
